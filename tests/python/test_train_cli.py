"""`embedtune train` end to end: recipe errors, SIGINT (checkpoint, then an exact resume), and a short
CPU fine-tune of all-MiniLM-L6-v2 on Python-documentation pairs that must raise NDCG@10 at every
Matryoshka dimension (the baseline is logged by eval_on_start before the first step)."""
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest
import torch
from conftest import interrupt_after_logged_steps, make_pairs
import yaml
from safetensors.torch import load_file

SOURCE = pathlib.Path(os.environ.get("EMBEDTUNE_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[2]))
DOCS = pathlib.Path("/usr/share/doc/python3.11/html/_sources")


def test_bad_recipes_fail_with_one_line_naming_the_key(run, tmp_path, testdata):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(f"model: {testdata / 'models' / 'mean'}\ntrain: t.jsonl\noutput_dir: o\nlerning_rate: 1e-5\n")
    result = run("train", "--config", recipe, check=False)
    assert result.returncode == 1
    assert "r.yaml:4: unknown key 'lerning_rate'; did you mean 'learning_rate'?" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1

    recipe.write_text("model: [oops\n")
    result = run("train", "--config", recipe, check=False)
    assert result.returncode == 1 and "invalid YAML" in result.stderr

    recipe.write_text("model: m\ntrain: t.jsonl\noutput_dir: o\n")
    result = run("train", "--config", recipe, "--per_device_train_batch_size", "0", check=False)
    assert "per_device_train_batch_size: expected an integer >= 1, found 0" in result.stderr
    result = run("train", "--config", recipe, "--load_best_model_at_end", "--eval", "e.jsonl",
                 "--eval_strategy", "epoch", "--save_strategy", "epoch", check=False)
    assert "metric_for_best_model: expected an evaluation key" in result.stderr


def test_training_recipes_parse(run):
    for recipe in [SOURCE / "recipes" / "bge-base-financial-train.yaml", SOURCE / "recipes" / "minilm-cpu.yaml"]:
        result = run("train", "--config", recipe, "--print-config")
        assert "matryoshka_dims" in result.stdout, recipe


def test_print_config_without_a_recipe_starts_one(run, tmp_path):
    # Every default, with the paths still empty; the printed recipe reads back once they are set.
    result = run("train", "--print-config", "--learning_rate", "3e-5")
    config = yaml.safe_load(result.stdout)
    assert config["model"] == "" and config["train"] == "" and config["output_dir"] == ""
    assert float(config["learning_rate"]) == 3e-5 and config["per_device_train_batch_size"] == 8
    recipe = tmp_path / "r.yaml"
    recipe.write_text(result.stdout)
    result = run("train", "--config", recipe, "--model", "m", "--train", "t.jsonl", "--output_dir", "o",
                 "--print-config")
    assert yaml.safe_load(result.stdout)["model"] == "m"
    # Values are still checked, and training still needs the paths.
    result = run("train", "--print-config", "--learning_rate", "-1", check=False)
    assert result.returncode == 1 and "learning_rate: expected a number > 0" in result.stderr
    result = run("train", "--config", recipe, check=False)
    assert result.returncode == 1 and "model: expected a model folder, found nothing" in result.stderr


def test_reference_run_recipe_parses_with_the_notebooks_settings(run):
    result = run("run", SOURCE / "recipes" / "bge-base-financial.yaml", "--print-config")
    config = yaml.safe_load(result.stdout)
    assert config["model"] == "BAAI/bge-base-en-v1.5"
    assert config["dims"] == [768, 512, 256, 128, 64]
    assert config["data"]["anchor_column"] == "question" and config["data"]["positive_column"] == "context"
    training = config["training"]
    for key, value in {"device": "cuda", "bf16": True, "tf32": True, "num_train_epochs": 4,
                       "per_device_train_batch_size": 32, "gradient_accumulation_steps": 16,
                       "lr_scheduler_type": "cosine", "batch_sampler": "no_duplicates",
                       "metric_for_best_model": "eval_dim_128_cosine_ndcg@10"}.items():
        assert training[key] == value, f"training.{key}: {training[key]!r}, expected {value!r}"
    assert float(training["learning_rate"]) == 2e-5  # PyYAML reads 2e-05 (no dot) as a string


def test_sigint_writes_a_checkpoint_and_resume_matches_an_uninterrupted_run(embedtune_bin, run, tmp_path, testdata):
    data = make_pairs(tmp_path / "data", rows=400)
    common = ["--model", testdata / "models" / "mean", "--train", data / "train.jsonl",
              "--matryoshka_dims", "64,32", "--per_device_train_batch_size", "4", "--num_train_epochs", "1",
              "--logging_steps", "1", "--save_strategy", "no", "--learning_rate", "1e-4"]
    run("train", *common, "--output_dir", tmp_path / "full")

    out = tmp_path / "cut"
    returncode, stderr = interrupt_after_logged_steps([embedtune_bin, "train", *common, "--output_dir", out], out, 3)
    assert returncode == 128 + signal.SIGINT, stderr
    checkpoints = sorted(out.glob("checkpoint-*"))
    assert len(checkpoints) == 1, stderr
    step = int(checkpoints[0].name.split("-")[1])
    assert 3 <= step < 96, stderr
    state = json.loads((checkpoints[0] / "trainer_state.json").read_text())
    assert state["global_step"] == step
    assert "Resume with --resume_from_checkpoint" in stderr

    run("train", *common, "--output_dir", out, "--resume_from_checkpoint", "last")
    full = load_file(str(tmp_path / "full" / "model.safetensors"))
    resumed = load_file(str(out / "model.safetensors"))
    for name, tensor in full.items():
        assert (resumed[name] == tensor).all(), f"{name} differs after resume"


def test_step_timing_reports_every_phase_only_when_asked(run, tmp_path, testdata):
    data = make_pairs(tmp_path / "data", rows=40)
    common = ["train", "--model", testdata / "models" / "mean", "--train", data / "train.jsonl",
              "--matryoshka_dims", "64,32", "--per_device_train_batch_size", "4", "--max_steps", "3",
              "--save_strategy", "no"]
    quiet = run(*common, "--output_dir", tmp_path / "quiet", env={**os.environ, "EMBEDTUNE_STEP_TIMING": "0"})
    assert "step timing" not in quiet.stderr
    timed = run(*common, "--output_dir", tmp_path / "timed", env={**os.environ, "EMBEDTUNE_STEP_TIMING": "1"})
    lines = timed.stderr.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("step timing over 3 steps"))
    rows = {line.split("host")[0].strip(): line for line in lines[start + 1:start + 9]}
    assert list(rows) == ["forward", "loss", "backward", "loss value", "clip", "optimizer", "rest", "total"], timed.stderr
    # On the CPU nothing is left to wait for once the host has issued it: the device column is 0.
    columns = {}
    for name, line in rows.items():
        fields = line.split()[-8:]
        assert fields[0::2] == ["host", "device", "ops", "nodes"], line
        columns[name] = dict(zip(fields[0::2], map(float, fields[1::2])))
        assert columns[name]["host"] >= 0 and columns[name]["device"] == 0, line
    assert columns["forward"]["host"] > 0
    # Operators: the forward dispatches some, backward runs the autograd nodes; the totals add up.
    assert columns["forward"]["ops"] > 0 and columns["forward"]["nodes"] == 0
    assert columns["backward"]["nodes"] > 0 and columns["optimizer"]["ops"] > 0
    for key in ("ops", "nodes"):
        assert abs(columns["total"][key] - sum(c[key] for n, c in columns.items() if n != "total")) <= 7


def triplets(folder: pathlib.Path, rows: int) -> pathlib.Path:
    """make_pairs' rows with a negative column: another row's positive."""
    data = make_pairs(folder, rows=rows, test_rows=0)
    records = [json.loads(line) for line in (data / "train.jsonl").read_text().splitlines()]
    with open(data / "train.jsonl", "w") as out:
        for i, record in enumerate(records):
            out.write(json.dumps({**record, "negative": records[(i + 5) % len(records)]["positive"]}) + "\n")
    return data / "train.jsonl"


def without_dropout(model: pathlib.Path, folder: pathlib.Path) -> pathlib.Path:
    shutil.copytree(model, folder)
    config = json.loads((folder / "config.json").read_text())
    zeroed = [key for key, value in config.items() if "dropout" in key and isinstance(value, float)]
    assert zeroed, f"no dropout setting in {model}/config.json"
    (folder / "config.json").write_text(json.dumps({**config, **{key: 0.0 for key in zeroed}}))
    return folder


def logged_losses(out: pathlib.Path) -> list:
    """The losses a training run logged, step by step (its log.jsonl)."""
    return [entry["loss"] for entry in map(json.loads, (out / "log.jsonl").read_text().splitlines())
            if "loss" in entry]


@pytest.mark.parametrize("name", ["mean", "qwen3"])
def test_column_forwards_together_trains_as_separate_up_to_rounding_without_dropout(run, tmp_path, testdata, name):
    # One forward for every column (the default on CUDA) against sentence-transformers' two (the
    # default on the CPU), on (anchor, positive, negative) rows: a right-padded and a left-padded model.
    train = triplets(tmp_path / "data", rows=24)

    def train_run(model, forwards):
        out = tmp_path / f"{model.name}_{forwards}"
        run("train", "--model", model, "--train", train, "--output_dir", out, "--matryoshka_dims", "64,32",
            "--per_device_train_batch_size", "8", "--max_steps", "3", "--logging_steps", "1",
            "--save_strategy", "no", "--learning_rate", "1e-3", "--column_forwards", forwards)
        return logged_losses(out), load_file(str(out / "model.safetensors"))

    plain = without_dropout(testdata / "models" / name, tmp_path / "no_dropout")
    separate_losses, separate = train_run(plain, "separate")
    together_losses, together = train_run(plain, "together")
    assert len(separate_losses) == 3
    assert together_losses == pytest.approx(separate_losses, rel=1e-5, abs=1e-6)
    # AdamW's first updates are about lr * sign(grad): where a gradient is near 0, rounding moves a
    # weight by a share of lr (1e-3 a step). A bug in the layout would move them all by ~lr. The
    # attention key's bias is left out: softmax cancels it, so its gradient is rounding alone.
    for key, tensor in separate.items():
        if not key.endswith(("key.bias", "k_proj.bias")):
            assert (together[key] - tensor).abs().max() < 1e-4, key
    # With dropout the two draw different masks: the setting did change the forwards.
    with_dropout = [train_run(testdata / "models" / name, forwards)[0] for forwards in ("separate", "together")]
    assert with_dropout[0] != pytest.approx(with_dropout[1], rel=1e-4)


@pytest.mark.parametrize("name", ["mean", "qwen3"])
def test_cuda_graph_layout_trains_as_plain_steps_up_to_rounding(run, tmp_path, testdata, name):
    # cuda_graphs rehearsed on the CPU (EMBEDTUNE_GRAPH_REHEARSAL=1): every step in the layout a
    # graph replays (the columns in one forward, a filler sequence up to the next multiple of
    # max_seq_length, fixed gradient buffers zeroed and written each step) against plain steps with
    # every column in one forward. Without dropout the two differ by rounding only.
    train = triplets(tmp_path / "data", rows=24)
    plain = without_dropout(testdata / "models" / name, tmp_path / "no_dropout")

    def train_run(*extra, env=None):
        out = tmp_path / f"run{len(list(tmp_path.iterdir()))}"
        result = run("train", "--model", plain, "--train", train, "--output_dir", out, "--matryoshka_dims",
                     "64,32", "--per_device_train_batch_size", "8", "--max_steps", "8", "--logging_steps", "1",
                     "--save_strategy", "no", "--learning_rate", "1e-3", "--weight_decay", "0.1",
                     "--max_seq_length", "128", *extra, env=env)
        return result, logged_losses(out), load_file(str(out / "model.safetensors"))

    _, plain_losses, plain_weights = train_run("--column_forwards", "together")
    graph_env = {**os.environ, "EMBEDTUNE_GRAPH_REHEARSAL": "1"}
    result, graph_losses, graph_weights = train_run("--cuda_graphs", "true", env=graph_env)
    summary = re.search(r"CUDA graphs: rehearsed (\d+) layouts? .*; (\d+) of 8 steps replayed, (\d+) eager",
                        result.stderr)
    assert summary, result.stderr
    layouts, replayed, eager = map(int, summary.groups())
    # The first step is eager (it makes the gradient buffers), each layout's first step its capture,
    # and later steps of a layout its replays: every branch ran.
    assert eager == 1 and layouts >= 1 and replayed >= 1 and layouts + replayed + eager == 8
    assert len(plain_losses) == 8
    assert graph_losses == pytest.approx(plain_losses, rel=1e-5, abs=1e-6)
    original = load_file(str(plain / "model.safetensors"))
    for key, tensor in plain_weights.items():
        if "pooler" in key:
            # Never reached by the loss: no gradient, so AdamW (and its weight decay) skips it.
            assert torch.equal(graph_weights[key], original[key]), key
        elif not key.endswith(("key.bias", "k_proj.bias")):
            # AdamW's updates are about lr * sign(grad) while the moments are young: rounding moves
            # the few weights whose gradient is near 0 by a share of lr (1e-3 a step); a bug in the
            # layout would move most of them by a tenth of lr or more.
            moved = (graph_weights[key] - tensor).abs()
            assert moved.max() < 5e-4 and (moved > 1e-4).float().mean() < 1e-3, key


def test_cuda_graphs_refuses_what_a_graph_cannot_replay(run, tmp_path, testdata):
    train = make_pairs(tmp_path / "data", rows=16, test_rows=0) / "train.jsonl"
    base = ("train", "--model", testdata / "models" / "mean", "--train", train, "--max_steps", "1",
            "--save_strategy", "no", "--cuda_graphs", "true")
    cases = {
        (): "training arguments: cuda_graphs: expected a CUDA device, found device: cpu; set device: cuda or "
            "cuda_graphs: false",
        ("--gradient_accumulation_steps", "2"): "training arguments: gradient_accumulation_steps: expected 1 with "
            "cuda_graphs (a graph holds one whole step), found 2; set it as asked, or cuda_graphs: false",
        ("--inner_loss", "CachedMultipleNegativesRankingLoss"): "training arguments: inner_loss: expected "
            "MultipleNegativesRankingLoss with cuda_graphs",
        ("--n_dims_per_step", "1"): "training arguments: n_dims_per_step: expected -1 with cuda_graphs",
        ("--column_forwards", "separate"): "training arguments: column_forwards: expected auto or together with "
            "cuda_graphs",
    }
    for i, (extra, message) in enumerate(cases.items()):
        result = run(*base, "--output_dir", tmp_path / f"out{i}", *extra, check=False)
        assert result.returncode != 0 and message in result.stderr, (extra, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_minilm_fine_tune_on_python_docs_raises_ndcg_at_every_dim(run, tmp_path, default_model):
    if not DOCS.exists():
        pytest.fail(f"{DOCS} is missing: install Debian's python3.11-doc (scripts/setup.sh does)")
    pairs = tmp_path / "docs.jsonl"
    subprocess.run([sys.executable, SOURCE / "tools" / "build_docs_dataset.py", "--output", pairs,
                    "--max-rows", "480"], check=True, capture_output=True)
    run("prepare", "--input", pairs, "--output", tmp_path / "data", "--test-size", "80")
    out = tmp_path / "model"
    start = time.time()
    run("train", "--config", SOURCE / "recipes" / "minilm-cpu.yaml", "--model", default_model,
        "--train", tmp_path / "data" / "train.jsonl", "--eval", tmp_path / "data" / "test.jsonl",
        "--output_dir", out, "--max_seq_length", "128", "--learning_rate", "1e-4", "--eval_on_start",
        "--save_total_limit", "1")
    seconds = time.time() - start
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    evals = [entry for entry in log if "eval_dim_384_cosine_ndcg@10" in entry]
    assert len(evals) == 2 and evals[0]["step"] == 0
    before, after = evals[0], evals[-1]
    for dim in [384, 256, 128, 64, 32]:
        key = f"eval_dim_{dim}_cosine_ndcg@10"
        print(f"dim {dim}: NDCG@10 {before[key]:.4f} -> {after[key]:.4f}")
        assert after[key] > before[key], f"{key} did not improve: {before[key]} -> {after[key]}"
    print(f"fine-tune took {seconds:.1f} s")
    assert (out / "README.md").exists() and (out / "modules.json").exists()
