"""`embedtune evaluate` against sentence-transformers' SequentialEvaluator of one
InformationRetrievalEvaluator per Matryoshka dim (the reference notebook's evaluation), end to
end with all-MiniLM-L6-v2 on a dataset built from the installed python3.11-doc sources."""
import json
import pathlib
import subprocess
import sys

import pytest
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator, SequentialEvaluator

ROOT = pathlib.Path(__file__).resolve().parents[2]
DIMS = [384, 256, 128, 64, 32]


@pytest.fixture(scope="module")
def splits(tmp_path_factory, run):
    folder = tmp_path_factory.mktemp("docs")
    subprocess.run([sys.executable, str(ROOT / "tools" / "build_docs_dataset.py"), "--output",
                    str(folder / "docs.jsonl"), "--max-rows", "400"], check=True, capture_output=True)
    run("prepare", "--input", folder / "docs.jsonl", "--output", folder / "splits", "--test-size", "0.1", "--seed", "42")
    return folder / "splits"


def reference_results(model_dir, splits, dims, score_functions=("cosine",)):
    """The reference notebook's evaluation: a SequentialEvaluator of one InformationRetrievalEvaluator
    per dim. Each of those would encode the same texts again with the same calls, and truncation
    only slices what encode returns, so ST encodes once here, exactly as the evaluator would
    (encode_query / encode_document on its own lists, its batch size, as tensors), and the
    evaluators read those vectors through a model whose only module looks them up: every score,
    truncation and metric is still ST's own code, on ST's own embeddings."""
    import numpy as np
    from oracle_evaluation import LookupEmbedding

    train = [json.loads(line) for line in (splits / "train.jsonl").read_text().splitlines()]
    test = [json.loads(line) for line in (splits / "test.jsonl").read_text().splitlines()]
    corpus = {str(r["id"]): r["positive"] for r in train + test}
    queries = {str(r["id"]): r["anchor"] for r in test}
    relevant = {qid: {qid} for qid in queries}
    from sentence_transformers.util import cos_sim, dot_score

    functions = {"cosine": cos_sim, "dot": dot_score}

    def evaluators(queries, corpus):
        return [InformationRetrievalEvaluator(queries=queries, corpus=corpus, relevant_docs=relevant, name=f"dim_{d}",
                                              truncate_dim=d, score_functions={s: functions[s] for s in score_functions})
                for d in dims]

    first = evaluators(queries, corpus)[0]
    model = SentenceTransformer(str(model_dir), device="cpu")
    q = model.encode_query(first.queries, batch_size=first.batch_size, convert_to_tensor=True)
    c = model.encode_document(first.corpus, batch_size=first.batch_size, convert_to_tensor=True)
    q_texts = [f"query:{i}" for i in first.queries_ids]
    c_texts = [f"doc:{i}" for i in first.corpus_ids]
    lookup = SentenceTransformer(modules=[LookupEmbedding(q_texts + c_texts, np.concatenate([q.numpy(), c.numpy()]))],
                                 device="cpu")
    return SequentialEvaluator(evaluators(dict(zip(first.queries_ids, q_texts)),
                                          dict(zip(first.corpus_ids, c_texts))))(lookup)


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory, run, default_model, splits):
    """`embedtune evaluate` of the default model at every dim, its embeddings saved for reuse:
    (its stdout, its output folder, the saved embeddings' folder)."""
    folder = tmp_path_factory.mktemp("evaluated")
    result = run("evaluate", "--model", default_model, "--train", splits / "train.jsonl", "--test", splits / "test.jsonl",
                 "--dims", ",".join(map(str, DIMS)), "--output", folder / "results.json",
                 "--save-embeddings", folder / "emb")
    return result.stdout, folder, folder / "emb"


def test_every_metric_matches_at_every_dim(default_model, splits, evaluated):
    stdout, folder, _ = evaluated
    ours = json.loads((folder / "results.json").read_text())
    expected = reference_results(default_model, splits, DIMS)
    compared, worst = 0, 0.0
    for key, value in expected.items():
        if key == "sequential_score":
            continue
        assert key in ours, key
        worst = max(worst, abs(ours[key] - value))
        compared += 1
    print(f"evaluate: {compared} metrics compared over {len(DIMS)} dims, max |diff| = {worst:.3e}")
    assert compared == len(DIMS) * 15 and worst <= 1e-4  # 4 accuracy, 4 precision, 4 recall, ndcg, mrr, map
    assert list(k for k in ours if k.startswith("dim_384")) == [k for k in expected if k.startswith("dim_384")]
    # The table on stdout has one row per dim; the CSV files sit beside the results.
    table_rows = [line.split()[0] for line in stdout.splitlines()[1:] if line.strip()]
    for d in DIMS:
        assert str(d) in table_rows, stdout
        assert (folder / f"Information-Retrieval_evaluation_dim_{d}_results.csv").exists()


def test_saved_embeddings_give_the_same_results(run, tmp_path, testdata, splits):
    args = ["evaluate", "--model", testdata / "models" / "mean", "--train", splits / "train.jsonl", "--test", splits / "test.jsonl",
            "--dims", "64,16", "--score-functions", "cosine,dot"]
    run(*args, "--output", tmp_path / "a.json", "--save-embeddings", tmp_path / "emb")
    run(*args, "--output", tmp_path / "b.json", "--load-embeddings", tmp_path / "emb")
    assert json.loads((tmp_path / "a.json").read_text()) == json.loads((tmp_path / "b.json").read_text())
    assert "dim_16_dot_ndcg@10" in json.loads((tmp_path / "a.json").read_text())


def test_beir_layout_gives_the_same_results(run, tmp_path, testdata, splits):
    train = [json.loads(line) for line in (splits / "train.jsonl").read_text().splitlines()]
    test = [json.loads(line) for line in (splits / "test.jsonl").read_text().splitlines()]
    beir = tmp_path / "beir"
    beir.mkdir()
    with open(beir / "corpus.jsonl", "w") as f:
        for r in train + test:
            f.write(json.dumps({"_id": str(r["id"]), "title": "", "text": r["positive"]}) + "\n")
    with open(beir / "queries.jsonl", "w") as f:
        for r in test:
            f.write(json.dumps({"_id": str(r["id"]), "text": r["anchor"]}) + "\n")
    with open(beir / "qrels.tsv", "w") as f:
        f.write("query-id\tcorpus-id\tscore\n")
        for r in test:
            f.write(f"{r['id']}\t{r['id']}\t2\n")  # graded relevance counts as relevant
    common = ["--model", testdata / "models" / "cls", "--dims", "64,32"]
    run("evaluate", *common, "--train", splits / "train.jsonl", "--test", splits / "test.jsonl", "--output", tmp_path / "ref.json")
    run("evaluate", *common, "--corpus", beir / "corpus.jsonl", "--queries", beir / "queries.jsonl", "--qrels",
        beir / "qrels.tsv", "--output", tmp_path / "beir.json")
    ref, got = json.loads((tmp_path / "ref.json").read_text()), json.loads((tmp_path / "beir.json").read_text())
    assert ref.keys() == got.keys()
    assert max(abs(ref[k] - got[k]) for k in ref) <= 1e-6


def test_compare_prints_the_reference_table(run, tmp_path, testdata, splits):
    common = ["--train", splits / "train.jsonl", "--test", splits / "test.jsonl", "--dims", "64,32"]
    run("evaluate", "--model", testdata / "models" / "mean", *common, "--output", tmp_path / "base.json")
    run("evaluate", "--model", testdata / "models" / "cls", *common, "--output", tmp_path / "ft.json")
    result = run("compare", tmp_path / "base.json", tmp_path / "ft.json")
    base, ft = json.loads((tmp_path / "base.json").read_text()), json.loads((tmp_path / "ft.json").read_text())
    for d in (64, 32):
        b, f = base[f"dim_{d}_cosine_ndcg@10"], ft[f"dim_{d}_cosine_ndcg@10"]
        assert f"{b:.4f}" in result.stdout and f"{f:.4f}" in result.stdout


def test_dims_larger_than_the_model_fail_before_encoding(run, tmp_path, default_model, splits):
    result = run("evaluate", "--model", default_model, "--train", splits / "train.jsonl", "--test", splits / "test.jsonl",
                 "--dims", "512,384", check=False)
    assert result.returncode != 0
    assert "512" in result.stderr and "1..384" in result.stderr


def test_quantized_precisions_are_st_evaluator_on_the_same_vectors(run, tmp_path, default_model, splits, evaluated):
    """`evaluate --precisions`: every int8, binary and +rescore metric equals ST's
    InformationRetrievalEvaluator (and its rescoring, as oracle_quantization.py runs it) on the
    float32 embeddings embedtune encoded with the default model (saved by the `evaluated` run;
    loading them gives the same results as encoding, test_saved_embeddings_give_the_same_results)."""
    import numpy as np
    from oracle_evaluation import LookupEmbedding
    from oracle_quantization import binary_score, int8_scores, rescore_results
    from sentence_transformers.util import cos_sim

    dims = [384, 64]
    out = tmp_path / "results.json"
    emb = evaluated[2]
    run("evaluate", "--model", default_model, "--train", splits / "train.jsonl", "--test", splits / "test.jsonl",
        "--dims", ",".join(map(str, dims)), "--precisions", "float32,int8,binary,int8+rescore,binary+rescore",
        "--rescore-multiplier", "4", "--output", out, "--load-embeddings", emb)
    ours = json.loads(out.read_text())
    ids = json.loads((emb / "ids.json").read_text())
    queries, corpus = np.load(emb / "queries.npy"), np.load(emb / "corpus.npy")
    query_ids, corpus_ids = ids["query_ids"], ids["corpus_ids"]
    relevant = {q: {q} for q in query_ids}
    q_texts, c_texts = [f"query:{q}" for q in query_ids], [f"doc:{c}" for c in corpus_ids]
    model = SentenceTransformer(modules=[LookupEmbedding(q_texts + c_texts, np.concatenate([queries, corpus]))],
                                device="cpu")
    functions = {"cosine": cos_sim, "int8": int8_scores({d: corpus[:, :d].copy() for d in dims}),
                 "binary": binary_score}
    expected = {}
    for d in dims:
        ev = InformationRetrievalEvaluator(queries=dict(zip(query_ids, q_texts)), corpus=dict(zip(corpus_ids, c_texts)),
                                           relevant_docs=relevant, name=f"dim_{d}", truncate_dim=d,
                                           score_functions=functions, main_score_function="cosine", write_csv=False)
        expected.update(ev(model))
        kept = [query_ids.index(q) for q in ev.queries_ids]
        for p in ("int8", "binary"):
            scores = ev.compute_metrics(rescore_results(kept, queries, corpus, corpus_ids, d, p, functions))
            expected.update({f"dim_{d}_{p}+rescore_{m.replace('@k', '@' + str(k))}": v
                             for m, values in scores.items() for k, v in values.items()})
    differ = [k for k, v in expected.items() if ours[k] != float(v)]
    print(f"evaluate --precisions: {len(expected)} metrics compared with ST on the same vectors, {len(differ)} differ")
    assert len(expected) == len(dims) * 5 * 15 and not differ, differ[:5]
    assert [k for k in ours if k.startswith("dim_64_") and k.endswith("ndcg@10")] == [
        "dim_64_cosine_ndcg@10", "dim_64_int8_ndcg@10", "dim_64_binary_ndcg@10", "dim_64_int8+rescore_ndcg@10",
        "dim_64_binary+rescore_ndcg@10"]
    # The quantized precisions sit in the CSV beside cosine, as extra score functions would in ST's.
    header = (tmp_path / "Information-Retrieval_evaluation_dim_64_results.csv").read_text().splitlines()[0]
    assert "binary+rescore-NDCG@10" in header and "int8-NDCG@10" in header and "cosine-NDCG@10" in header
