"""`make demo`: encode a handful of sentences with the default model through `embedtune encode`
and print their cosine-similarity matrix (the embeddings are normalised, so a dot product)."""
import argparse
import json
import pathlib
import subprocess
import sys
import tempfile

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
SENTENCES = [
    "How do I read a file line by line in Python?",
    "Iterating over a file object yields its lines one at a time.",
    "What is a generator expression?",
    "A generator expression returns an iterator, like a list comprehension without brackets.",
    "The capital of France is Paris.",
]

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--bin", default=str(ROOT / "build" / "embedtune"))
parser.add_argument("--model", default=None)
args = parser.parse_args()
model = args.model or subprocess.run([sys.executable, str(ROOT / "scripts" / "default_model.py")],
                                     capture_output=True, text=True, check=True).stdout.strip()
with tempfile.TemporaryDirectory() as tmp:
    inputs, output = pathlib.Path(tmp) / "s.jsonl", pathlib.Path(tmp) / "e.npy"
    inputs.write_text("".join(json.dumps({"text": s}) + "\n" for s in SENTENCES))
    subprocess.run([args.bin, "info", "--model", model], check=True)
    subprocess.run([args.bin, "encode", "--model", model, "--input", str(inputs), "--output", str(output)], check=True)
    embeddings = np.load(output)
print(f"\nCosine similarity ({embeddings.shape[1]}-d embeddings):")
for i, s in enumerate(SENTENCES):
    print(f"  [{i}] {s}")
print("      " + "".join(f"   [{j}]" for j in range(len(SENTENCES))))
for i in range(len(SENTENCES)):
    print(f"  [{i}]  " + "".join(f"{embeddings[i] @ embeddings[j]:6.2f}" for j in range(len(SENTENCES))))
