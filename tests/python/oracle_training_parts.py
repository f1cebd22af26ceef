"""Expected batch samplers, LR schedules, step counts, AdamW steps and gradient clipping, taken from
the code paths sentence-transformers 6.2 / transformers 5.24 / torch 2.13 run while training.

Usage: python oracle_training_parts.py OUTDIR. Writes:
  samplers.json     two datasets of (anchor, positive, negative) texts with duplicates and, per case (kind,
                    batch_size, drop_last, seed), the batches of epochs 0..2 as row indices, read
                    from a real SentenceTransformerTrainer's train DataLoader (accelerate-prepared),
                    iterated per epoch exactly as transformers' Trainer._run_epoch does.
  schedules.json    per case: transformers' Trainer.set_initial_training_values (the real method),
                    TrainingArguments.get_warmup_steps and the LR of every optimizer step from
                    transformers' get_scheduler (LambdaLR over a real optimizer, base LR 1).
  adamw.safetensors torch.optim.AdamW(fused=True) over 5 steps with two param groups as the
                    Trainer builds them (decay / no decay): initial params, grads and LR per step,
                    params and optimizer state after every step.
  clip.safetensors  torch.nn.utils.clip_grad_norm_ (foreach) on random grads: total norms and
                    clipped grads for max_norm 1.0 (clips) and 1e6 (does not).
"""
import json
import os
import pathlib
import shutil
import sys
import tempfile
import types

import torch
from datasets import Dataset
from safetensors.torch import save_file
from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer, SentenceTransformerTrainingArguments
from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
from transformers import Trainer
from transformers.utils import logging as hf_logging
from transformers.optimization import get_scheduler

out = pathlib.Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
tmp = tempfile.mkdtemp(prefix="oracle_training_parts_")
hf_logging.set_verbosity_error()


# ---------------------------------------------------------------- samplers
def make_rows():
    """23 rows with cross-column and cross-row duplicates, and two identical rows."""
    rows = [[f"anchor {i}", f"positive {i}", f"negative {i}"] for i in range(23)]
    rows[3][1] = "shared positive"
    rows[7][1] = "shared positive"
    rows[12][1] = "shared positive"
    rows[5][2] = "anchor 9"  # row 5's negative is row 9's anchor
    rows[14][0] = "positive 2"  # row 14's anchor is row 2's positive
    rows[20] = list(rows[19])  # identical rows
    rows[21][2] = "negative 19"
    rows[16][2] = "shared negative"
    rows[17][2] = "shared negative"
    rows[18][2] = "shared negative"
    return rows


class RecordingCollator:
    """Stands in for the data collator: returns the rows' ids instead of tokenizing them."""

    valid_label_columns = ["label", "score"]

    def __call__(self, features):
        return [int(f["row"][len("\x00row "):]) for f in features]


def make_crowded_rows():
    """16 rows, 8 of them sharing one negative: a pass cannot fill every batch, so with drop_last
    NoDuplicatesBatchSampler tops the epoch up with extra passes."""
    rows = [[f"query {i}", f"answer {i}", f"other {i}"] for i in range(16)]
    for i in range(0, 16, 2):
        rows[i][2] = "the crowded negative"
    return rows


def record_batches(rows, kind, batch_size, drop_last, seed):
    # The row id column is unique per row, so it never creates an overlap for NoDuplicatesBatchSampler.
    dataset = Dataset.from_dict({
        "anchor": [r[0] for r in rows],
        "positive": [r[1] for r in rows],
        "negative": [r[2] for r in rows],
        "row": [f"\x00row {i}" for i in range(len(rows))],
    })
    args = SentenceTransformerTrainingArguments(
        output_dir=tmp, per_device_train_batch_size=batch_size, dataloader_drop_last=drop_last,
        seed=seed, batch_sampler=kind, report_to="none", use_cpu=True)
    trainer = SentenceTransformerTrainer(model=st_model, args=args, train_dataset=dataset,
                                         loss=MultipleNegativesRankingLoss(st_model))
    trainer.data_collator = RecordingCollator()
    loader = trainer.get_train_dataloader()
    epochs = []
    for epoch in range(3):
        # As transformers' Trainer._run_epoch: set_epoch on the loader and on a wrapped batch sampler.
        if hasattr(loader, "set_epoch"):
            loader.set_epoch(epoch)
        underlying = getattr(getattr(loader, "batch_sampler", None), "batch_sampler", None)
        if hasattr(underlying, "set_epoch"):
            underlying.set_epoch(epoch)
        epochs.append([batch for batch in loader])
    return {"kind": kind, "batch_size": batch_size, "drop_last": drop_last, "seed": seed,
            "num_batches": len(loader), "epochs": epochs}


st_model = SentenceTransformer(os.environ["EMBEDTUNE_DEFAULT_MODEL"], device="cpu")
datasets = {"mixed": make_rows(), "crowded": make_crowded_rows()}
sampler_cases = []
for kind in ["batch_sampler", "no_duplicates"]:
    for batch_size in [4, 5]:
        for drop_last in [False, True]:
            for seed in [42, 7]:
                sampler_cases.append(dict(record_batches(datasets["mixed"], kind, batch_size, drop_last, seed),
                                          dataset="mixed"))
for drop_last in [False, True]:
    sampler_cases.append(dict(record_batches(datasets["crowded"], "no_duplicates", 4, drop_last, 42),
                              dataset="crowded"))
(out / "samplers.json").write_text(json.dumps({"datasets": datasets, "cases": sampler_cases}))

# ---------------------------------------------------------------- schedules and step counts
schedule_cases = []
for scheduler in ["linear", "cosine", "constant", "constant_with_warmup"]:
    for micro_batches, accumulation, epochs, max_steps, warmup_ratio, warmup_steps in [
        (100, 1, 1.0, -1, 0.1, 0),
        (37, 4, 3.0, -1, 0.07, 0),     # shorter last group (37 = 9 * 4 + 1); ceil(0.07 * n) rounding
        (10, 3, 2.5, -1, 0.0, 5),      # fractional epochs, warmup in steps
        (25, 2, 1.0, 20, 0.25, 0),     # max_steps overrides epochs
        (7, 8, 1.0, -1, 0.5, 0),       # fewer micro-batches than one accumulation group
        (3, 1, 4.0, -1, 0.0, 0),       # no warmup
    ]:
        args = SentenceTransformerTrainingArguments(
            output_dir=tmp, gradient_accumulation_steps=accumulation, num_train_epochs=epochs, max_steps=max_steps,
            warmup_ratio=warmup_ratio if warmup_ratio > 0 else None, warmup_steps=warmup_steps,
            lr_scheduler_type=scheduler, report_to="none", use_cpu=True)
        stub = types.SimpleNamespace(get_total_train_batch_size=lambda a: 1, get_sp_size=lambda: 1,
                                     num_examples=lambda dl: len(dl))
        (num_epochs, steps_per_epoch, _, _, _, steps_in_epoch, total_steps) = Trainer.set_initial_training_values(
            stub, args, list(range(micro_batches)))
        warmup = args.get_warmup_steps(total_steps)
        param = torch.nn.Parameter(torch.zeros(1))
        optimizer = torch.optim.SGD([param], lr=1.0)
        lr_scheduler = get_scheduler(scheduler, optimizer, num_warmup_steps=warmup, num_training_steps=total_steps)
        lrs = []
        for _ in range(total_steps):
            lrs.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            lr_scheduler.step()
        schedule_cases.append({
            "scheduler": scheduler, "micro_batches": micro_batches, "accumulation": accumulation, "epochs": epochs,
            "max_steps": max_steps, "warmup_ratio": warmup_ratio, "warmup_steps": warmup_steps,
            "plan": {"micro_batches_per_epoch": steps_in_epoch, "steps_per_epoch": steps_per_epoch,
                     "total_steps": total_steps, "num_epochs": num_epochs},
            "num_warmup_steps": warmup, "lrs": lrs})
(out / "schedules.json").write_text(json.dumps({"cases": schedule_cases}))

# ---------------------------------------------------------------- AdamW (fused) and clipping
gen = torch.Generator().manual_seed(0)
shapes = [(4, 3), (5,), (2, 2, 3), (6,)]
decay = [True, False, True, False]  # as get_decay_parameter_names: weights decay, biases/LayerNorm do not
params = [torch.nn.Parameter(torch.randn(s, generator=gen)) for s in shapes]
tensors = {f"init.{i}": p.detach().clone() for i, p in enumerate(params)}
optimizer = torch.optim.AdamW(
    [{"params": [p for p, d in zip(params, decay) if d], "weight_decay": 0.01},
     {"params": [p for p, d in zip(params, decay) if not d], "weight_decay": 0.0}],
    lr=1.0, betas=(0.9, 0.999), eps=1e-8, fused=True)
lrs = [1e-3, 5e-4, 2e-3, 1e-4, 3e-3]
for step, lr in enumerate(lrs):
    for group in optimizer.param_groups:
        group["lr"] = lr
    for i, p in enumerate(params):
        # Parameter 3 has no gradient at step 1: the optimizer must skip it (its step stays behind).
        p.grad = None if (i == 3 and step == 1) else torch.randn(p.shape, generator=gen)
        if p.grad is not None:
            tensors[f"grad.{step}.{i}"] = p.grad.clone()
    optimizer.step()
    for i, p in enumerate(params):
        tensors[f"param.{step}.{i}"] = p.detach().clone()
for i, p in enumerate(params):
    state = optimizer.state[p]
    tensors[f"exp_avg.{i}"] = state["exp_avg"].clone()
    tensors[f"exp_avg_sq.{i}"] = state["exp_avg_sq"].clone()
    tensors[f"step.{i}"] = state["step"].clone().reshape(())
tensors["lrs"] = torch.tensor(lrs, dtype=torch.float64)
tensors["decay"] = torch.tensor(decay, dtype=torch.float32)
save_file(tensors, str(out / "adamw.safetensors"))

clip = {}
for case, max_norm in enumerate([1.0, 1e6]):
    grads = [torch.randn(s, generator=gen) * 3 for s in shapes]
    ps = [torch.nn.Parameter(torch.zeros(s)) for s in shapes]
    for i, (p, g) in enumerate(zip(ps, grads)):
        p.grad = g.clone()
        clip[f"case{case}.grad_in.{i}"] = g.clone()
    total = torch.nn.utils.clip_grad_norm_(ps, max_norm, foreach=True)
    clip[f"case{case}.total_norm"] = total.reshape(())
    clip[f"case{case}.max_norm"] = torch.tensor(max_norm, dtype=torch.float64)
    for i, p in enumerate(ps):
        clip[f"case{case}.grad_out.{i}"] = p.grad.clone()
save_file(clip, str(out / "clip.safetensors"))
shutil.rmtree(tmp, ignore_errors=True)
print(f"oracle_training_parts: wrote {len(sampler_cases)} sampler cases, {len(schedule_cases)} schedule cases, "
      f"AdamW and clipping under {out}")
