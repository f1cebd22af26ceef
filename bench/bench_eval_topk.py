"""Retrieval evaluation speed and memory: embedtune's evaluate_retrieval vs sentence-transformers'
InformationRetrievalEvaluator, on the same stored random embeddings (10k, 100k, 1M corpus).
Both sides run twice in their process and report the first (cold) and second (warm) run, with the
same thread count (benchlib.env()); ratios compare cold with cold and warm with warm.

Usage: bench_eval_topk.py --bench BUILD/bench/embedtune_eval_topk_bench [--sizes 10000,100000,1000000]
                          [--queries 100] [--dim 384] [--skip-st]
Each measurement runs in its own process, so peak RSS is that run's own. ST gets the corpus
embeddings precomputed (compute_metrices(corpus_embeddings=...)), so both time only the
scoring, top-k and metrics. Prints one JSON object per size.
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import textwrap

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import benchlib  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--bench", required=True, help="path of embedtune_eval_topk_bench")
parser.add_argument("--sizes", default="10000,100000,1000000")
parser.add_argument("--queries", type=int, default=100)
parser.add_argument("--dim", type=int, default=384)
parser.add_argument("--skip-st", action="store_true")
args = parser.parse_args()

ST_SCRIPT = textwrap.dedent("""
    import json, resource, sys, time
    import numpy as np, torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.base.modules.input_module import InputModule
    from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator
    from sentence_transformers.util.similarity import cos_sim

    class Lookup(InputModule):
        def __init__(self, table):
            super().__init__()
            self.register_buffer("table", table)
        def preprocess(self, inputs, prompt=None, **kwargs):
            return {"rows": torch.tensor([int(t[1:]) for t in inputs])}
        def forward(self, features, **kwargs):
            features["sentence_embedding"] = self.table[features["rows"]]
            return features
        def save(self, output_path, *args, **kwargs):
            raise NotImplementedError

    q = torch.from_numpy(np.load(sys.argv[1])); c = torch.from_numpy(np.load(sys.argv[2]))
    model = SentenceTransformer(modules=[Lookup(q)], device="cpu")
    n_c = c.shape[0]
    queries = {f"q{i}": f"q{i}" for i in range(q.shape[0])}
    corpus = {str(i): "" for i in range(n_c)}
    relevant = {f"q{i}": {str((i * 7919) % n_c)} for i in range(q.shape[0])}
    ev = InformationRetrievalEvaluator(queries, corpus, relevant, score_functions={"cosine": cos_sim})
    # Two runs, as embedtune's bench does: the first (cold) includes PyTorch's warm-up.
    times = []
    for _ in range(2):
        start = time.perf_counter()
        scores = ev.compute_metrices(model, corpus_embeddings=c)
        times.append(time.perf_counter() - start)
    print(json.dumps({"seconds": round(times[1], 3), "first_run_seconds": round(times[0], 3),
                      "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                      "ndcg@10": round(float(scores["cosine"]["ndcg@k"][10]), 6)}))
""")

env = benchlib.env()
rng = np.random.default_rng(0)
with tempfile.TemporaryDirectory() as tmp:
    tmp = pathlib.Path(tmp)
    queries = rng.standard_normal((args.queries, args.dim), dtype=np.float32)
    np.save(tmp / "queries.npy", queries)
    for n in (int(s) for s in args.sizes.split(",")):
        corpus = rng.standard_normal((n, args.dim), dtype=np.float32)
        np.save(tmp / "corpus.npy", corpus)
        del corpus
        ours = json.loads(subprocess.run([args.bench, str(tmp / "queries.npy"), str(tmp / "corpus.npy")],
                                         check=True, capture_output=True, text=True, env=env).stdout)
        result = {"corpus": n, "queries": args.queries, "dim": args.dim, "threads": benchlib.threads(),
                  "embedtune": ours}
        if not args.skip_st:
            st = subprocess.run([sys.executable, "-c", ST_SCRIPT, str(tmp / "queries.npy"), str(tmp / "corpus.npy")],
                                check=True, capture_output=True, text=True, env=env)
            theirs = json.loads(st.stdout.strip().splitlines()[-1])
            result["sentence_transformers"] = theirs
            result["speedup_cold"] = round(theirs["first_run_seconds"] / ours["first_run_seconds"], 2)
            result["speedup_warm"] = round(theirs["seconds"] / ours["seconds"], 2)
        print(json.dumps(result), flush=True)
