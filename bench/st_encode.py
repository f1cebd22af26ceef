"""The sentence-transformers side of bench_encode.py: encode a .jsonl of texts, print timings as JSON."""
import argparse
import json
import time

import numpy as np
from sentence_transformers import SentenceTransformer

parser = argparse.ArgumentParser()
parser.add_argument("--model", required=True)
parser.add_argument("--input", required=True)
parser.add_argument("--output", required=True)
parser.add_argument("--batch-size", type=int, default=32)
args = parser.parse_args()

texts = [json.loads(line)["text"] for line in open(args.input, encoding="utf-8")]
model = SentenceTransformer(args.model, device="cpu")
start = time.perf_counter()
embeddings = model.encode(texts, batch_size=args.batch_size, convert_to_numpy=True)
seconds = time.perf_counter() - start
np.save(args.output, embeddings)
print(json.dumps({"texts": len(texts), "encode_s": seconds}))
