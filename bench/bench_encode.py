"""Encode throughput: `embedtune encode` vs SentenceTransformer.encode, same texts, model, batch
size and thread count, in one run. Reports texts/s of the encode step (model loading excluded on
both sides), the ratio, whole-process wall time and peak RSS, and the max |diff| of the outputs.

Usage: bench_encode.py --bin build/embedtune [--texts 2000] [--batch-size 32] [--model DIR]
"""
import argparse
import json
import os
import pathlib
import re
import sys
import tempfile

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import benchlib  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--bin", required=True)
parser.add_argument("--model", default=None)
parser.add_argument("--texts", type=int, default=2000)
parser.add_argument("--batch-size", type=int, default=32)
parser.add_argument("--threads", type=int, default=benchlib.threads())
args = parser.parse_args()
model = args.model or str(benchlib.default_model())

env = dict(benchlib.env(), OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
texts = benchlib.docs_paragraphs(args.texts)
with tempfile.TemporaryDirectory() as tmp:
    tmp = pathlib.Path(tmp)
    inputs = tmp / "texts.jsonl"
    inputs.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")
    st = benchlib.measure([benchlib.PYTHON, str(pathlib.Path(__file__).with_name("st_encode.py")), "--model", model,
                           "--input", str(inputs), "--output", str(tmp / "st.npy"), "--batch-size", str(args.batch_size)], env)
    st_encode = json.loads(st["stdout"].strip().splitlines()[-1])["encode_s"]
    ours = benchlib.measure([args.bin, "encode", "--model", model, "--input", str(inputs), "--output",
                             str(tmp / "ours.npy"), "--batch-size", str(args.batch_size)], env)
    ours_encode = float(re.search(r"in ([0-9.]+) s", ours["stderr"]).group(1))
    diff = float(np.abs(np.load(tmp / "st.npy") - np.load(tmp / "ours.npy")).max())

result = {
    "benchmark": "encode",
    "machine": benchlib.machine(),
    "model": model,
    "texts": len(texts),
    "batch_size": args.batch_size,
    "threads": args.threads,
    "sentence_transformers": {"encode_s": st_encode, "texts_per_s": len(texts) / st_encode,
                              "process_wall_s": st["wall_s"], "peak_rss_mib": st["peak_rss_mib"]},
    "embedtune": {"encode_s": ours_encode, "texts_per_s": len(texts) / ours_encode,
                  "process_wall_s": ours["wall_s"], "peak_rss_mib": ours["peak_rss_mib"]},
    "speedup": st_encode / ours_encode,
    "max_abs_diff": diff,
}
print(json.dumps(result, indent=2))
