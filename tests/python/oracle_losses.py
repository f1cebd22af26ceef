"""Expected losses and parameter gradients from sentence-transformers' own MNRL, CachedMNRL and MatryoshkaLoss.

Usage: python oracle_losses.py OUTDIR

Uses the tiny random BERT `mean` model (Transformer -> mean Pooling -> Normalize, hidden 64) made by
oracle_models.py, copied to OUTDIR/model so that the C++ test loads exactly the weights used here
(make_testdata runs this script before oracle_models.py, so missing models are made here with that
script), and, for the other architectures, its `xlm_roberta`, `roberta`, `mpnet`, `modernbert` and `qwen3` models, copied
to OUTDIR/model_<name>; a case's "model" key names its folder (default "model"). The model is in eval mode (dropout off). Each case runs the real loss module on one
fixed batch of (anchor, positive, negative) texts, features built by model.preprocess per column as
SentenceTransformerDataCollator does, then backward. Writes:
  OUTDIR/cases.json           texts and the case list (loss, dims, weights, columns used)
  OUTDIR/<case>.safetensors   "loss" (scalar) and "grad.<HF key>" for every BertModel parameter
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
from sentence_transformers.sentence_transformer.losses import (
    CachedMultipleNegativesRankingLoss,
    MatryoshkaLoss,
    MultipleNegativesRankingLoss,
)
from sentence_transformers.util import dot_score

out = pathlib.Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
here = pathlib.Path(__file__).resolve().parent

# The models: the shared tiny ones, made now if oracle_models.py has not run yet.
MODELS = {"model": "mean", "model_xlm_roberta": "xlm_roberta", "model_roberta": "roberta",
          "model_mpnet": "mpnet", "model_modernbert": "modernbert", "model_qwen3": "qwen3"}
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

ANCHORS = [
    "How do I open a file in Python?",
    "What is a list comprehension?",
    "Explain the global interpreter lock.",
    "how to sort a dictionary by value",
    "What does the with statement do?",
    "Difference between a tuple and a list",
    "Why use virtual environments?",
    "What is a decorator?",
]
POSITIVES = [
    "Use the built-in open() function, ideally inside a with block, to get a file object.",
    "A list comprehension builds a new list from an iterable in a single expression: [x * 2 for x in xs].",
    "The GIL lets only one thread execute Python bytecode at a time in CPython.",
    "sorted(d.items(), key=lambda kv: kv[1]) returns the items ordered by their values.",
    "It calls __enter__ and __exit__ around a block, so resources are released even on errors.",
    "Tuples are immutable and hashable; lists can be changed in place.",
    "They isolate each project's installed packages from the system interpreter.",
    "A decorator is a callable that takes a function and returns a replacement for it.",
]
NEGATIVES = [
    "The file menu of the editor has an Open Recent entry.",
    "Comprehensive lists of Python books are maintained on the wiki.",
    "Interpreters for other languages also use locks.",
    "Dictionaries preserve insertion order since Python 3.7.",
    "A statement ends at the end of a line unless it is continued.",
    "Lists of tuples are common when reading CSV rows.",
    "Virtual machines emulate complete computers.",
    "Decorating a room with plants improves the mood.",
]

CASES = [
    {"name": "mnrl_pairs", "loss": "MultipleNegativesRankingLoss", "columns": 2},
    {"name": "mnrl_triplets", "loss": "MultipleNegativesRankingLoss", "columns": 3},
    {"name": "mnrl_dot_scale1", "loss": "MultipleNegativesRankingLoss", "columns": 3, "similarity": "dot_score",
     "scale": 1.0},
    {"name": "matryoshka_pairs", "loss": "MatryoshkaLoss", "columns": 2, "dims": [64, 32, 16, 8]},
    {"name": "matryoshka_triplets", "loss": "MatryoshkaLoss", "columns": 3, "dims": [64, 32, 16, 8]},
    # Unsorted dims with weights: the loss sorts both together, descending.
    {"name": "matryoshka_weighted", "loss": "MatryoshkaLoss", "columns": 3, "dims": [16, 64, 8, 32],
     "weights": [0.5, 1.0, 0.25, 2.0]},
]
# CachedMultipleNegativesRankingLoss (GradCache), alone and inside MatryoshkaLoss. "same_as" names
# the plain case computing the same function on the same batch: with dropout off the C++ test also
# holds the cached result to it. A "dropout_seed" case runs in train mode (dropout 0.1, as the
# models' configs say) after torch.manual_seed(seed): the second pass must replay the first's masks,
# mini-batch by mini-batch, as ST draws them. Mini-batches of 3 rows split 8 rows into 3 + 3 + 2.
CACHED = "CachedMultipleNegativesRankingLoss"
CASES += [
    {"name": "cached_mnrl_triplets", "loss": CACHED, "columns": 3, "mini_batch_size": 3,
     "same_as": "mnrl_triplets"},
    {"name": "cached_mnrl_dot_scale1", "loss": CACHED, "columns": 3, "mini_batch_size": 3,
     "similarity": "dot_score", "scale": 1.0, "same_as": "mnrl_dot_scale1"},
    # ST's default mini_batch_size 32 > 8 rows: one mini-batch.
    {"name": "cached_matryoshka_pairs", "loss": "MatryoshkaLoss", "inner_loss": CACHED, "columns": 2,
     "dims": [64, 32, 16, 8], "same_as": "matryoshka_pairs"},
    {"name": "cached_matryoshka_weighted", "loss": "MatryoshkaLoss", "inner_loss": CACHED, "columns": 3,
     "mini_batch_size": 3, "dims": [16, 64, 8, 32], "weights": [0.5, 1.0, 0.25, 2.0],
     "same_as": "matryoshka_weighted"},
    {"name": "cached_mnrl_triplets_dropout", "loss": CACHED, "columns": 3, "mini_batch_size": 3,
     "dropout_seed": 7},
    {"name": "cached_matryoshka_triplets_dropout", "loss": "MatryoshkaLoss", "inner_loss": CACHED,
     "columns": 3, "mini_batch_size": 3, "dims": [64, 32, 16, 8], "dropout_seed": 11},
    # Qwen3 pads on the left: a mini-batch keeps the column's full width (ST keeps leading padding),
    # which is where its attention dropout falls.
    {"name": "qwen3_cached_mnrl_triplets", "loss": CACHED, "columns": 3, "mini_batch_size": 3,
     "model": "model_qwen3", "same_as": "qwen3_mnrl_triplets"},
    {"name": "qwen3_cached_matryoshka_pairs_dropout", "loss": "MatryoshkaLoss", "inner_loss": CACHED,
     "columns": 2, "mini_batch_size": 3, "dims": [64, 32, 16, 8], "model": "model_qwen3", "dropout_seed": 5},
]
# Every other architecture: MNRL and MatryoshkaLoss(MNRL), the training loss of the workflow.
for name in ["xlm_roberta", "roberta", "mpnet", "modernbert", "qwen3"]:
    CASES += [
        {"name": f"{name}_mnrl_triplets", "loss": "MultipleNegativesRankingLoss", "columns": 3,
         "model": f"model_{name}"},
        {"name": f"{name}_matryoshka_pairs", "loss": "MatryoshkaLoss", "columns": 2, "dims": [64, 32, 16, 8],
         "model": f"model_{name}"},
    ]

torch.manual_seed(0)
column_texts = [ANCHORS, POSITIVES, NEGATIVES]
models = {}

for case in CASES:
    model_name = case.get("model", "model")
    if model_name not in models:
        models[model_name] = SentenceTransformer(str(out / model_name), device="cpu")
        models[model_name].eval()
    model = models[model_name]
    similarity = dot_score if case.get("similarity") == "dot_score" else None
    kwargs = {"scale": case.get("scale", 20.0)}
    if similarity is not None:
        kwargs["similarity_fct"] = similarity
    inner_name = case["loss"] if case["loss"] != "MatryoshkaLoss" else case.get("inner_loss", "")
    if inner_name == CACHED:
        inner = CachedMultipleNegativesRankingLoss(model, mini_batch_size=case.get("mini_batch_size", 32), **kwargs)
    else:
        inner = MultipleNegativesRankingLoss(model, **kwargs)
    loss_fn = inner
    if case["loss"] == "MatryoshkaLoss":
        loss_fn = MatryoshkaLoss(model, inner, case["dims"], matryoshka_weights=case.get("weights"))
    features = [model.preprocess(texts) for texts in column_texts[: case["columns"]]]
    model.zero_grad(set_to_none=True)
    if "dropout_seed" in case:
        model.train()
        torch.manual_seed(case["dropout_seed"])
    loss = loss_fn(features, None)
    loss.backward()
    model.eval()
    tensors = {"loss": loss.detach().reshape(())}
    prefix = "0.model."
    for name, param in model.named_parameters():
        assert name.startswith(prefix), name
        grad = param.grad if param.grad is not None else torch.zeros_like(param)
        tensors["grad." + name[len(prefix):]] = grad.detach().contiguous()
    save_file(tensors, str(out / f"{case['name']}.safetensors"))
    print(f"oracle_losses: {case['name']}: loss {loss.item():.6f}")

(out / "cases.json").write_text(json.dumps(
    {"anchors": ANCHORS, "positives": POSITIVES, "negatives": NEGATIVES, "cases": CASES}, indent=2))
print(f"oracle_losses: wrote {len(CASES)} cases under {out}")
