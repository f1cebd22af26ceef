"""End to end: `embedtune run` on a tiny model and a small dataset writes every file of the run
folder, the final model loads in sentence-transformers with the same embeddings, a second run
redoes nothing, and bad recipes fail before any work with one clear line."""
import json
import pathlib
import shutil
import subprocess
import sys

import numpy as np
import pytest
from sentence_transformers import SentenceTransformer

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    folder = tmp_path_factory.mktemp("data")
    subprocess.run([sys.executable, str(ROOT / "tools" / "build_docs_dataset.py"), "--output",
                    str(folder / "docs.jsonl"), "--max-rows", "160"], check=True, capture_output=True)
    return folder / "docs.jsonl"


def write_recipe(path, model, output, data):
    text = f"""name: tiny end-to-end
model: {model}
output: {output}
data:
  input: {data}
  test_size: 0.125
dims: [64, 32, 16]
evaluation:
  batch_size: 24
  query_prompt: "query: "
  corpus_prompt: "passage: "
  score_functions: [cosine, dot]
training:
  num_train_epochs: 1
  per_device_train_batch_size: 16
  learning_rate: 1.0e-4
  eval_strategy: epoch
  save_strategy: epoch
  logging_steps: 2
  save_total_limit: 1
  load_best_model_at_end: true
  metric_for_best_model: eval_dim_32_cosine_ndcg@10
"""
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, run, testdata, dataset):
    folder = tmp_path_factory.mktemp("run")
    recipe = write_recipe(folder / "recipe.yaml", testdata / "models" / "mean", folder / "out", dataset)
    result = run("run", recipe)
    return recipe, folder / "out", result


def test_every_file_of_the_run_folder_exists_and_parses(finished_run):
    _, out, result = finished_run
    for name in ["recipe.yaml", "data/train.jsonl", "data/test.jsonl", "data/summary.json", "baseline.json",
                 "finetuned.json", "comparison.md", "report.html", "timings.json", "training_state.json",
                 "model/model.safetensors", "model/modules.json", "model/README.md"]:
        assert (out / name).exists(), name
    baseline, finetuned = json.loads((out / "baseline.json").read_text()), json.loads((out / "finetuned.json").read_text())
    assert "dim_16_cosine_ndcg@10" in baseline and list(baseline) == list(finetuned)
    assert len((out / "data" / "test.jsonl").read_text().splitlines()) == 20
    assert {"prepare", "baseline", "train", "finetuned"} <= json.loads((out / "timings.json").read_text()).keys()
    assert json.loads((out / "training_state.json").read_text())["log_history"]
    # A first run does every stage and says so once each; nothing was "already done".
    assert "finetuned: taken from the trainer's evaluation" in result.stderr and "already done" not in result.stderr
    comparison = (out / "comparison.md").read_text()
    assert "<svg" in (out / "report.html").read_text()
    # The table printed at the end matches comparison.md's numbers.
    assert f"{finetuned['dim_64_cosine_ndcg@10']:.4f}" in result.stdout
    assert f"{finetuned['dim_64_cosine_ndcg@10']:.4f}" in comparison


def test_final_model_loads_in_sentence_transformers_with_the_same_embeddings(run, finished_run, tmp_path):
    _, out, _ = finished_run
    texts = ["How do I sort a dictionary by value?", "Lists are mutable sequences.", ""]
    inputs = tmp_path / "t.jsonl"
    inputs.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    run("encode", "--model", out / "model", "--input", inputs, "--output", tmp_path / "e.npy")
    expected = SentenceTransformer(str(out / "model"), device="cpu").encode(texts)
    assert float(np.abs(np.load(tmp_path / "e.npy") - expected).max()) <= 1e-5


def evaluate_fresh(run, model, out, tmp_path, name, *prompts):
    """`embedtune evaluate` of `model` on the run's own splits with the recipe's settings."""
    result = tmp_path / f"{name}.json"
    run("evaluate", "--model", model, "--train", out / "data" / "train.jsonl", "--test", out / "data" / "test.jsonl",
        "--dims", "64,32,16", "--batch-size", "24", "--score-functions", "cosine,dot", *prompts, "--output", result)
    return json.loads(result.read_text())


def test_finetuned_and_baseline_are_measured_alike_with_prompts(run, finished_run, testdata, tmp_path):
    """finetuned.json (the trainer's evaluation, reused by run) and baseline.json are what a fresh
    `embedtune evaluate` with the recipe's prompts and settings gives, to the last bit."""
    _, out, _ = finished_run
    prompts = ("--query-prompt", "query: ", "--corpus-prompt", "passage: ")
    assert json.loads((out / "finetuned.json").read_text()) == evaluate_fresh(run, out / "model", out, tmp_path, "ft", *prompts)
    assert json.loads((out / "baseline.json").read_text()) == evaluate_fresh(
        run, testdata / "models" / "mean", out, tmp_path, "base", *prompts)
    # The prompts matter here, so a run that dropped them could not pass.
    assert json.loads((out / "finetuned.json").read_text()) != evaluate_fresh(run, out / "model", out, tmp_path, "bare")


def test_a_second_run_redoes_nothing(run, finished_run):
    recipe, out, _ = finished_run
    before = {p: p.stat().st_mtime_ns for p in [out / "baseline.json", out / "finetuned.json", out / "model" / "model.safetensors"]}
    result = run("run", recipe)
    for stage in ["prepare", "baseline", "train", "finetuned"]:
        assert f"{stage}: already done" in result.stderr
    assert {p: p.stat().st_mtime_ns for p in before} == before


def test_a_changed_recipe_needs_force(run, finished_run):
    recipe, out, _ = finished_run
    result = run("run", recipe, "--set", "training.learning_rate=3e-4", "--set", "dims=64,32", check=False)
    assert result.returncode != 0 and "--force" in result.stderr
    # It says what changed.
    assert "(dims: [64, 32, 16] -> [64, 32]; training.learning_rate: 0.0001 -> 0.0003)" in result.stderr, \
        result.stderr


def test_unreadable_results_are_measured_again(run, finished_run, tmp_path):
    recipe, out, _ = finished_run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    recorded = copy / "recipe.yaml"
    recorded.write_text(recorded.read_text().replace(f'output: "{out}"', f'output: "{copy}"'))
    (copy / "baseline.json").write_text('{"dim_64_cosine_ndcg@10": ')  # cut short
    result = run("run", recipe, "--output", copy)
    assert "baseline: doing it again, as its results cannot be read" in result.stderr, result.stderr
    assert "train: already done" in result.stderr and "finetuned: already done" in result.stderr
    expected = json.loads((out / "baseline.json").read_text())
    assert json.loads((copy / "baseline.json").read_text()) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("edit, needle", [
    (lambda text: text + "bogus_key: 1\n", "unknown key 'bogus_key'"),
    (lambda text: text.replace("  num_train_epochs: 1\n", "  num_train_epochs: 1\n  learnng_rate: 1.0\n"),
     "did you mean 'training.learning_rate'"),
])
def test_bad_recipe_keys_fail_before_any_work(run, tmp_path, testdata, dataset, edit, needle):
    recipe = write_recipe(tmp_path / "r.yaml", testdata / "models" / "mean", tmp_path / "out", dataset)
    recipe.write_text(edit(recipe.read_text()))
    result = run("run", recipe, check=False)
    lines = result.stderr.strip().splitlines()
    assert result.returncode != 0 and len(lines) == 1 and needle in lines[0], result.stderr
    assert not (tmp_path / "out").exists()


def test_missing_model_data_and_oversized_dims_fail_before_any_work(run, tmp_path, testdata, dataset):
    cases = [
        (write_recipe(tmp_path / "a.yaml", tmp_path / "no-model", tmp_path / "out", dataset), "no-model"),
        (write_recipe(tmp_path / "b.yaml", testdata / "models" / "mean", tmp_path / "out", tmp_path / "absent.jsonl"), "absent.jsonl"),
        (write_recipe(tmp_path / "c.yaml", testdata / "models" / "mean", tmp_path / "out", dataset), "1..64"),
    ]
    (tmp_path / "c.yaml").write_text((tmp_path / "c.yaml").read_text().replace("dims: [64, 32, 16]", "dims: [128, 64]"))
    for recipe, needle in cases:
        result = run("run", recipe, check=False)
        lines = result.stderr.strip().splitlines()
        assert result.returncode != 0 and len(lines) == 1 and needle in lines[0], result.stderr
        assert not (tmp_path / "out").exists()


def test_a_mine_section_adds_the_stage_and_its_report(run, tmp_path, testdata, dataset):
    """A `mine:` section mines train.jsonl with the base model before training: the trainer reads the
    mined n-tuples, the evaluation corpus stays prepare's, the report shows the score distribution."""
    recipe = write_recipe(tmp_path / "r.yaml", testdata / "models" / "mean", tmp_path / "out", dataset)
    recipe.write_text(recipe.read_text() + "mine:\n  num_negatives: 2\n  output_format: n-tuple\n  range_min: 1\n")
    result = run("run", recipe)
    out = tmp_path / "out"
    assert "mine: done" in result.stderr
    mined = [json.loads(line) for line in (out / "data" / "train-mined.jsonl").read_text().splitlines()]
    train = (out / "data" / "train.jsonl").read_text().splitlines()
    assert mined and list(mined[0]) == ["anchor", "positive", "negative_1", "negative_2"]
    assert len(mined) <= len(train)
    summary = json.loads((out / "data" / "mine_summary.json").read_text())
    assert summary["rows"] == len(mined) and summary["negative"]["count"] == 2 * len(mined)
    assert "negative_2" in (out / "model" / "README.md").read_text()
    assert 'id="mining"' in (out / "report.html").read_text()
    # The written recipe says the stage is on, so it reads back to the same run.
    assert "enabled: true" in (out / "recipe.yaml").read_text()
    # The baseline and fine-tuned evaluations use the same corpus (prepare's train + test).
    baseline = json.loads((out / "baseline.json").read_text())
    finetuned = json.loads((out / "finetuned.json").read_text())
    assert baseline.keys() == finetuned.keys()

    bad = write_recipe(tmp_path / "b.yaml", testdata / "models" / "mean", tmp_path / "out-b", dataset)
    bad.write_text(bad.read_text() + "mine:\n  output_format: labeled-pair\n")
    refused = run("run", bad, check=False)
    assert refused.returncode != 0 and "mine.output_format" in refused.stderr
