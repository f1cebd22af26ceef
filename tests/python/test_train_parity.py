"""Training parity: `embedtune train` against sentence-transformers 6.2's SentenceTransformerTrainer.

Same tiny model (BERT, and XLM-RoBERTa, MPNet and ModernBERT; RobertaModel is XLM-RoBERTa's
network and is covered by the encode, loss and save tests), same data, same arguments: MatryoshkaLoss(MultipleNegativesRankingLoss) over 3
dims (and CachedMultipleNegativesRankingLoss, alone and inside MatryoshkaLoss), gradient accumulation with a shorter last group, clipping, weight decay, cosine schedule with
warm-up, 2 epochs = 6 optimizer steps. The final weights must agree within 1e-4 (where that
comparison has no answer, weight_parity.py holds them to steps * lr) and the logged losses within 1e-4.

With dropout off both sides compute the same function. With dropout on (0.1, as the model's
config says) they also drop the same activations: on CPU embedtune draws its masks from the
seeded default generator in transformers' order and padded layout, including the one int64 each
epoch's DataLoader iterator draws, so the runs still agree within 1e-4.
"""
import json
import pathlib
import shutil

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from conftest import docs_texts
from weight_parity import compare_weights, rounding_level_callback

ROWS = 40          # 5 micro-batches of 8 per epoch: groups of 2, 2 and 1 (the shorter last group)
DIMS = [64, 32, 16]
ARGS = dict(
    num_train_epochs=2,
    per_device_train_batch_size=8,
    gradient_accumulation_steps=2,
    learning_rate=1e-3,
    weight_decay=0.01,
    warmup_ratio=0.2,
    lr_scheduler_type="cosine",
    max_grad_norm=1.0,
    logging_steps=1,
    seed=42,
)


def make_pairs() -> list[dict]:
    texts = docs_texts(400, min_chars=120)
    pairs, seen = [], set()
    for text in texts:
        anchor = " ".join(text.split()[:8])
        if anchor in seen:
            continue
        seen.add(anchor)
        pairs.append({"id": len(pairs), "anchor": anchor, "positive": text[:600]})
        if len(pairs) == ROWS:
            break
    assert len(pairs) == ROWS, "not enough documentation paragraphs"
    return pairs


def tiny_model(testdata: pathlib.Path, dest: pathlib.Path, dropout: float, name: str = "mean") -> pathlib.Path:
    source = testdata / "models" / name
    if not (source / "model.safetensors").exists():
        pytest.fail(f"tiny model missing at {source}: make_testdata did not run")
    shutil.copytree(source, dest)
    config = json.loads((dest / "config.json").read_text())
    keys = {"modernbert": ["attention_dropout", "embedding_dropout", "mlp_dropout"],
            "qwen3": ["attention_dropout"]}.get(config["model_type"],
                                               ["hidden_dropout_prob", "attention_probs_dropout_prob"])
    for key in keys:
        config[key] = dropout
    (dest / "config.json").write_text(json.dumps(config, indent=2))
    return dest


def train_python(model_dir, pairs, output_dir, batch_sampler, loss_name="MatryoshkaLoss",
                 inner_loss="MultipleNegativesRankingLoss", mini_batch_size=32):
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer
    from sentence_transformers import SentenceTransformerTrainingArguments
    from sentence_transformers.sentence_transformer import losses

    torch.set_num_threads(2)
    model = SentenceTransformer(str(model_dir), device="cpu")
    dataset = Dataset.from_dict({"anchor": [p["anchor"] for p in pairs], "positive": [p["positive"] for p in pairs]})

    def make(name):
        if name == "CachedMultipleNegativesRankingLoss":
            return losses.CachedMultipleNegativesRankingLoss(model, mini_batch_size=mini_batch_size)
        return losses.MultipleNegativesRankingLoss(model)

    if loss_name == "MatryoshkaLoss":
        loss = losses.MatryoshkaLoss(model, make(inner_loss), matryoshka_dims=DIMS)
    else:
        loss = make(loss_name)
    args = SentenceTransformerTrainingArguments(
        output_dir=str(output_dir), save_strategy="no", report_to="none", use_cpu=True,
        batch_sampler=batch_sampler, optim="adamw_torch_fused", **ARGS)
    rounding = rounding_level_callback(model[0].auto_model)
    trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=dataset, loss=loss,
                                         callbacks=[rounding])
    trainer.train()
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    return model[0].auto_model.state_dict(), losses, rounding.marked


@pytest.mark.parametrize("model,batch_sampler,dropout", [
    ("mean", "batch_sampler", 0.0), ("mean", "no_duplicates", 0.0), ("mean", "no_duplicates", 0.1),
    ("xlm_roberta", "no_duplicates", 0.0), ("xlm_roberta", "no_duplicates", 0.1),
    ("mpnet", "no_duplicates", 0.0), ("mpnet", "no_duplicates", 0.1),
    ("modernbert", "no_duplicates", 0.0), ("modernbert", "no_duplicates", 0.1),
    # Qwen3's tokenizer pads on the left: embedtune lays its batches out so too, so that the attention
    # dropout mask falls where transformers' does.
    ("qwen3", "no_duplicates", 0.0), ("qwen3", "no_duplicates", 0.1),
    # Every text rendered through the model's chat template, in training as in encoding.
    ("qwen3_chat", "no_duplicates", 0.1),
])
def test_six_steps_match_sentence_transformers_trainer(tmp_path, testdata, run, model, batch_sampler, dropout):
    check_six_steps(tmp_path, testdata, run, model, batch_sampler, dropout)


# CachedMultipleNegativesRankingLoss (GradCache) with mini-batches of 3 rows: each batch of 8 is embedded
# as 3 + 3 + 2 rows, twice, and its gradients arrive scaled by the accumulation group (2, 2, 1). With
# dropout on, the second pass must replay the first's masks and both must be the ones ST draws
# mini-batch by mini-batch; Qwen3 adds left padding, where a mini-batch keeps the column's width.
@pytest.mark.parametrize("model,loss,inner_loss,dropout", [
    ("mean", "MatryoshkaLoss", "CachedMultipleNegativesRankingLoss", 0.0),
    ("mean", "MatryoshkaLoss", "CachedMultipleNegativesRankingLoss", 0.1),
    ("mean", "CachedMultipleNegativesRankingLoss", "MultipleNegativesRankingLoss", 0.1),
    ("qwen3", "MatryoshkaLoss", "CachedMultipleNegativesRankingLoss", 0.1),
])
def test_cached_mnrl_six_steps_match_sentence_transformers_trainer(tmp_path, testdata, run, model, loss,
                                                                   inner_loss, dropout):
    check_six_steps(tmp_path, testdata, run, model, "no_duplicates", dropout,
                    loss_name=loss, inner_loss=inner_loss, mini_batch_size=3)


def check_six_steps(tmp_path, testdata, run, model, batch_sampler, dropout, loss_name="MatryoshkaLoss",
                    inner_loss="MultipleNegativesRankingLoss", mini_batch_size=32):
    model_dir = tiny_model(testdata, tmp_path / "model", dropout, model)
    pairs = make_pairs()
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.jsonl").write_text("".join(json.dumps(p) + "\n" for p in pairs))

    out = tmp_path / "embedtune"
    cli = ["train", "--model", model_dir, "--train", data / "train.jsonl", "--output_dir", out,
           "--matryoshka_dims", ",".join(map(str, DIMS)), "--save_strategy", "no",
           "--batch_sampler", batch_sampler, "--loss", loss_name, "--inner_loss", inner_loss,
           "--mini_batch_size", mini_batch_size]
    for key, value in ARGS.items():
        cli += [f"--{key}", value]
    run(*cli)

    expected, expected_losses, marked = train_python(model_dir, pairs, tmp_path / "st", batch_sampler, loss_name,
                                                     inner_loss, mini_batch_size)
    got = load_file(str(out / "model.safetensors"))
    initial = load_file(str(model_dir / "model.safetensors"))

    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    got_losses = [entry["loss"] for entry in log if "loss" in entry]
    assert len(got_losses) == len(expected_losses) == 6
    print('embedtune losses', got_losses)
    print('python losses   ', expected_losses)
    for step, (a, b) in enumerate(zip(got_losses, expected_losses), start=1):
        assert a == pytest.approx(b, abs=1e-4), f"loss at step {step}: embedtune {a}, sentence-transformers {b}"

    moved = max((tensor.float() - initial[name].float()).abs().max().item() for name, tensor in expected.items())
    assert moved > 1e-3, "training did not change the weights: the comparison would prove nothing"
    compare_weights(got, expected, marked, steps=6, lr=ARGS["learning_rate"])

    # The trained folder loads in sentence-transformers and embeds as embedtune embeds it.
    from sentence_transformers import SentenceTransformer
    texts = [p["anchor"] for p in pairs[:12]] + [p["positive"] for p in pairs[:4]]
    (tmp_path / "texts.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    run("encode", "--model", out, "--input", tmp_path / "texts.jsonl", "--output", tmp_path / "e.npy")
    expected_embeddings = SentenceTransformer(str(out), device="cpu").encode(texts, convert_to_numpy=True)
    assert float(np.abs(np.load(tmp_path / "e.npy") - expected_embeddings).max()) <= 1e-5

