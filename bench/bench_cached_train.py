"""Training with CachedMultipleNegativesRankingLoss (GradCache): `embedtune train` vs
SentenceTransformerTrainer, both MatryoshkaLoss(CachedMultipleNegativesRankingLoss) with mini-batches
of 32 rows, at several batch sizes, in one run; plus embedtune's plain MatryoshkaLoss(MNRL) at the
same batch sizes, for the memory a batch costs without the cache. Reports each trainer's own samples/s
and each process's peak RSS.

Usage: bench_cached_train.py --bin build/embedtune [--batch-sizes 32,256,1024] [--samples 512]
       [--plain-batch-sizes 32,256]
"""
import argparse
import json
import pathlib
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import benchlib  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--bin", required=True)
parser.add_argument("--model", default=None)
parser.add_argument("--batch-sizes", default="32,256,1024")
parser.add_argument("--plain-batch-sizes", default="32,256", help="embedtune's uncached loss, for its memory")
parser.add_argument("--mini-batch-size", type=int, default=32)
parser.add_argument("--samples", type=int, default=512, help="rows trained per run: steps = samples / batch, at least 1")
parser.add_argument("--max-seq-length", type=int, default=128)
parser.add_argument("--dims", default="384,256,128,64,32")
parser.add_argument("--skip-st", action="store_true", help="embedtune only")
args = parser.parse_args()
model = args.model or str(benchlib.default_model())
env = benchlib.env()


def ours(train: str, out: pathlib.Path, batch: int, cached: bool) -> dict:
    loss = ["--inner_loss", "CachedMultipleNegativesRankingLoss", "--mini_batch_size", str(args.mini_batch_size)] \
        if cached else []
    measured = benchlib.measure([
        args.bin, "train", "--model", model, "--train", train, "--output_dir", str(out),
        "--max_steps", str(max(1, args.samples // batch)), "--per_device_train_batch_size", str(batch),
        "--max_seq_length", str(args.max_seq_length), "--matryoshka_dims", args.dims, "--learning_rate", "2e-5",
        "--warmup_ratio", "0.1", "--lr_scheduler_type", "cosine", "--batch_sampler", "no_duplicates",
        "--eval_strategy", "no", "--save_strategy", "no", "--logging_steps", "10", "--seed", "42", *loss], env)
    summary = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()][-1]
    return {"samples_per_s": summary["train_samples_per_second"], "train_s": summary["train_runtime"],
            "peak_rss_mib": measured["peak_rss_mib"]}


def sentence_transformers(train: str, out: pathlib.Path, batch: int) -> dict:
    measured = benchlib.measure([
        benchlib.PYTHON, str(pathlib.Path(__file__).with_name("st_train.py")), "--model", model, "--train", train,
        "--output-dir", str(out), "--dims", args.dims, "--max-steps", str(max(1, args.samples // batch)),
        "--batch-size", str(batch), "--max-seq-length", str(args.max_seq_length),
        "--inner-loss", "CachedMultipleNegativesRankingLoss", "--mini-batch-size", str(args.mini_batch_size)], env)
    st_out = json.loads(measured["stdout"].strip().splitlines()[-1])
    return {"samples_per_s": st_out["train_samples_per_second"], "train_s": st_out["train_runtime"],
            "peak_rss_mib": measured["peak_rss_mib"]}


rows = []
with tempfile.TemporaryDirectory() as tmp:
    tmp = pathlib.Path(tmp)
    # Every row of the dataset, so that a no-duplicates batch of 1024 fills.
    train = benchlib.prepared_train(tmp, args.bin)
    for batch in [int(b) for b in args.plain_batch_sizes.split(",") if b]:
        rows.append({"loss": "MatryoshkaLoss(MultipleNegativesRankingLoss)", "batch_size": batch,
                     "embedtune": ours(train, tmp / f"plain{batch}", batch, cached=False)})
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    for batch in [int(b) for b in args.batch_sizes.split(",")]:
        row = {"loss": f"MatryoshkaLoss(CachedMultipleNegativesRankingLoss), mini_batch_size {args.mini_batch_size}",
               "batch_size": batch, "embedtune": ours(train, tmp / f"ours{batch}", batch, cached=True)}
        if not args.skip_st:
            row["sentence_transformers"] = sentence_transformers(train, tmp / f"st{batch}", batch)
            row["speedup"] = row["embedtune"]["samples_per_s"] / row["sentence_transformers"]["samples_per_s"]
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)

print(json.dumps({
    "benchmark": "cached_train",
    "machine": benchlib.machine(), "threads": benchlib.threads(),
    "model": model, "samples_per_run": args.samples, "max_seq_length": args.max_seq_length, "dims": args.dims,
    "rows": rows,
}, indent=2))
