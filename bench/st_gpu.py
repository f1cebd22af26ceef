"""The sentence-transformers side of bench_gpu.py: on one device, with the settings bench_gpu.py
gives embedtune, (1) train MatryoshkaLoss(MNRL) for a fixed number of steps, (2) encode the corpus,
(3) evaluate the trained model with InformationRetrievalEvaluator at every Matryoshka dim.
Prints one JSON line: train samples/s and runtime, peak device memory, encode texts/s, NDCG@10."""
import argparse
import json
import time

import sentence_transformers
import torch
import transformers
from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer, SentenceTransformerTrainingArguments
from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator
from sentence_transformers.sentence_transformer.losses import MatryoshkaLoss, MultipleNegativesRankingLoss

parser = argparse.ArgumentParser()
parser.add_argument("--model", required=True)
parser.add_argument("--train", required=True)
parser.add_argument("--test", required=True)
parser.add_argument("--output-dir", required=True)
parser.add_argument("--device", default="cuda")
parser.add_argument("--dims", required=True)
parser.add_argument("--max-steps", type=int, required=True)
parser.add_argument("--batch-size", type=int, default=32)
parser.add_argument("--eval-batch-size", type=int, default=64)
parser.add_argument("--max-seq-length", type=int, default=512)
parser.add_argument("--bf16", action="store_true")
parser.add_argument("--no-eval", action="store_true", help="skip the evaluation after training")
parser.add_argument("--encode-only", action="store_true", help="skip training (the encode measurement only)")
parser.add_argument("--dropout-seed", type=int,
                    help="reseed torch's global generator (dropout) before training; the sampler keeps seed 42, so "
                         "two runs differ only in their dropout masks")
args = parser.parse_args()
dims = [int(d) for d in args.dims.split(",")]
cuda = args.device.startswith("cuda")


def sync():
    if cuda:
        torch.cuda.synchronize()


def read(path):
    return [json.loads(line) for line in open(path, encoding="utf-8")]


train_rows, test_rows = read(args.train), read(args.test)
model = SentenceTransformer(args.model, device=args.device)
model.max_seq_length = args.max_seq_length
out = {"device": args.device, "torch": torch.__version__, "transformers": transformers.__version__,
       "sentence_transformers": sentence_transformers.__version__}

if not args.encode_only:
    from datasets import Dataset  # the trainer's dependency; encoding needs none

    dataset = Dataset.from_dict({"anchor": [r["anchor"] for r in train_rows],
                                 "positive": [r["positive"] for r in train_rows]})
    loss = MatryoshkaLoss(model, MultipleNegativesRankingLoss(model), matryoshka_dims=dims)
    training_args = SentenceTransformerTrainingArguments(
        output_dir=args.output_dir, max_steps=args.max_steps, per_device_train_batch_size=args.batch_size,
        learning_rate=2e-5, warmup_ratio=0.1, lr_scheduler_type="cosine", batch_sampler="no_duplicates",
        eval_strategy="no", save_strategy="no", logging_steps=10, report_to="none", seed=42,
        bf16=args.bf16 and cuda, tf32=False, optim="adamw_torch_fused", use_cpu=not cuda,
        dataloader_drop_last=True)
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    trainer = SentenceTransformerTrainer(model=model, args=training_args, train_dataset=dataset, loss=loss)
    if args.dropout_seed is not None:
        torch.manual_seed(args.dropout_seed)  # after the trainer's set_seed(42); its sampler has its own generator
    metrics = trainer.train().metrics
    out["train_samples_per_second"] = metrics["train_samples_per_second"]
    out["train_runtime"] = metrics["train_runtime"]
    out["train_loss"] = metrics["train_loss"]
    if cuda:
        out["train_peak_memory_mib"] = torch.cuda.max_memory_reserved() / 2**20

# Encode: every distinct corpus text (train and test positives), fp32 as the reference evaluates
# (bf16 when asked), after a warm-up batch; the texts are the ones bench_gpu.py gives embedtune.
corpus = list(dict.fromkeys([r["positive"] for r in test_rows] + [r["positive"] for r in train_rows]))
model.eval()
with torch.autocast(device_type="cuda" if cuda else "cpu", dtype=torch.bfloat16, enabled=args.bf16 and cuda):
    model.encode(corpus[: args.eval_batch_size], batch_size=args.eval_batch_size)
    sync()
    start = time.perf_counter()
    model.encode(corpus, batch_size=args.eval_batch_size, convert_to_tensor=True)
    sync()
    seconds = time.perf_counter() - start
out["encode_texts"] = len(corpus)
out["encode_texts_per_second"] = len(corpus) / seconds

if not args.encode_only and not args.no_eval:
    # The reference's evaluation: corpus = every positive (train + test) by row id, queries = the
    # test anchors, each relevant to its own row's positive; fp32.
    corpus_by_id = {str(r["id"]): r["positive"] for r in train_rows + test_rows}
    queries = {str(r["id"]): r["anchor"] for r in test_rows}
    relevant = {q: {q} for q in queries}
    ndcg = {}
    for d in dims:
        evaluator = InformationRetrievalEvaluator(queries, corpus_by_id, relevant, truncate_dim=d,
                                                  batch_size=args.eval_batch_size, name=f"dim_{d}",
                                                  show_progress_bar=False)
        ndcg[str(d)] = float(evaluator(model)[f"dim_{d}_cosine_ndcg@10"])
    out["ndcg@10"] = ndcg
print(json.dumps(out))
