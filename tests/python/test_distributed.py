"""Data-parallel training on c10d (Gloo over loopback, 2 processes): `embedtune train` launched by
torchrun --no-python, checked against one process that runs the same global batches.

- 2 ranks x 1 micro-batch per step average the same two gradients that one process with
  gradient_accumulation_steps=2 sums at half weight (global batch 2k goes to rank 0, 2k+1 to
  rank 1, as accelerate shards a batch sampler): the weights and logged losses agree.
- gather_across_devices: each rank scores its 4 anchors against all 8 candidates, which averaged
  over ranks is MNRL on the concatenated batch of 8: sentence-transformers' trainer in one process
  with batch size 8 (the same permutation cut in 8s) gives the same losses and weights.
- sentence-transformers' own trainer under torchrun (accelerate): the same losses and weights,
  with and without gather_across_devices, with dropout (each rank draws its masks as ST's rank
  does), and CachedMultipleNegativesRankingLoss gathered.
- A rank killed mid-run: the other one stops within seconds and names it.
Against one process, dropout is off: each rank draws its own masks, which one process cannot replay.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from safetensors.torch import load_file

from test_train_parity import make_pairs, tiny_model
from weight_parity import compare_weights

TORCHRUN = Path(sys.executable).with_name("torchrun")
ST_TRAIN = Path(__file__).with_name("st_ddp_train.py")
# The schedule every comparison trains on, as sentence-transformers' training arguments.
SCHEDULE = dict(matryoshka_dims=[64, 32, 16], learning_rate=1e-3, warmup_ratio=0.2, lr_scheduler_type="cosine",
                num_train_epochs=2, logging_steps=1, seed=7)


def flags(settings: dict) -> list:
    """Training arguments as `embedtune train` flags: lists comma-joined, booleans lower-case."""
    out = []
    for key, value in settings.items():
        text = ",".join(map(str, value)) if isinstance(value, list) else str(value)
        out += [f"--{key}", text.lower() if isinstance(value, bool) else text]
    return out


COMMON = [*flags(SCHEDULE), "--save_strategy", "no", "--dataloader_drop_last", "true"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env_for_ranks() -> dict:
    env = dict(os.environ)
    env["OMP_NUM_THREADS"] = "1"
    env["GLOO_SOCKET_IFNAME"] = "lo"
    return env


def torchrun(embedtune_bin, *args, timeout=600):
    cmd = [str(TORCHRUN), "--nproc-per-node", "2", "--master-addr", "127.0.0.1", "--master-port",
           str(free_port()), "--no-python", str(embedtune_bin), *map(str, args)]
    # Two ranks share the pipes: a multi-byte character can be split between their writes.
    result = subprocess.run(cmd, capture_output=True, text=True, errors="replace", env=env_for_ranks(),
                            timeout=timeout)
    if result.returncode != 0:
        raise AssertionError(f"torchrun {' '.join(map(str, args))} failed ({result.returncode}):\n"
                             f"{result.stdout}\n{result.stderr}")
    return result


def losses(out: Path) -> list:
    return [e["loss"] for e in map(json.loads, (out / "log.jsonl").read_text().splitlines()) if "loss" in e]


def grad_norms(out: Path) -> list:
    return [e["grad_norm"] for e in map(json.loads, (out / "log.jsonl").read_text().splitlines())
            if "grad_norm" in e]


def st_train(model: Path, data: Path, out: Path, settings: dict, ranks: int) -> list:
    """sentence-transformers' trainer (st_ddp_train.py) on data/train.jsonl into `out`, under torchrun
    with 2 ranks or in one process; returns its logged losses."""
    out.mkdir()
    launcher = [str(TORCHRUN), "--nproc-per-node", "2", "--master-addr", "127.0.0.1", "--master-port",
                str(free_port())] if ranks == 2 else [sys.executable]
    result = subprocess.run([*launcher, str(ST_TRAIN), str(model), str(data / "train.jsonl"), str(out),
                             json.dumps(settings)],
                            capture_output=True, text=True, errors="replace", env=env_for_ranks(), timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads((out / "losses.json").read_text())


def compare_with_st(ours: Path, st_out: Path, steps: int):
    """weight_parity's comparison of our model folder with st_train's output at SCHEDULE's rate."""
    compare_weights(load_file(str(ours / "model.safetensors")), load_file(str(st_out / "model.safetensors")),
                    load_file(str(st_out / "marked.safetensors")), steps=steps, lr=SCHEDULE["learning_rate"])


def max_weight_difference(a: Path, b: Path) -> float:
    x, y = load_file(str(a / "model.safetensors")), load_file(str(b / "model.safetensors"))
    assert x.keys() == y.keys()
    return max((x[k].float() - y[k].float()).abs().max().item() for k in x)


@pytest.fixture
def data(tmp_path):
    pairs = make_pairs()  # 40 pairs
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "train.jsonl").write_text("".join(json.dumps(p) + "\n" for p in pairs[:32]))
    (folder / "test.jsonl").write_text("".join(json.dumps(p) + "\n" for p in pairs[32:]))
    return folder


def test_two_ranks_equal_one_process_with_accumulation(tmp_path, testdata, run, embedtune_bin, data):
    model = tiny_model(testdata, tmp_path / "model", 0.0)
    base = ["train", "--model", model, "--train", data / "train.jsonl", *COMMON, "--eval",
            data / "test.jsonl", "--eval_corpus", data / "train.jsonl", "--eval_strategy", "steps",
            "--eval_steps", "4"]
    two = tmp_path / "two-ranks"
    result = torchrun(embedtune_bin, *base, "--output_dir", two, "--per_device_train_batch_size", "4")
    one = tmp_path / "one-process"
    run(*base, "--output_dir", one, "--per_device_train_batch_size", "4",
        "--gradient_accumulation_steps", "2", env=env_for_ranks())
    # 32 rows in batches of 4: 8 per epoch, 4 steps per epoch on either side, 2 epochs.
    got, expected = losses(two), losses(one)
    assert len(got) == len(expected) == 8, result.stderr
    assert got == pytest.approx(expected, abs=1e-5)
    assert grad_norms(two) == pytest.approx(grad_norms(one), rel=1e-5)
    # The same computation in the same order (a power-of-two scaling aside): every weight agrees.
    worst = max_weight_difference(two, one)
    assert worst < 1e-5, f"2 ranks and one process with accumulation differ by {worst:.3e}"
    # The evaluations during training: each rank encoded half of the batches, the same metrics.
    def evaluations(out):
        return [{k: v for k, v in e.items() if k.startswith("eval_") and k != "eval_runtime"}
                for e in map(json.loads, (out / "log.jsonl").read_text().splitlines()) if "eval_runtime" in e]
    assert len(evaluations(two)) == len(evaluations(one)) == 2
    for a, b in zip(evaluations(two), evaluations(one)):
        assert a.keys() == b.keys() and a == pytest.approx(b, abs=1e-6)
    # Rank 0 alone wrote the model folder; it loads and evaluates like any other.
    assert (two / "README.md").exists() and (two / "training_args.yaml").exists()
    evaluated = run("evaluate", "--model", two, "--train", data / "train.jsonl", "--test",
                    data / "test.jsonl", "--dims", "64,32", "--output", tmp_path / "eval.json")
    assert json.loads((tmp_path / "eval.json").read_text()), evaluated.stderr


def test_gather_across_devices_equals_mnrl_on_the_concatenated_batch(tmp_path, testdata, run,
                                                                     embedtune_bin, data):
    model = tiny_model(testdata, tmp_path / "model", 0.0)
    base = ["train", "--model", model, "--train", data / "train.jsonl", *COMMON]
    two = tmp_path / "gathered"
    torchrun(embedtune_bin, *base, "--output_dir", two, "--per_device_train_batch_size", "4",
             "--gather_across_devices", "true")
    # The oracle: sentence-transformers' trainer in one process with batches of 8 (the same
    # permutation cut in 8s). The forward passes are not the same computation (two batches of 4
    # against one of 8), so they round differently; the elements whose gradient is zero up to
    # rounding (the key biases, and those ST's own gradients mark) are held to steps x lr.
    st_out = tmp_path / "st-batch-of-8"
    expected = st_train(model, data, st_out, {**SCHEDULE, "per_device_train_batch_size": 8}, ranks=1)
    got = losses(two)
    assert len(got) == len(expected) == 8
    assert got == pytest.approx(expected, abs=1e-5)
    compare_with_st(two, st_out, steps=len(expected))
    # Without the gather each rank sees only its own 4 candidates: a different loss.
    plain = tmp_path / "not-gathered"
    torchrun(embedtune_bin, *base, "--output_dir", plain, "--per_device_train_batch_size", "4")
    assert losses(plain)[0] != pytest.approx(expected[0], abs=1e-3)


def stop_rank_1_mid_run(tmp_path, testdata, embedtune_bin, data, signal_number, *extra):
    """Starts 2 ranks by hand (env://, rank 0 hosts the store), sends rank 1 `signal_number` once
    training has logged a step, and returns (seconds rank 0 took to exit, its exit code, its last
    stderr line)."""
    model = tiny_model(testdata, tmp_path / "model", 0.0)
    port = free_port()
    out = tmp_path / "out"
    procs = []
    for rank in range(2):
        env = env_for_ranks()
        env.update(WORLD_SIZE="2", RANK=str(rank), LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1",
                   MASTER_PORT=str(port))
        procs.append(subprocess.Popen(
            [str(embedtune_bin), "train", "--model", str(model), "--train", str(data / "train.jsonl"),
             "--output_dir", str(out), "--per_device_train_batch_size", "4", "--max_steps", "100000",
             "--logging_steps", "1", "--save_strategy", "no", "--matryoshka_dims", "64", *extra],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            log = out / "log.jsonl"
            if log.exists() and len(log.read_text().splitlines()) >= 2:
                break
            assert procs[0].poll() is None, procs[0].communicate()[1]
            time.sleep(0.2)
        else:
            pytest.fail("training did not start within 120 s")
        procs[1].send_signal(signal_number)
        started = time.time()
        _, stderr = procs[0].communicate(timeout=90)
        waited = time.time() - started
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    return waited, procs[0].returncode, stderr.strip().splitlines()[-1]


def test_a_killed_rank_ends_the_other_and_is_named(tmp_path, testdata, embedtune_bin, data):
    waited, code, last = stop_rank_1_mid_run(tmp_path, testdata, embedtune_bin, data, signal.SIGKILL)
    print(f"rank 0 stopped {waited:.1f} s after rank 1 was killed: {last}")
    assert code not in (0, None)
    assert waited < 30, f"rank 0 took {waited:.0f} s to notice"
    assert "rank 1" in last and "distributed:" in last, last


def test_resume_on_two_ranks_equals_the_uninterrupted_run(tmp_path, testdata, run, embedtune_bin, data):
    # Dropout on: each rank's generator must come back as it was, from rng_state_<rank>.json.
    model = tiny_model(testdata, tmp_path / "model", 0.1)
    base = ["train", "--model", model, "--train", data / "train.jsonl", "--matryoshka_dims", "64,32",
            "--learning_rate", "1e-3", "--num_train_epochs", "2", "--logging_steps", "1", "--seed", "3",
            "--per_device_train_batch_size", "4", "--save_strategy", "steps", "--save_steps", "3"]
    whole = tmp_path / "whole"
    torchrun(embedtune_bin, *base, "--output_dir", whole)
    assert (whole / "checkpoint-3" / "rng_state_1.json").exists()
    resumed = tmp_path / "resumed"
    resumed.mkdir()
    shutil.copytree(whole / "checkpoint-3", resumed / "checkpoint-3")
    torchrun(embedtune_bin, *base, "--output_dir", resumed, "--resume_from_checkpoint", "last")
    assert losses(resumed) == pytest.approx(losses(whole)[3:], abs=1e-6)  # steps 4..8
    worst = max_weight_difference(resumed, whole)
    assert worst < 1e-6, f"the resumed run differs from the uninterrupted one by {worst:.3e}"
    # Another number of processes would shard the batches differently: refused, with the reason.
    alone = run(*base, "--output_dir", resumed, "--resume_from_checkpoint",
                resumed / "checkpoint-3", "--dataloader_drop_last", "true", check=False)
    assert alone.returncode != 0 and "world_size" in alone.stderr, alone.stderr


@pytest.mark.parametrize("gather,dropout,inner", [
    (True, 0.0, "MultipleNegativesRankingLoss"), (False, 0.1, "MultipleNegativesRankingLoss"),
    (True, 0.1, "CachedMultipleNegativesRankingLoss")])
def test_two_ranks_train_as_sentence_transformers_under_torchrun(tmp_path, testdata, embedtune_bin, data,
                                                                 gather, dropout, inner):
    model = tiny_model(testdata, tmp_path / "model", dropout)
    settings = {**SCHEDULE, "per_device_train_batch_size": 4, "gather_across_devices": gather,
                "inner_loss": inner, "mini_batch_size": 3}
    st_out = tmp_path / "st"
    expected = st_train(model, data, st_out, settings, ranks=2)
    torchrun(embedtune_bin, "train", "--model", model, "--train", data / "train.jsonl", "--output_dir",
             tmp_path / "ours", "--save_strategy", "no", *flags(settings))
    got = losses(tmp_path / "ours")
    assert len(got) == len(expected) == 8
    assert got == pytest.approx(expected, abs=1e-4)
    compare_with_st(tmp_path / "ours", st_out, steps=len(expected))


def test_run_recipe_under_torchrun(tmp_path, testdata, run, embedtune_bin):
    from test_run_workflow import write_recipe
    from conftest import docs_texts
    rows = [{"question": " ".join(t.split()[:8]), "context": t} for t in docs_texts(400, min_chars=120)[:96]]
    dataset = tmp_path / "qa.jsonl"
    dataset.write_text("".join(json.dumps(r) + "\n" for r in rows))
    recipe = write_recipe(tmp_path / "recipe.yaml", testdata / "models" / "mean", tmp_path / "ranks", dataset)
    result = torchrun(embedtune_bin, "run", recipe)
    out = tmp_path / "ranks"
    for name in ["data/train.jsonl", "baseline.json", "finetuned.json", "comparison.md", "report.html",
                 "model/model.safetensors", "model/README.md"]:
        assert (out / name).exists(), name
    assert result.stdout.count("run folder:") == 1, "only rank 0 prints the result"
    # The baseline is encoded half by each rank: the same numbers as one process.
    alone = tmp_path / "alone.yaml"
    alone.write_text(recipe.read_text().replace(str(out), str(tmp_path / "alone")))
    run("run", alone, env=env_for_ranks())
    assert json.loads((out / "baseline.json").read_text()) == json.loads((tmp_path / "alone" / "baseline.json").read_text())


def test_a_hung_rank_ends_the_other_after_ddp_timeout(tmp_path, testdata, embedtune_bin, data):
    # SIGSTOP: alive, but answers nothing (and its heartbeat stops too).
    waited, code, last = stop_rank_1_mid_run(tmp_path, testdata, embedtune_bin, data, signal.SIGSTOP,
                                             "--ddp_timeout", "5")
    print(f"rank 0 stopped {waited:.1f} s after rank 1 hung: {last}")
    assert code not in (0, None)
    assert waited < 60, f"rank 0 took {waited:.0f} s with ddp_timeout 5"
    assert "rank 1" in last and "distributed:" in last, last
