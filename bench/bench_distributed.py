"""Data-parallel training under torchrun: `embedtune train` and SentenceTransformerTrainer (accelerate
DDP) on the same rows, MatryoshkaLoss(MultipleNegativesRankingLoss), at 1 and N processes, in one run.
On the CPU (Gloo) each rank gets cores / N threads; with --device cuda each rank gets a GPU (NCCL).
Reports the trainers' own samples/s (global), the scaling from 1 process, and each rank's peak RSS.

Usage: bench_distributed.py --bin build/embedtune [--procs 1,2] [--samples 512] [--batch-size 16]
"""
import argparse
import json
import pathlib
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import benchlib  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--bin", required=True)
parser.add_argument("--model", default=None)
parser.add_argument("--procs", default="1,2", help="process counts to run")
parser.add_argument("--samples", type=int, default=512, help="rows trained per run (global)")
parser.add_argument("--batch-size", type=int, default=16, help="per_device_train_batch_size")
parser.add_argument("--max-seq-length", type=int, default=128)
parser.add_argument("--dims", default="384,256,128,64,32")
parser.add_argument("--device", default="cpu")
parser.add_argument("--skip-st", action="store_true")
args = parser.parse_args()
if args.device != "cpu" and not args.skip_st:
    parser.error("the sentence-transformers side (st_train.py) trains on the CPU only: add --skip-st")
model = args.model or str(benchlib.default_model())
TORCHRUN = str(pathlib.Path(benchlib.PYTHON).with_name("torchrun"))
HERE = pathlib.Path(__file__).resolve().parent


def free_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return str(s.getsockname()[1])


def launch(procs: int, cmd: list[str], rss_dir: pathlib.Path) -> str:
    threads = max(1, benchlib.threads() // procs) if args.device == "cpu" else benchlib.threads()
    env = benchlib.env()
    env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads), GLOO_SOCKET_IFNAME="lo")
    full = [TORCHRUN, "--nproc-per-node", str(procs), "--master-addr", "127.0.0.1", "--master-port", free_port(),
            "--no-python", benchlib.PYTHON, str(HERE / "peak_rss.py"), str(rss_dir), "--", *cmd]
    result = subprocess.run(full, capture_output=True, text=True, errors="replace", env=env)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(full)} failed:\n{result.stderr[-3000:]}")
    return result.stdout


def peak_rss(rss_dir: pathlib.Path) -> list[float]:
    return [round(json.loads(p.read_text())["peak_rss_mib"], 1) for p in sorted(rss_dir.glob("rss-*.json"))]


def steps(procs: int) -> int:
    return max(1, args.samples // (args.batch_size * procs))


def ours(train: str, out: pathlib.Path, procs: int) -> dict:
    launch(procs, [args.bin, "train", "--model", model, "--train", train, "--output_dir", str(out / "model"),
                   "--max_steps", str(steps(procs)), "--per_device_train_batch_size", str(args.batch_size),
                   "--max_seq_length", str(args.max_seq_length), "--matryoshka_dims", args.dims,
                   "--learning_rate", "2e-5", "--warmup_ratio", "0.1", "--lr_scheduler_type", "cosine",
                   "--batch_sampler", "no_duplicates", "--eval_strategy", "no", "--save_strategy", "no",
                   "--logging_steps", "10", "--seed", "42", "--device", args.device], out / "rss")
    summary = [json.loads(line) for line in (out / "model" / "log.jsonl").read_text().splitlines()][-1]
    return {"samples_per_s": summary["train_samples_per_second"], "train_s": summary["train_runtime"],
            "peak_rss_mib_per_rank": peak_rss(out / "rss")}


def sentence_transformers(train: str, out: pathlib.Path, procs: int) -> dict:
    stdout = launch(procs, [benchlib.PYTHON, str(HERE / "st_train.py"), "--model", model, "--train", train,
                            "--output-dir", str(out / "model"), "--dims", args.dims, "--max-steps", str(steps(procs)),
                            "--batch-size", str(args.batch_size), "--max-seq-length", str(args.max_seq_length)],
                    out / "rss")
    st_out = json.loads(stdout.strip().splitlines()[-1])
    return {"samples_per_s": st_out["train_samples_per_second"], "train_s": st_out["train_runtime"],
            "peak_rss_mib_per_rank": peak_rss(out / "rss")}


rows = []
with tempfile.TemporaryDirectory() as tmp:
    tmp = pathlib.Path(tmp)
    train = benchlib.prepared_train(tmp, args.bin)
    for procs in [int(p) for p in args.procs.split(",")]:
        row = {"processes": procs, "embedtune": ours(train, tmp / f"ours{procs}", procs)}
        if not args.skip_st:
            row["sentence_transformers"] = sentence_transformers(train, tmp / f"st{procs}", procs)
            row["speedup"] = row["embedtune"]["samples_per_s"] / row["sentence_transformers"]["samples_per_s"]
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
    for side in ("embedtune", "sentence_transformers"):
        base = rows[0].get(side, {}).get("samples_per_s")
        for row in rows:
            if base and side in row:
                row[side]["scaling"] = row[side]["samples_per_s"] / base

print(json.dumps({
    "benchmark": "distributed_train", "device": args.device,
    "machine": benchlib.machine(), "threads": benchlib.threads(),
    "model": model, "samples_per_run": args.samples, "per_device_batch_size": args.batch_size,
    "max_seq_length": args.max_seq_length, "dims": args.dims, "rows": rows,
}, indent=2))
