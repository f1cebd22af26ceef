"""The sentence-transformers side of bench_mine.py: mine_hard_negatives over a .jsonl of pairs,
print the timing as JSON (model loading excluded)."""
import argparse
import json
import time

from datasets import Dataset
from sentence_transformers import SentenceTransformer
from sentence_transformers.util import mine_hard_negatives

parser = argparse.ArgumentParser()
parser.add_argument("--model", required=True)
parser.add_argument("--input", required=True)
parser.add_argument("--output", required=True)
parser.add_argument("--max-seq-length", type=int, default=0)
parser.add_argument("--num-negatives", type=int, default=3)
args = parser.parse_args()

rows = [json.loads(line) for line in open(args.input, encoding="utf-8")]
dataset = Dataset.from_dict({"anchor": [r["anchor"] for r in rows], "positive": [r["positive"] for r in rows]})
model = SentenceTransformer(args.model, device="cpu")
if args.max_seq_length:
    model.max_seq_length = args.max_seq_length
start = time.perf_counter()
mined = mine_hard_negatives(dataset, model, num_negatives=args.num_negatives, verbose=False)
seconds = time.perf_counter() - start
mined.to_json(args.output, lines=True, force_ascii=False)
print(json.dumps({"rows": len(mined), "mine_s": seconds}))
