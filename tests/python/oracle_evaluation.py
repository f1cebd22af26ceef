"""Expected retrieval metrics from sentence-transformers' own InformationRetrievalEvaluator.

Usage: python oracle_evaluation.py OUTDIR

Writes seeded random embeddings (with exact duplicate corpus vectors, a large tie group, a zero
query, queries with several relevant documents, a relevant id missing from the corpus and two
queries that must be dropped) as .npy, their ids and qrels as ids.json, and the metrics that
sentence-transformers 6.2 computes with a SequentialEvaluator of InformationRetrievalEvaluators
(truncate_dim 384, 256, 128, 64, 32; cosine and dot) as results.json, plus ST's CSV files under
OUTDIR/st_csv, and ST's ranked hits (its write_predictions files: corpus ids with their
float32 scores) for dims 384 and 32 at the default corpus chunk and at corpus_chunk_size 37,
under OUTDIR/predictions_chunk{50000,37}. The embeddings reach the evaluator through a real
SentenceTransformer whose only module looks each text up in the stored table, so encode(),
truncation and scoring all run ST's own code; nothing here slices or scores by hand.
"""
import json
import pathlib
import shutil
import sys

import numpy as np
import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.base.modules.input_module import InputModule
from sentence_transformers.sentence_transformer.evaluation import (
    InformationRetrievalEvaluator,
    SequentialEvaluator,
)
from sentence_transformers.util.similarity import cos_sim, dot_score

DIM = 384
DIMS = [384, 256, 128, 64, 32]
N_CORPUS = 2000
N_QUERIES = 300


class LookupEmbedding(InputModule):
    """Input module whose 'sentence_embedding' for a text is a stored row (text -> row index)."""

    def __init__(self, texts, table):
        super().__init__()
        self.row = {text: i for i, text in enumerate(texts)}
        self.register_buffer("table", torch.from_numpy(table))

    def preprocess(self, inputs, prompt=None, **kwargs):
        return {"rows": torch.tensor([self.row[text] for text in inputs], dtype=torch.long)}

    def forward(self, features, **kwargs):
        features["sentence_embedding"] = self.table[features["rows"]]
        return features

    def save(self, output_path, *args, **kwargs):
        raise NotImplementedError


def make_data(rng):
    # Ids whose string order differs from their position (no zero padding, shuffled).
    corpus_ids = [f"d{n}" for n in rng.permutation(N_CORPUS)]
    # Un-normalised rows with varied norms, so "dot" and "cosine" rank differently.
    corpus = rng.standard_normal((N_CORPUS, DIM)) * rng.uniform(0.5, 2.0, size=(N_CORPUS, 1))
    # Exact duplicates: 150 rows copied elsewhere (some several times) ...
    for _ in range(150):
        src, dst = rng.integers(0, N_CORPUS, size=2)
        corpus[dst] = corpus[src]
    # ... and one hub of 120 identical vectors: ties that straddle the top-k cut of 100.
    hub_rows = rng.choice(N_CORPUS, size=120, replace=False)
    corpus[hub_rows] = corpus[hub_rows[0]]
    corpus = corpus.astype(np.float32)

    query_ids, queries, relevant = [], [], {}
    for i in range(N_QUERIES):
        qid = f"q{i}"
        kind = i % 10
        if kind == 0:
            # Aimed at the hub: one relevant hub copy (tie order by corpus id decides its rank).
            rel_rows = [int(hub_rows[rng.integers(0, 120)])]
            vec = corpus[rel_rows[0]] + 0.05 * rng.standard_normal(DIM)
        elif kind == 1:
            # Exactly equal to a corpus row (score ties with that row's duplicates at the top).
            rel_rows = [int(rng.integers(0, N_CORPUS))]
            vec = corpus[rel_rows[0]].astype(np.float64)
        else:
            n_rel = int(rng.integers(1, 5))
            rel_rows = [int(r) for r in rng.choice(N_CORPUS, size=n_rel, replace=False)]
            vec = corpus[rel_rows].sum(axis=0) / n_rel + rng.uniform(0.3, 1.5) * rng.standard_normal(DIM)
        query_ids.append(qid)
        queries.append(vec)
        rel = {corpus_ids[r] for r in rel_rows}
        if i % 37 == 5:
            rel.add("missing-doc")  # counts in |relevant| (recall, NDCG, MAP) but is never retrieved
        relevant[qid] = rel
    # A zero query: every score is 0, the ranking is the corpus id order alone.
    queries[7] = np.zeros(DIM)
    # Two queries that ST drops: one absent from relevant_docs, one with an empty set.
    query_ids += ["q-norel", "q-empty"]
    queries += [rng.standard_normal(DIM), rng.standard_normal(DIM)]
    relevant["q-empty"] = set()
    return query_ids, np.asarray(queries, dtype=np.float32), corpus_ids, corpus, relevant


def run_st(query_ids, queries, corpus_ids, corpus, relevant, dims, chunk, csv_dir, predictions=False):
    q_texts = [f"query:{q}" for q in query_ids]
    c_texts = [f"doc:{c}" for c in corpus_ids]
    table = np.concatenate([queries, corpus]).astype(np.float32)
    model = SentenceTransformer(modules=[LookupEmbedding(q_texts + c_texts, table)], device="cpu")
    evaluators = [
        InformationRetrievalEvaluator(
            queries=dict(zip(query_ids, q_texts)),
            corpus=dict(zip(corpus_ids, c_texts)),
            relevant_docs=relevant,
            corpus_chunk_size=chunk,
            name=f"dim_{d}",
            truncate_dim=d,
            score_functions={"cosine": cos_sim, "dot": dot_score},
            write_predictions=predictions,
        )
        for d in dims
    ]
    results = SequentialEvaluator(evaluators)(model, output_path=csv_dir)
    primary = {e.name: e.primary_metric for e in evaluators}
    return results, primary


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
    }))
    csv_dir = out / "st_csv"
    shutil.rmtree(csv_dir, ignore_errors=True)
    results, primary = run_st(query_ids, queries, corpus_ids, corpus, relevant, DIMS, 50000, str(csv_dir))
    (out / "results.json").write_text(json.dumps({"results": results, "primary_metric": primary}, indent=1))
    # ST with small corpus chunks: its tie re-selection must give the same metrics (and so must we).
    results37, _ = run_st(query_ids, queries, corpus_ids, corpus, relevant, [384, 32], 37, None)
    (out / "results_chunk37.json").write_text(json.dumps({"results": results37}, indent=1))
    # ST's ranked hits with their scores, for comparing rankings (not only metrics) with ours.
    for chunk in (50000, 37):
        folder = out / f"predictions_chunk{chunk}"
        shutil.rmtree(folder, ignore_errors=True)
        run_st(query_ids, queries, corpus_ids, corpus, relevant, [384, 32], chunk, str(folder), predictions=True)
    print(f"oracle_evaluation: {len(results)} metrics, e.g. dim_128_cosine_ndcg@10 = "
          f"{results['dim_128_cosine_ndcg@10']:.6f}, dim_32_dot_ndcg@10 = {results['dim_32_dot_ndcg@10']:.6f}")


if __name__ == "__main__":
    main()
