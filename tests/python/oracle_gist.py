"""Expected losses and parameter gradients from sentence-transformers' own GISTEmbedLoss.

Usage: python oracle_gist.py OUTDIR

The tiny random BERT `mean` model is trained; the tiny `cls` BERT (same vocabulary, other weights
and pooling) is the guide, so ST uses the model's own features for the guide as embedtune does.
Both are copied to OUTDIR (model, guide) from the shared models folder (made by oracle_models.py,
which make_testdata runs first; made here if missing). The model is in eval mode. Each case runs the
real loss (GISTEmbedLoss alone or inside MatryoshkaLoss) on one batch of (anchor, positive[,
negative]) texts, features from model.preprocess per column, then backward. Writes:
  OUTDIR/cases.json           texts and the case list
  OUTDIR/<case>.safetensors   "loss" and "grad.<HF key>" for every parameter of the model
"""
import json
import pathlib
import shutil
import subprocess
import sys
import tempfile

import torch
from safetensors.torch import save_file
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.losses import GISTEmbedLoss, MatryoshkaLoss

ANCHORS = [
    "How do I read a CSV file?",
    "What is a generator?",
    "How are exceptions chained?",
    "What does pickle do?",
    "How to format a float with two decimals",
    "What is the walrus operator?",
]
POSITIVES = [
    "The csv module's reader yields each row of the file as a list of strings.",
    "A generator function uses yield to produce values lazily, one at a time.",
    "raise X from Y sets __cause__, so the traceback shows both exceptions.",
    "pickle serialises Python objects to bytes and restores them later.",
    "f'{value:.2f}' formats the number with exactly two digits after the point.",
    "The := operator assigns a value inside an expression, such as a while condition.",
]
NEGATIVES = [
    "Spreadsheets can export their sheets as comma-separated text.",
    "Electric generators turn mechanical energy into electricity.",
    "Chains of stores often share one supplier.",
    "Pickled cucumbers keep for months in brine.",
    "Floats are boats decorated for a parade.",
    "Walruses live on Arctic sea ice.",
]

out = pathlib.Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
here = pathlib.Path(__file__).resolve().parent
MODELS = {"model": "mean", "guide": "cls"}
for name in MODELS:
    shutil.rmtree(out / name, ignore_errors=True)
shared = out.parent / "models"
if all((shared / source / "model.safetensors").exists() for source in MODELS.values()):
    for name, source in MODELS.items():
        shutil.copytree(shared / source, out / name)
else:
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        subprocess.run([sys.executable, str(here / "oracle_models.py"), tmp], check=True)
        for name, source in MODELS.items():
            shutil.copytree(pathlib.Path(tmp) / source, out / name)

CASES = [
    {"name": "gist_pairs", "columns": 2},
    {"name": "gist_triplets", "columns": 3},
    {"name": "gist_relative_no_pp", "columns": 3, "margin_strategy": "relative", "margin": 0.1,
     "contrast_positives": False, "temperature": 0.05},
    {"name": "gist_absolute_margin_no_aa", "columns": 2, "margin": 0.05, "contrast_anchors": False},
    {"name": "matryoshka_gist_triplets", "columns": 3, "dims": [64, 32, 16]},
]

model = SentenceTransformer(str(out / "model"), device="cpu")
guide = SentenceTransformer(str(out / "guide"), device="cpu")
model.eval()
guide.eval()
column_texts = [ANCHORS, POSITIVES, NEGATIVES]
for case in CASES:
    loss_fn = GISTEmbedLoss(model, guide, temperature=case.get("temperature", 0.01),
                            margin_strategy=case.get("margin_strategy", "absolute"), margin=case.get("margin", 0.0),
                            contrast_anchors=case.get("contrast_anchors", True),
                            contrast_positives=case.get("contrast_positives", True))
    assert not loss_fn.must_retokenize, "the guide should share the model's vocabulary"
    if "dims" in case:
        loss_fn = MatryoshkaLoss(model, loss_fn, case["dims"])
    features = [model.preprocess(texts) for texts in column_texts[: case["columns"]]]
    model.zero_grad(set_to_none=True)
    loss = loss_fn(features, None)
    loss.backward()
    tensors = {"loss": loss.detach().reshape(())}
    prefix = "0.model."
    for name, param in model.named_parameters():
        assert name.startswith(prefix), name
        grad = param.grad if param.grad is not None else torch.zeros_like(param)
        tensors["grad." + name[len(prefix):]] = grad.detach().contiguous()
    save_file(tensors, str(out / f"{case['name']}.safetensors"))
    print(f"oracle_gist: {case['name']}: loss {loss.item():.6f}")

(out / "cases.json").write_text(json.dumps(
    {"anchors": ANCHORS, "positives": POSITIVES, "negatives": NEGATIVES, "cases": CASES}, indent=2))
print(f"oracle_gist: wrote {len(CASES)} cases under {out}")
