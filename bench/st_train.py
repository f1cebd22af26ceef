"""The sentence-transformers side of bench_train.py and bench_cached_train.py: SentenceTransformerTrainer
on prepare's train.jsonl with MatryoshkaLoss over MultipleNegativesRankingLoss (or, with --inner-loss,
CachedMultipleNegativesRankingLoss of --mini-batch-size rows), no evaluation, no checkpoints.
Prints one JSON line with the trainer's own train_samples_per_second and runtime."""
import argparse
import json

from datasets import Dataset
from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer, SentenceTransformerTrainingArguments
from sentence_transformers.sentence_transformer.losses import (
    CachedMultipleNegativesRankingLoss,
    MatryoshkaLoss,
    MultipleNegativesRankingLoss,
)

parser = argparse.ArgumentParser()
parser.add_argument("--model", required=True)
parser.add_argument("--train", required=True)
parser.add_argument("--output-dir", required=True)
parser.add_argument("--dims", default="384,256,128,64,32")
parser.add_argument("--max-steps", type=int, default=20)
parser.add_argument("--batch-size", type=int, default=32)
parser.add_argument("--max-seq-length", type=int, default=128)
parser.add_argument("--inner-loss", default="MultipleNegativesRankingLoss",
                    choices=["MultipleNegativesRankingLoss", "CachedMultipleNegativesRankingLoss"])
parser.add_argument("--mini-batch-size", type=int, default=32)
args = parser.parse_args()

rows = [json.loads(line) for line in open(args.train, encoding="utf-8")]
dataset = Dataset.from_dict({"anchor": [r["anchor"] for r in rows], "positive": [r["positive"] for r in rows]})
model = SentenceTransformer(args.model, device="cpu")
model.max_seq_length = args.max_seq_length
if args.inner_loss == "CachedMultipleNegativesRankingLoss":
    inner = CachedMultipleNegativesRankingLoss(model, mini_batch_size=args.mini_batch_size)
else:
    inner = MultipleNegativesRankingLoss(model)
loss = MatryoshkaLoss(model, inner, matryoshka_dims=[int(d) for d in args.dims.split(",")])
training_args = SentenceTransformerTrainingArguments(
    output_dir=args.output_dir, max_steps=args.max_steps, per_device_train_batch_size=args.batch_size,
    learning_rate=2e-5, warmup_ratio=0.1, lr_scheduler_type="cosine", batch_sampler="no_duplicates",
    eval_strategy="no", save_strategy="no", logging_steps=10, report_to="none", use_cpu=True, seed=42)
trainer = SentenceTransformerTrainer(model=model, args=training_args, train_dataset=dataset, loss=loss)
metrics = trainer.train().metrics
print(json.dumps({"train_samples_per_second": metrics["train_samples_per_second"], "train_runtime": metrics["train_runtime"]}))
