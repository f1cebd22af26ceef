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
# How a checkpoint's staging folders begin: `.checkpoint-<step>.tmp-<pid>`, and before it the model
# writer's own `..checkpoint-<step>.tmp-<pid>.tmp-<pid>`, renamed to the first once the model is in.
STAGED = r"\.\.?checkpoint-(\d+)\.tmp-"


def train_args(embedtune_bin, testdata, data, out, *extra):
    return [str(embedtune_bin), "train", "--model", str(testdata / "models" / "mean"),
            "--train", str(data / "train.jsonl"), "--output_dir", str(out),
            "--max_steps", str(STEPS), "--per_device_train_batch_size", "8",
            "--matryoshka_dims", "64,32", "--learning_rate", "1e-4", "--warmup_steps", "3", "--lr_scheduler_type", "cosine",
            "--save_strategy", "steps", "--save_steps", "1", "--logging_steps", "1", "--seed", "7",
            *map(str, extra)]


def staging_leftovers(out: pathlib.Path) -> list[str]:
    return [p.name for p in out.iterdir() if p.name.startswith(".") and (".tmp" in p.name or ".old-" in p.name)]


def training_steps(out: pathlib.Path) -> list[int]:
    import json

    entries = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    return [e["step"] for e in entries if "loss" in e]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_pairs(tmp_path_factory.mktemp("pairs"), rows=64)


def traced(args: list[str], trace: pathlib.Path, kill_at_fsync: int | None = None) -> list[str]:
    """`args` under strace, which logs the checkpoint writer's calls (fsync, mkdir, rename) to
    `trace` and, with `kill_at_fsync`, sends SIGKILL as the process enters its fsync call of that
    number. Without a kill the seccomp filter stops the process on those calls only, so it runs at
    full speed; strace 6.1 injects no signal under that filter, so a kill runs without it."""
    if shutil.which("strace") is None:
        pytest.fail("strace is missing; the kill-during-a-write test injects its SIGKILL with it "
                    "(scripts/setup.sh installs it)")
    how = ["--seccomp-bpf"] if kill_at_fsync is None else ["-e", f"inject=fsync:signal=KILL:when={kill_at_fsync}"]
    return ["strace", "-f", "-qq", "-o", str(trace), "-e", "trace=fsync,mkdir,rename", *how, *args]


def fsyncs_by_checkpoint(trace: pathlib.Path) -> dict[int, list[int]]:
    """For each checkpoint a traced run wrote: the numbers (1-based, counted over the run) of the
    fsync calls made while it was staged, from the mkdir of its staging folder to the rename that
    makes it `checkpoint-<step>`."""
    staged, count, result = None, 0, {}
    for line in trace.read_text().splitlines():
        if " fsync(" in line:
            count += 1
            if staged is not None:
                result.setdefault(staged, []).append(count)
        elif (made := re.search(rf' mkdir\(".*/{STAGED}[^/"]*", ', line)) and staged is None:
            staged = int(made.group(1))
        elif re.search(r' rename\(".*", ".*/checkpoint-\d+"\)', line):
            staged = None
    return result


@pytest.fixture(scope="module")
def reference(tmp_path_factory, embedtune_bin, testdata, data):
    """An uninterrupted run: the model every interrupted run must end with, bit for bit. It runs
    traced, so that the kill test knows at which fsync each checkpoint write happens."""
    out = tmp_path_factory.mktemp("reference") / "out"
    subprocess.run(traced(train_args(embedtune_bin, testdata, data, out), out.parent / "fresh.trace"),
                   check=True, capture_output=True)
    return out


def checkpoint_steps(out: pathlib.Path) -> list[int]:
    if not out.is_dir():
        return []
    return sorted(int(n.split("-")[1]) for n in os.listdir(out) if re.fullmatch(r"checkpoint-\d+", n))


def staged_by(out: pathlib.Path, pid: str) -> list[int]:
    """The checkpoints process `pid` had staged (its staging folders are named after it)."""
    if not out.is_dir():
        return []
    return sorted({int(m.group(1)) for n in os.listdir(out)
                   if (m := re.fullmatch(rf"{STAGED}{pid}(\.tmp-{pid})?", n))})


def test_sigkill_at_random_points_then_resume_ends_bit_identical(embedtune_bin, testdata, data, reference, tmp_path):
    """Kills alternate between two kinds, both placed by progress, not by the clock, so that no
    machine is too fast for them:
    - at a random moment (loading, a step, a write: wherever it is), at the latest just after the
      process's first new checkpoint is in place;
    - inside the process's second checkpoint write, at a random one of its fsync calls: strace
      delivers the SIGKILL as the process enters that call, while the checkpoint is staged.
    Each pair makes one or two checkpoints of progress, until three steps are left for the last,
    uninterrupted run."""
    # Where the fsync calls of each checkpoint write fall in a fresh run and in a resumed one (a
    # resumed run rewrites log.jsonl first), and how long a resumed run takes to its first checkpoint.
    fresh = fsyncs_by_checkpoint(reference.parent / "fresh.trace")
    profile = tmp_path / "profile"
    shutil.copytree(reference, profile)
    for step in range(3, STEPS + 1):
        shutil.rmtree(profile / f"checkpoint-{step}")
    (profile / "model.safetensors").unlink()
    started = time.monotonic()
    process = subprocess.Popen(traced(train_args(embedtune_bin, testdata, data, profile, "--resume_from_checkpoint",
                                                 profile / "checkpoint-2"), tmp_path / "resumed.trace"),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not (profile / "checkpoint-3").is_dir() and process.poll() is None:
        time.sleep(0.001)
    to_first_checkpoint = time.monotonic() - started
    assert process.wait() == 0
    resumed = fsyncs_by_checkpoint(tmp_path / "resumed.trace")
    assert sorted(fresh) == list(range(1, STEPS + 1)) and sorted(resumed) == list(range(3, STEPS + 1)), \
        "the traces do not show one staged write per checkpoint"

    out = tmp_path / "out"
    rng = random.Random(20261201)
    kills = during_write = 0
    for attempt in range(60):
        done = checkpoint_steps(out)
        last = done[-1] if done else 0
        resume = ["--resume_from_checkpoint", "last"] if done else []
        args = train_args(embedtune_bin, testdata, data, out, *resume)
        if last > STEPS - 4:
            # The rest runs uninterrupted.
            result = subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            assert result.returncode == 0, result.stderr
            break
        if attempt % 2 == 0:
            process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + rng.uniform(0, 1.1 * to_first_checkpoint)
            while time.monotonic() < deadline and not (out / f"checkpoint-{last + 1}").is_dir():
                time.sleep(0.001)
            assert process.poll() is None, "the run ended before its kill"
            process.send_signal(signal.SIGKILL)
            process.wait()
            during_write += bool(staged_by(out, str(process.pid)))
        else:
            # The calls of this process's second checkpoint write (the profile resumed from 2).
            fsync = rng.choice(resumed[4] if done else fresh[2])
            process = subprocess.run(traced(args, tmp_path / "attempt.trace", fsync),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            assert process.returncode == -signal.SIGKILL, process.stderr
            pid = (tmp_path / "attempt.trace").read_text().split(maxsplit=1)[0]
            assert checkpoint_steps(out)[-1] == last + 1 and staged_by(out, pid) == [last + 2], \
                f"the kill at fsync {fsync} did not land inside the write of checkpoint-{last + 2}"
            during_write += 1
        kills += 1
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


def test_a_checkpoint_older_than_a_setting_resumes_at_its_default_only(embedtune_bin, testdata, data, reference,
                                                                       tmp_path):
    # A checkpoint written before column_forwards existed: its run did what the default does.
    import json

    out = tmp_path / "out"
    shutil.copytree(reference, out)
    checkpoint = out / f"checkpoint-{STEPS - 2}"
    resume = json.loads((checkpoint / "resume.json").read_text())
    assert resume["settings"].pop("column_forwards") == "auto"
    (checkpoint / "resume.json").write_text(json.dumps(resume))
    import xxhash  # datasets' dependency

    manifest = json.loads((checkpoint / "manifest.json").read_text())
    data_bytes = (checkpoint / "resume.json").read_bytes()
    manifest["files"]["resume.json"] = {"size": len(data_bytes), "xxh64": xxhash.xxh64_hexdigest(data_bytes)}
    (checkpoint / "manifest.json").write_text(json.dumps(manifest))
    (out / "model.safetensors").unlink()

    refused = subprocess.run(train_args(embedtune_bin, testdata, data, out, "--resume_from_checkpoint", checkpoint,
                                        "--column_forwards", "together"), capture_output=True, text=True)
    assert refused.returncode == 1
    assert (f"{checkpoint}: the checkpoint was trained with column_forwards = (not recorded), this run has "
            f"\"together\"") in refused.stderr.strip().splitlines()[-1]
    resumed = subprocess.run(train_args(embedtune_bin, testdata, data, out, "--resume_from_checkpoint", checkpoint),
                             capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert (out / "model.safetensors").read_bytes() == (reference / "model.safetensors").read_bytes()


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
