"""Hard-negative mining: `embedtune mine` vs sentence-transformers' mine_hard_negatives, same pairs
(the demo's prepared train split), model, max_seq_length and thread count, in one run. Reports the
mining time (model loading excluded on both sides; both encode corpus and anchors once and take an
exact top-k), the ratio, whole-process wall time and peak RSS, and whether the rows are the same.

Usage: bench_mine.py --bin build/embedtune [--pairs 2000] [--max-seq-length 128] [--model DIR]
"""
import argparse
import json
import pathlib
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import benchlib  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[1]
parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--bin", required=True)
parser.add_argument("--model", default=None)
parser.add_argument("--pairs", type=int, default=2000)
parser.add_argument("--max-seq-length", type=int, default=128)
parser.add_argument("--num-negatives", type=int, default=3)
parser.add_argument("--threads", type=int, default=benchlib.threads())
args = parser.parse_args()
model = args.model or str(benchlib.default_model())

env = dict(benchlib.env(), OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
with tempfile.TemporaryDirectory() as tmp:
    tmp = pathlib.Path(tmp)
    subprocess.run([args.bin, "prepare", "--input", str(ROOT / "data" / "python-docs-qa.jsonl"),
                    "--output", str(tmp / "data")], check=True, capture_output=True)
    lines = (tmp / "data" / "train.jsonl").read_text(encoding="utf-8").splitlines()[: args.pairs]
    pairs = tmp / "pairs.jsonl"
    pairs.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    st = benchlib.measure([benchlib.PYTHON, str(pathlib.Path(__file__).with_name("st_mine.py")), "--model", model,
                           "--input", str(pairs), "--output", str(tmp / "st.jsonl"),
                           "--max-seq-length", str(args.max_seq_length),
                           "--num-negatives", str(args.num_negatives)], env)
    st_mine = json.loads(st["stdout"].strip().splitlines()[-1])["mine_s"]
    ours = benchlib.measure([args.bin, "mine", "--model", model, "--input", str(pairs), "--output",
                             str(tmp / "ours.jsonl"), "--max-seq-length", str(args.max_seq_length),
                             "--num_negatives", str(args.num_negatives)], env)
    ours_mine = float(re.search(r"in ([0-9.]+) s", ours["stderr"]).group(1))
    read = lambda p: [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines()]
    same = read(tmp / "st.jsonl") == read(tmp / "ours.jsonl")

result = {
    "benchmark": "mine",
    "machine": benchlib.machine(),
    "model": model,
    "pairs": len(lines),
    "max_seq_length": args.max_seq_length,
    "num_negatives": args.num_negatives,
    "threads": args.threads,
    "sentence_transformers": {"mine_s": st_mine, "process_wall_s": st["wall_s"], "peak_rss_mib": st["peak_rss_mib"]},
    "embedtune": {"mine_s": ours_mine, "process_wall_s": ours["wall_s"], "peak_rss_mib": ours["peak_rss_mib"]},
    "speedup": st_mine / ours_mine,
    "same_rows": same,
}
print(json.dumps(result, indent=2))
