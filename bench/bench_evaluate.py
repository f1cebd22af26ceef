"""Full evaluation over 5 Matryoshka dims: `embedtune evaluate` vs sentence-transformers'
SequentialEvaluator of 5 InformationRetrievalEvaluators, same data, model and batch size, in one
run. Reports wall time of the evaluation (model loading excluded on both sides), the ratio, peak
RSS, and the largest difference between the two sides' metrics.

Usage: bench_evaluate.py --bin build/embedtune [--rows 3207] [--dims 384,256,128,64,32]
"""
import argparse
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import benchlib  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--bin", required=True)
parser.add_argument("--model", default=None)
parser.add_argument("--rows", type=int, default=0, help="dataset rows (0: the whole docs dataset)")
parser.add_argument("--dims", default="384,256,128,64,32")
parser.add_argument("--batch-size", type=int, default=32)
args = parser.parse_args()
model = args.model or str(benchlib.default_model())
env = benchlib.env()

with tempfile.TemporaryDirectory() as tmp:
    tmp = pathlib.Path(tmp)
    build = [benchlib.PYTHON, str(benchlib.ROOT / "tools" / "build_docs_dataset.py"), "--output", str(tmp / "d.jsonl")]
    if args.rows:
        build += ["--max-rows", str(args.rows)]
    subprocess.run(build, check=True, capture_output=True)
    subprocess.run([args.bin, "prepare", "--input", str(tmp / "d.jsonl"), "--output", str(tmp / "s")], check=True,
                   capture_output=True)
    train, test = str(tmp / "s" / "train.jsonl"), str(tmp / "s" / "test.jsonl")
    st = benchlib.measure([benchlib.PYTHON, str(pathlib.Path(__file__).with_name("st_evaluate.py")), "--model", model,
                           "--train", train, "--test", test, "--dims", args.dims, "--batch-size", str(args.batch_size)], env)
    st_out = json.loads(st["stdout"].strip().splitlines()[-1])
    ours = benchlib.measure([args.bin, "evaluate", "--model", model, "--train", train, "--test", test, "--dims", args.dims,
                             "--batch-size", str(args.batch_size), "--output", str(tmp / "ours.json")], env)
    ours_s = float(re.search(r"in ([0-9.]+) s", ours["stderr"]).group(1))
    ours_results = json.loads((tmp / "ours.json").read_text())
    queries = sum(1 for _ in open(test))
    corpus = queries + sum(1 for _ in open(train))

diff = max(abs(ours_results[k] - v) for k, v in st_out["results"].items() if k in ours_results)
print(json.dumps({
    "benchmark": "evaluate",
    "machine": benchlib.machine(), "threads": benchlib.threads(),
    "model": model, "queries": queries, "corpus": corpus, "dims": args.dims, "batch_size": args.batch_size,
    "sentence_transformers": {"evaluate_s": st_out["evaluate_s"], "process_wall_s": st["wall_s"],
                              "peak_rss_mib": st["peak_rss_mib"]},
    "embedtune": {"evaluate_s": ours_s, "process_wall_s": ours["wall_s"], "peak_rss_mib": ours["peak_rss_mib"]},
    "speedup": st_out["evaluate_s"] / ours_s,
    "max_metric_diff": diff,
}, indent=2))
