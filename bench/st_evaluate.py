"""The sentence-transformers side of bench_evaluate.py: the reference notebook's baseline
evaluation (SequentialEvaluator of one InformationRetrievalEvaluator per dim), timed."""
import argparse
import json
import time

from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator, SequentialEvaluator
from sentence_transformers.util import cos_sim

parser = argparse.ArgumentParser()
parser.add_argument("--model", required=True)
parser.add_argument("--train", required=True)
parser.add_argument("--test", required=True)
parser.add_argument("--dims", required=True)
parser.add_argument("--batch-size", type=int, default=32)
args = parser.parse_args()

train = [json.loads(line) for line in open(args.train, encoding="utf-8")]
test = [json.loads(line) for line in open(args.test, encoding="utf-8")]
corpus = {str(r["id"]): r["positive"] for r in train + test}
queries = {str(r["id"]): r["anchor"] for r in test}
relevant = {q: {q} for q in queries}
dims = [int(d) for d in args.dims.split(",")]
model = SentenceTransformer(args.model, device="cpu")
evaluator = SequentialEvaluator([
    InformationRetrievalEvaluator(queries=queries, corpus=corpus, relevant_docs=relevant, name=f"dim_{d}",
                                  truncate_dim=d, score_functions={"cosine": cos_sim}, batch_size=args.batch_size)
    for d in dims])
start = time.perf_counter()
results = evaluator(model)
seconds = time.perf_counter() - start
print(json.dumps({"evaluate_s": seconds, "results": {k: float(v) for k, v in results.items()}}))
