"""Expected quantized embeddings and retrieval metrics from sentence-transformers 6.2's own code.

Usage: python oracle_quantization.py OUTDIR

On the evaluation oracle's data (oracle_evaluation.make_data: duplicates, a 120-way tie, a zero
query, dropped queries), written again here as queries.npy, corpus.npy and ids.json:

  vectors/: quantize_embeddings(x, precision) for the corpus and the queries at dims 384 and 32
      (int8: ranges calibrated on that dim's corpus, the queries quantized with
      calibration_embeddings=corpus), and for a small "edge" case (21 dims, so the packed bits are
      padded; a constant corpus column, i.e. a zero range; queries far outside the corpus ranges;
      exact zeros). int8 arrays are stored viewed as uint8 (same bytes).
  results.json: per dim (384, 256, 128, 64, 32) one InformationRetrievalEvaluator (truncate_dim d,
      main_score_function cosine) whose score functions are cosine, dot, "int8" (inner product of
      ST's int8 vectors) and "binary" (inner product of the ±1 vectors of ST's ubinary bits,
      = dims - 2 x Hamming distance), so ST's own chunked top-k and tie rules rank them; plus
      "int8+rescore" and "binary+rescore" (multiplier 4): the 4 x 100 best by the quantized score in
      ST's (-score, corpus_id) order, rescored as semantic_search_faiss / semantic_search_usearch
      rescore (ST's _dequantize_embeddings for int8, np.unpackbits for binary, then
      einsum("ij,ikj->ik") in float64), their metrics from the evaluator's own compute_metrics.
  results_chunk37.json: the int8 and binary metrics at dims 384 and 32 with corpus_chunk_size 37.
"""
import json
import pathlib
import sys

import numpy as np
import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator
from sentence_transformers.util.quantization import _dequantize_embeddings, quantize_embeddings
from sentence_transformers.util.similarity import cos_sim, dot_score

from oracle_evaluation import LookupEmbedding, make_data

DIMS = [384, 256, 128, 64, 32]
RESCORE_MULTIPLIER = 4


def save_vectors(folder, name, corpus, queries):
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / f"{name}_corpus.npy", corpus)
    np.save(folder / f"{name}_queries.npy", queries)
    out = {
        "corpus_int8": quantize_embeddings(corpus, "int8"),
        "queries_int8": quantize_embeddings(queries, "int8", calibration_embeddings=corpus),
        "corpus_binary": quantize_embeddings(corpus, "binary"),
        "queries_binary": quantize_embeddings(queries, "binary"),
        "corpus_ubinary": quantize_embeddings(corpus, "ubinary"),
        "queries_ubinary": quantize_embeddings(queries, "ubinary"),
    }
    for key, value in out.items():
        assert value.dtype in (np.int8, np.uint8), (key, value.dtype)
        np.save(folder / f"{name}_{key}.npy", value.view(np.uint8))


def edge_case(rng):
    corpus = rng.standard_normal((50, 21)).astype(np.float32)
    corpus[:, 3] = 0.25  # zero range: step 1
    corpus[5, :] = 0.0  # exact zeros are not > 0
    queries = (rng.standard_normal((12, 21)) * 4).astype(np.float32)  # far outside the ranges
    queries[0, :] = 0.0
    queries[1, :] = -0.0
    queries[2, 3] = 0.25
    queries[3, 3] = 1e9
    return corpus, queries


def int8_scores(ranges_source):
    def score(a, b):
        calibration = ranges_source[a.shape[1]]
        qa = quantize_embeddings(a.cpu().numpy(), "int8", calibration_embeddings=calibration)
        qb = quantize_embeddings(b.cpu().numpy(), "int8", calibration_embeddings=calibration)
        # Integer products summed in float32: exact below 2^24 (here |score| <= 384 * 128^2).
        return torch.from_numpy(qa.astype(np.float32)) @ torch.from_numpy(qb.astype(np.float32)).T

    return score


def signs(x):
    bits = np.unpackbits(quantize_embeddings(x, "ubinary"), axis=-1)[:, : x.shape[1]]
    return (2.0 * bits - 1.0).astype(np.float32)


def binary_score(a, b):
    return torch.from_numpy(signs(a.cpu().numpy())) @ torch.from_numpy(signs(b.cpu().numpy())).T


def evaluator(query_ids, q_texts, corpus_ids, c_texts, relevant, d, chunk, functions):
    return InformationRetrievalEvaluator(
        queries=dict(zip(query_ids, q_texts)),
        corpus=dict(zip(corpus_ids, c_texts)),
        relevant_docs=relevant,
        corpus_chunk_size=chunk,
        name=f"dim_{d}",
        truncate_dim=d,
        score_functions=functions,
        main_score_function="cosine",
        write_csv=False,
    )


def rescore_results(kept_rows, queries, corpus, corpus_ids, d, precision, functions):
    """semantic_search_faiss's rescoring of the rescore_multiplier * max_k best, as result lists for
    the evaluator's compute_metrics (which ranks them by (-score, corpus_id))."""
    q = queries[kept_rows, :d]
    c = corpus[:, :d]
    scores = functions[precision](torch.from_numpy(q), torch.from_numpy(c)).numpy()
    id_rank = np.empty(len(corpus_ids), dtype=np.int64)
    id_rank[np.array(sorted(range(len(corpus_ids)), key=corpus_ids.__getitem__))] = np.arange(len(corpus_ids))
    k = 100 * RESCORE_MULTIPLIER
    indices = np.stack([np.lexsort((id_rank, -row))[:k] for row in scores])  # (Q, k)
    if precision == "int8":
        ranges = np.vstack((c.min(axis=0), c.max(axis=0)))
        codes = quantize_embeddings(c, "int8", ranges=ranges)
        top = _dequantize_embeddings(codes[indices].astype(int), "int8", ranges)
    else:
        packed = quantize_embeddings(c, "ubinary")
        top = np.unpackbits(packed[indices], axis=-1)[..., :d].astype(int)
    rescored = np.einsum("ij,ikj->ik", q, top).astype(np.float64, copy=False)
    return [
        [{"corpus_id": corpus_ids[i], "score": float(s)} for i, s in zip(row_idx, row_scores)]
        for row_idx, row_scores in zip(indices, rescored)
    ]


def main():
    out = pathlib.Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(2)
    rng = np.random.default_rng(20240611)
    query_ids, queries, corpus_ids, corpus, relevant = make_data(rng)
    np.save(out / "queries.npy", queries)
    np.save(out / "corpus.npy", corpus)
    (out / "ids.json").write_text(json.dumps({
        "query_ids": query_ids,
        "corpus_ids": corpus_ids,
        "relevant_docs": {q: sorted(r) for q, r in relevant.items()},
        "dims": DIMS,
        "rescore_multiplier": RESCORE_MULTIPLIER,
    }))
    for d in (384, 32):
        save_vectors(out / "vectors", f"dim{d}", corpus[:, :d].copy(), queries[:, :d].copy())
    edge_corpus, edge_queries = edge_case(np.random.default_rng(7))
    save_vectors(out / "vectors", "edge", edge_corpus, edge_queries)

    q_texts = [f"query:{q}" for q in query_ids]
    c_texts = [f"doc:{c}" for c in corpus_ids]
    table = np.concatenate([queries, corpus]).astype(np.float32)
    model = SentenceTransformer(modules=[LookupEmbedding(q_texts + c_texts, table)], device="cpu")
    calibration = {d: corpus[:, :d].copy() for d in DIMS}
    functions = {"cosine": cos_sim, "dot": dot_score, "int8": int8_scores(calibration), "binary": binary_score}

    def run(dims, chunk, rescore):
        results = {}
        for d in dims:
            ev = evaluator(query_ids, q_texts, corpus_ids, c_texts, relevant, d, chunk, functions)
            results.update(ev(model))
            if not rescore:
                continue
            kept_rows = [query_ids.index(q) for q in ev.queries_ids]  # the queries ST kept, in order
            for p in ("int8", "binary"):
                scores = ev.compute_metrics(rescore_results(kept_rows, queries, corpus, corpus_ids, d, p, functions))
                results.update({
                    f"dim_{d}_{p}+rescore_{metric.replace('@k', '@' + str(k))}": value
                    for metric, values in scores.items()
                    for k, value in values.items()
                })
        return {k: float(v) for k, v in results.items()}

    results = run(DIMS, 50000, rescore=True)
    (out / "results.json").write_text(json.dumps({"results": results}, indent=1))
    results37 = run([384, 32], 37, rescore=False)
    (out / "results_chunk37.json").write_text(json.dumps({"results": results37}, indent=1))
    print(f"oracle_quantization: {len(results)} metrics, e.g. dim_32_binary_ndcg@10 = "
          f"{results['dim_32_binary_ndcg@10']:.6f}, dim_32_binary+rescore_ndcg@10 = "
          f"{results['dim_32_binary+rescore_ndcg@10']:.6f}")


if __name__ == "__main__":
    main()
