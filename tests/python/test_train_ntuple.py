"""n-tuple training: `embedtune mine --output_format n-tuple` rows (anchor, positive, negative_1..n)
trained with MatryoshkaLoss(MultipleNegativesRankingLoss) by `embedtune train` and by
sentence-transformers 6.2's trainer on the same rows, NoDuplicatesBatchSampler over every column,
dropout on. Six optimizer steps; weights and logged losses within 1e-4, as test_train_parity.
"""
import json

import pytest
import torch
from safetensors.torch import load_file

from test_train_parity import ARGS, DIMS, make_pairs, tiny_model
from weight_parity import compare_weights, rounding_level_callback


def train_python(model_dir, rows, columns, output_dir):
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer
    from sentence_transformers import SentenceTransformerTrainingArguments
    from sentence_transformers.sentence_transformer.losses import MatryoshkaLoss, MultipleNegativesRankingLoss

    torch.set_num_threads(2)
    model = SentenceTransformer(str(model_dir), device="cpu")
    dataset = Dataset.from_dict({c: [r[c] for r in rows] for c in columns})
    loss = MatryoshkaLoss(model, MultipleNegativesRankingLoss(model), matryoshka_dims=DIMS)
    args = SentenceTransformerTrainingArguments(
        output_dir=str(output_dir), save_strategy="no", report_to="none", use_cpu=True,
        batch_sampler="no_duplicates", optim="adamw_torch_fused", **ARGS)
    rounding = rounding_level_callback(model[0].auto_model)
    trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=dataset, loss=loss,
                                         callbacks=[rounding])
    trainer.train()
    return (model[0].auto_model.state_dict(), [e["loss"] for e in trainer.state.log_history if "loss" in e],
            rounding.marked)


# Dropout on: sentence-transformers embeds the candidate columns (positive, negatives) in one merged
# forward, padded column by column, and draws the dropout masks over that batch; embedtune lays the
# batch out the same way. Qwen3's tokenizer pads on the left, inside each column.
@pytest.mark.parametrize("model,dropout", [("mean", 0.0), ("mean", 0.1), ("qwen3", 0.1)])
def test_mined_ntuples_train_as_sentence_transformers(tmp_path, testdata, run, model, dropout):
    model_dir = tiny_model(testdata, tmp_path / "model", dropout, model)
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.jsonl").write_text("".join(json.dumps(p) + "\n" for p in make_pairs()))
    mined = data / "mined.jsonl"
    run("mine", "--model", model_dir, "--input", data / "train.jsonl", "--output", mined,
        "--output_format", "n-tuple", "--num_negatives", "2", "--range_min", "1")
    rows = [json.loads(line) for line in mined.read_text().splitlines()]
    columns = ["anchor", "positive", "negative_1", "negative_2"]
    assert len(rows) == len(make_pairs()) and list(rows[0]) == columns

    out = tmp_path / "embedtune"
    cli = ["train", "--model", model_dir, "--train", mined, "--output_dir", out,
           "--matryoshka_dims", ",".join(map(str, DIMS)), "--save_strategy", "no", "--batch_sampler", "no_duplicates"]
    for key, value in ARGS.items():
        cli += [f"--{key}", value]
    run(*cli)
    readme = (out / "README.md").read_text()
    assert "negative_2" in readme, "the model card should list the n-tuple columns"

    expected, expected_losses, marked = train_python(model_dir, rows, columns, tmp_path / "st")
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    got_losses = [e["loss"] for e in log if "loss" in e]
    assert len(got_losses) == len(expected_losses) == 6
    for step, (a, b) in enumerate(zip(got_losses, expected_losses), start=1):
        assert a == pytest.approx(b, abs=1e-4), f"loss at step {step}: embedtune {a}, sentence-transformers {b}"
    got = load_file(str(out / "model.safetensors"))
    compare_weights(got, expected, marked, steps=6, lr=ARGS["learning_rate"])


def test_mined_file_without_ids_needs_eval_corpus(tmp_path, testdata, run):
    model_dir = tiny_model(testdata, tmp_path / "model", 0.0, "mean")
    data = tmp_path / "data"
    data.mkdir()
    pairs = make_pairs()
    (data / "train.jsonl").write_text("".join(json.dumps(p) + "\n" for p in pairs[:32]))
    (data / "test.jsonl").write_text("".join(json.dumps(p) + "\n" for p in pairs[32:]))
    run("mine", "--model", model_dir, "--input", data / "train.jsonl", "--output", data / "mined.jsonl")
    base = ["train", "--model", model_dir, "--train", data / "mined.jsonl", "--eval", data / "test.jsonl",
            "--matryoshka_dims", "64,32", "--max_steps", "1", "--save_strategy", "no",
            "--per_device_train_batch_size", "8", "--eval_strategy", "steps", "--eval_steps", "1"]
    refused = run(*base, "--output_dir", tmp_path / "a", check=False)
    assert refused.returncode != 0 and "eval_corpus" in refused.stderr
    run(*base, "--output_dir", tmp_path / "b", "--eval_corpus", data / "train.jsonl")
    log = [json.loads(line) for line in (tmp_path / "b" / "log.jsonl").read_text().splitlines()]
    assert any("eval_dim_64_cosine_ndcg@10" in e for e in log)
