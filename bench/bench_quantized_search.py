"""Exact top-100 search time per storage precision (float32, int8, binary) on the same stored
random embeddings, at 100k and 1M documents: embedtune_quantized_search_bench times each
precision's search through the same chunked tie-aware top-k (and its scoring kernel alone), after
preparing the corpus (normalising or quantizing, timed apart). With --scalar-too, the portable
kernels run as well (the run-time choice is AVX2 / popcnt where the CPU has them).

Usage: bench_quantized_search.py --bench BUILD/bench/embedtune_quantized_search_bench
                                 [--sizes 100000,1000000] [--queries 100] [--dim 384] [--scalar-too]
Prints one JSON object per (size, kernel choice), with every precision's timings and the speed-up
of each over float32 (warm search and scoring alone), and the machine (benchlib.machine()).
"""
import argparse
import json
import pathlib
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import benchlib  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--bench", required=True, help="path of embedtune_quantized_search_bench")
parser.add_argument("--sizes", default="100000,1000000")
parser.add_argument("--queries", type=int, default=100)
parser.add_argument("--dim", type=int, default=384)
parser.add_argument("--scalar-too", action="store_true")
args = parser.parse_args()

env = benchlib.env()
rng = np.random.default_rng(0)
with tempfile.TemporaryDirectory() as tmp:
    tmp = pathlib.Path(tmp)
    np.save(tmp / "queries.npy", rng.standard_normal((args.queries, args.dim), dtype=np.float32))
    for n in (int(s) for s in args.sizes.split(",")):
        np.save(tmp / "corpus.npy", rng.standard_normal((n, args.dim), dtype=np.float32))
        for extra in ([], ["--scalar"]) if args.scalar_too else ([],):
            run = benchlib.measure([args.bench, str(tmp / "queries.npy"), str(tmp / "corpus.npy"), *extra], env=env)
            rows = [json.loads(line) for line in run["stdout"].splitlines() if line.startswith("{")]
            by = {r["precision"]: r for r in rows}
            f32 = by["float32"]
            for r in rows:
                r["search_speedup_vs_float32"] = round(f32["seconds"] / r["seconds"], 2)
                r["scoring_speedup_vs_float32"] = round(f32["scoring_seconds"] / r["scoring_seconds"], 2)
            print(json.dumps({"corpus": n, "queries": args.queries, "dim": args.dim, "threads": benchlib.threads(),
                              "kernels": "portable" if extra else "run-time choice",
                              "machine": benchlib.machine(), "peak_rss_mib": round(run["peak_rss_mib"], 1),
                              "precisions": rows}), flush=True)
