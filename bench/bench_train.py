"""Training throughput: `embedtune train` vs SentenceTransformerTrainer, same model, data, batch
size, sampler, sequence length and loss (MatryoshkaLoss over MultipleNegativesRankingLoss), in one
run. Reports each trainer's own samples/s (training loop only), the ratio, and peak RSS.

Usage: bench_train.py --bin build/embedtune [--steps 20] [--batch-size 32] [--rows 1200]
"""
import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import benchlib  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--bin", required=True)
parser.add_argument("--model", default=None)
parser.add_argument("--steps", type=int, default=20)
parser.add_argument("--batch-size", type=int, default=32)
parser.add_argument("--max-seq-length", type=int, default=128)
parser.add_argument("--rows", type=int, default=1200)
parser.add_argument("--dims", default="384,256,128,64,32")
args = parser.parse_args()
model = args.model or str(benchlib.default_model())
env = benchlib.env()

with tempfile.TemporaryDirectory() as tmp:
    tmp = pathlib.Path(tmp)
    subprocess.run([benchlib.PYTHON, str(benchlib.ROOT / "tools" / "build_docs_dataset.py"), "--output",
                    str(tmp / "d.jsonl"), "--max-rows", str(args.rows)], check=True, capture_output=True)
    subprocess.run([args.bin, "prepare", "--input", str(tmp / "d.jsonl"), "--output", str(tmp / "s")], check=True,
                   capture_output=True)
    train = str(tmp / "s" / "train.jsonl")
    ours = benchlib.measure([
        args.bin, "train", "--model", model, "--train", train, "--output_dir", str(tmp / "ours"),
        "--max_steps", str(args.steps), "--per_device_train_batch_size", str(args.batch_size),
        "--max_seq_length", str(args.max_seq_length), "--matryoshka_dims", args.dims, "--learning_rate", "2e-5",
        "--warmup_ratio", "0.1", "--lr_scheduler_type", "cosine", "--batch_sampler", "no_duplicates",
        "--eval_strategy", "no", "--save_strategy", "no", "--logging_steps", "10", "--seed", "42"], env)
    summary = [json.loads(line) for line in (tmp / "ours" / "log.jsonl").read_text().splitlines()][-1]
    st = benchlib.measure([
        benchlib.PYTHON, str(pathlib.Path(__file__).with_name("st_train.py")), "--model", model, "--train", train,
        "--output-dir", str(tmp / "st"), "--dims", args.dims, "--max-steps", str(args.steps),
        "--batch-size", str(args.batch_size), "--max-seq-length", str(args.max_seq_length)], env)
    st_out = json.loads(st["stdout"].strip().splitlines()[-1])

print(json.dumps({
    "benchmark": "train",
    "machine": benchlib.machine(), "threads": benchlib.threads(),
    "model": model, "steps": args.steps, "batch_size": args.batch_size, "max_seq_length": args.max_seq_length,
    "dims": args.dims,
    "sentence_transformers": {"samples_per_s": st_out["train_samples_per_second"], "train_s": st_out["train_runtime"],
                              "process_wall_s": st["wall_s"], "peak_rss_mib": st["peak_rss_mib"]},
    "embedtune": {"samples_per_s": summary["train_samples_per_second"], "train_s": summary["train_runtime"],
                  "process_wall_s": ours["wall_s"], "peak_rss_mib": ours["peak_rss_mib"]},
    "speedup": summary["train_samples_per_second"] / st_out["train_samples_per_second"],
}, indent=2))
