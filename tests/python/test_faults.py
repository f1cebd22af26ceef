"""Faults during training: SIGKILL at random points (during checkpoint writes too) with a resume
after each kill ends bit-identical to an uninterrupted run; a damaged checkpoint is detected,
named and skipped; a full disk gives one clear line, leaves the last good checkpoint intact and a
rerun with space resumes to the same model; prepare on a full disk leaves the old splits whole.

The full-disk cases mount a small tmpfs inside a private user and mount namespace (`unshare -rm`),
so they need no root and leave no mount behind."""
import os
import pathlib
import random
import re
import shutil
import signal
import subprocess
import time

import pytest
from conftest import make_pairs

STEPS = 12


def train_args(embedtune_bin, testdata, data, out, *extra):
    return [str(embedtune_bin), "train", "--model", str(testdata / "models" / "mean"),
            "--train", str(data / "train.jsonl"), "--output_dir", str(out),
            "--max_steps", str(STEPS), "--per_device_train_batch_size", "8",
            "--matryoshka_dims", "64,32", "--learning_rate", "1e-4", "--warmup_steps", "3", "--lr_scheduler_type", "cosine",
            "--save_strategy", "steps", "--save_steps", "1", "--logging_steps", "1", "--seed", "7",
            *map(str, extra)]


def has_checkpoint(out: pathlib.Path) -> bool:
    return out.is_dir() and any(p.name.startswith("checkpoint-") for p in out.iterdir())


def staging_leftovers(out: pathlib.Path) -> list[str]:
    return [p.name for p in out.iterdir() if p.name.startswith(".") and (".tmp" in p.name or ".old-" in p.name)]


def training_steps(out: pathlib.Path) -> list[int]:
    import json

    entries = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    return [e["step"] for e in entries if "loss" in e]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_pairs(tmp_path_factory.mktemp("pairs"), rows=64)


@pytest.fixture(scope="module")
def reference(tmp_path_factory, embedtune_bin, testdata, data):
    """An uninterrupted run: the model every interrupted run must end with, bit for bit."""
    out = tmp_path_factory.mktemp("reference") / "out"
    subprocess.run(train_args(embedtune_bin, testdata, data, out), check=True, capture_output=True)
    return out


def test_sigkill_at_random_points_then_resume_ends_bit_identical(embedtune_bin, testdata, data, reference, tmp_path):
    out = tmp_path / "out"
    rng = random.Random(20261201)
    kills = during_write = 0
    for attempt in range(60):
        resume = ["--resume_from_checkpoint", "last"] if has_checkpoint(out) else []
        process = subprocess.Popen(train_args(embedtune_bin, testdata, data, out, *resume),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if attempt % 2 == 0:
            # At a random moment (loading, a step, a write: wherever it is).
            deadline = time.monotonic() + rng.uniform(0.2, 2.5)
            while process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.005)
            hit_write = False
        else:
            # While a checkpoint is being written (its staging folder exists): the second or third
            # one this process writes, so that every such attempt also makes progress.
            wanted, seen, hit_write = rng.choice([2, 3]), set(), False
            while process.poll() is None:
                if out.is_dir():
                    seen |= {n for n in os.listdir(out) if n.startswith(".checkpoint-") and ".tmp-" in n}
                if len(seen) >= wanted:
                    time.sleep(rng.uniform(0, 0.01))
                    hit_write = True
                    break
                time.sleep(0.001)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait()
            kills += 1
            during_write += hit_write
            continue
        stderr = process.stderr.read().decode()
        assert process.returncode == 0, stderr
        break
    else:
        pytest.fail("training never finished between kills")
    print(f"{kills} SIGKILLs, {during_write} of them during a checkpoint write")
    assert kills >= 5 and during_write >= 3
    assert (out / "model.safetensors").read_bytes() == (reference / "model.safetensors").read_bytes()
    assert training_steps(out) == list(range(1, STEPS + 1)), "log.jsonl repeats or misses steps"
    assert staging_leftovers(out) == []


def test_a_damaged_checkpoint_is_named_and_skipped(embedtune_bin, testdata, data, reference, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(reference, out)
    last = out / f"checkpoint-{STEPS}"
    optimizer = bytearray((last / "optimizer.safetensors").read_bytes())
    optimizer[len(optimizer) // 2] ^= 0x40
    (last / "optimizer.safetensors").write_bytes(bytes(optimizer))
    (out / "model.safetensors").unlink()

    named = subprocess.run(train_args(embedtune_bin, testdata, data, out, "--resume_from_checkpoint", last),
                           capture_output=True, text=True)
    assert named.returncode == 1
    assert named.stderr.strip().splitlines()[-1].startswith(
        f"embedtune: error: {last}: the checkpoint is damaged: {last}/optimizer.safetensors is damaged")

    skipped = subprocess.run(train_args(embedtune_bin, testdata, data, out, "--resume_from_checkpoint", "last"),
                             capture_output=True, text=True)
    assert skipped.returncode == 0, skipped.stderr
    assert f"train: skipping {last}: {last}/optimizer.safetensors is damaged" in skipped.stderr
    assert f"resuming from {out}/checkpoint-{STEPS - 1}" in skipped.stderr
    assert (out / "model.safetensors").read_bytes() == (reference / "model.safetensors").read_bytes()


def test_resuming_with_a_setting_that_changes_the_result_is_refused(embedtune_bin, testdata, data, reference, tmp_path):
    out = tmp_path / "out"
    shutil.copytree(reference, out)
    checkpoint = out / "checkpoint-2"
    result = subprocess.run(train_args(embedtune_bin, testdata, data, out, "--resume_from_checkpoint", checkpoint)
                            + ["--max_steps", "1"], capture_output=True, text=True)
    assert result.returncode == 1
    line = result.stderr.strip().splitlines()[-1]
    assert f"{checkpoint}: the checkpoint was trained with max_steps = \"12\", this run has \"1\"" in line
    other = make_pairs(tmp_path / "other", rows=64, test_rows=8)
    result = subprocess.run([a.replace(str(data / "train.jsonl"), str(other / "train.jsonl")) for a in
                             train_args(embedtune_bin, testdata, data, out, "--resume_from_checkpoint", checkpoint)],
                            capture_output=True, text=True)
    assert result.returncode == 1 and "trained on other data" in result.stderr
    # Logging and saving settings may change.
    result = subprocess.run(train_args(embedtune_bin, testdata, data, out, "--resume_from_checkpoint", checkpoint,
                                       "--logging_steps", "5"), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def in_namespace(script: str, cwd: pathlib.Path) -> subprocess.CompletedProcess:
    """Runs a bash script in a private user + mount namespace (where it may mount a tmpfs)."""
    if shutil.which("unshare") is None:
        pytest.fail("unshare (util-linux) is missing; the full-disk tests mount a tmpfs with it")
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.fail(f"cannot create a user and mount namespace for the full-disk tests: {probe.stderr.strip()}")
    return subprocess.run(["unshare", "-rm", "bash", "-ec", script], cwd=cwd, capture_output=True, text=True)


def test_full_disk_during_training_then_resume_with_space(embedtune_bin, testdata, data, reference, tmp_path):
    args = " ".join(f"'{a}'" for a in train_args(embedtune_bin, testdata, data, tmp_path / "disk" / "out"))
    (tmp_path / "disk").mkdir()
    # About 25 MB per checkpoint (weights, optimizer state, tokenizer): 70 MB fill up mid-run.
    script = f"""
mount -t tmpfs -o size=70m tmpfs disk
set +e
{args} >first.out 2>first.err; echo $? >first.rc
set -e
cp -a disk/out after-full
mount -o remount,size=600m disk
set +e
{args} --resume_from_checkpoint last >second.out 2>second.err; echo $? >second.rc
set -e
cp -a disk/out final
"""
    result = in_namespace(script, tmp_path)
    assert result.returncode == 0, result.stderr
    first_err = (tmp_path / "first.err").read_text()
    assert (tmp_path / "first.rc").read_text().strip() != "0"
    last_line = first_err.strip().splitlines()[-1]
    assert last_line.startswith("embedtune: error: ") and "No space left on device" in last_line, first_err
    after = tmp_path / "after-full"
    checkpoints = sorted((p for p in after.iterdir() if p.name.startswith("checkpoint-")),
                         key=lambda p: int(p.name.split("-")[1]))
    assert checkpoints, "no checkpoint fitted: make the tmpfs larger"
    assert all((c / "manifest.json").exists() for c in checkpoints)
    assert staging_leftovers(after) == []
    assert (tmp_path / "second.rc").read_text().strip() == "0", (tmp_path / "second.err").read_text()
    assert f"resuming from {tmp_path}/disk/out/{checkpoints[-1].name}" in (tmp_path / "second.err").read_text()
    final = tmp_path / "final"
    assert (final / "model.safetensors").read_bytes() == (reference / "model.safetensors").read_bytes()


def test_a_failed_final_write_without_checkpoints_rescues_the_model(embedtune_bin, testdata, data, tmp_path):
    """save_strategy no: the finished training exists only in memory when the final write fails,
    so it is written to the system temp folder instead and the error says where."""
    reference = tmp_path / "reference"
    common = ["--save_strategy", "no"]
    subprocess.run(train_args(embedtune_bin, testdata, data, reference, *common), check=True, capture_output=True)
    args = " ".join(f"'{a}'" for a in train_args(embedtune_bin, testdata, data, tmp_path / "disk" / "out", *common))
    (tmp_path / "disk").mkdir()
    script = f"""
mount -t tmpfs -o size=4m tmpfs disk
set +e
{args} >run.out 2>run.err; echo $? >run.rc
"""
    result = in_namespace(script, tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "run.rc").read_text().strip() != "0"
    line = (tmp_path / "run.err").read_text().strip().splitlines()[-1]
    match = re.search(r"the trained model was saved to (\S+) instead", line)
    assert line.startswith("embedtune: error: ") and "No space left on device" in line and match, line
    rescued = pathlib.Path(match.group(1))
    try:
        assert (rescued / "model.safetensors").read_bytes() == (reference / "model.safetensors").read_bytes()
    finally:
        shutil.rmtree(rescued, ignore_errors=True)


def test_full_disk_while_preparing_again_leaves_the_old_splits_whole(embedtune_bin, tmp_path):
    import json

    rows = [{"question": f"question {i} " + "q" * 200, "context": f"context {i} " + "c" * 2000} for i in range(400)]
    small = tmp_path / "small.jsonl"
    small.write_text("".join(json.dumps(r) + "\n" for r in rows[:40]))
    big = tmp_path / "big.jsonl"
    big.write_text("".join(json.dumps(r) + "\n" for r in rows))
    embedtune = embedtune_bin
    script = f"""
mkdir -p disk
mount -t tmpfs -o size=300k tmpfs disk
'{embedtune}' prepare --input '{small}' --output disk/splits >/dev/null
cp -a disk/splits before
set +e
'{embedtune}' prepare --input '{big}' --output disk/splits >/dev/null 2>second.err; echo $? >second.rc
set -e
cp -a disk/splits after
"""
    result = in_namespace(script, tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "second.rc").read_text().strip() != "0"
    err = (tmp_path / "second.err").read_text().strip().splitlines()
    assert len(err) == 1 and "No space left on device" in err[0], err
    for name in ["train.jsonl", "test.jsonl", "summary.json"]:
        assert (tmp_path / "after" / name).read_bytes() == (tmp_path / "before" / name).read_bytes(), name
    assert sorted(p.name for p in (tmp_path / "after").iterdir()) == ["summary.json", "test.jsonl", "train.jsonl"]
