"""Shared fixtures for the parity tests: where things are, and how to run embedtune."""
import os
import pathlib
import signal
import subprocess
import time

import pytest

DOCS = pathlib.Path("/usr/share/doc/python3.11/html/_sources")


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"environment variable {name} is not set: run the tests through ctest (make test)")
    return value


@pytest.fixture(scope="session")
def embedtune_bin() -> pathlib.Path:
    path = pathlib.Path(_env("EMBEDTUNE_BIN"))
    if not path.exists():
        pytest.fail(f"embedtune executable {path} does not exist: build it first (make build)")
    return path


@pytest.fixture(scope="session")
def testdata() -> pathlib.Path:
    return pathlib.Path(_env("EMBEDTUNE_TESTDATA"))


@pytest.fixture(scope="session")
def default_model() -> pathlib.Path:
    path = pathlib.Path(_env("EMBEDTUNE_DEFAULT_MODEL"))
    if not (path / "model.safetensors").exists():
        pytest.fail(f"default model missing at {path}: run scripts/setup.sh")
    return path


@pytest.fixture(scope="session")
def run(embedtune_bin):
    """Runs `embedtune ARGS...`; returns the CompletedProcess (text mode). check=True by default."""

    def _run(*args, check=True, **kwargs):
        result = subprocess.run([str(embedtune_bin), *map(str, args)], capture_output=True, text=True, **kwargs)
        if check and result.returncode != 0:
            raise AssertionError(f"embedtune {' '.join(map(str, args))} failed ({result.returncode}):\n{result.stderr}")
        return result

    return _run


def docs_texts(limit: int, min_chars: int = 1) -> list[str]:
    """Paragraphs of the installed Python documentation, in a fixed order (never committed)."""
    if not DOCS.exists():
        pytest.fail(f"{DOCS} is missing: install Debian's python3.11-doc (scripts/setup.sh does)")
    texts = []
    for path in sorted(DOCS.rglob("*.txt")):
        for para in path.read_text(encoding="utf-8").split("\n\n"):
            para = para.strip()
            if len(para) >= min_chars:
                texts.append(para)
            if len(texts) >= limit:
                return texts
    return texts


def make_pairs(folder: pathlib.Path, rows: int = 64, test_rows: int = 16) -> pathlib.Path:
    """train.jsonl and test.jsonl of made-up (anchor, positive) pairs with distinct words, as
    `embedtune prepare` writes them; returns the folder."""
    import json

    folder.mkdir(parents=True, exist_ok=True)
    words = ["river", "stone", "cloud", "lamp", "garden", "engine", "window", "forest"]
    with open(folder / "train.jsonl", "w") as train, open(folder / "test.jsonl", "w") as test:
        for i in range(rows):
            a, b = words[i % 8], words[(i * 3 + 1) % 8]
            row = {"id": i, "anchor": f"where is the {a} {b} {i}?", "positive": f"The {a} is by the {b}, item {i}."}
            (train if i < rows - test_rows else test).write(json.dumps(row) + "\n")
    return folder


def interrupt_after_logged_steps(command, output_dir: pathlib.Path, steps: int, env=None):
    """Starts `command` (an `embedtune train` writing OUTPUT_DIR/log.jsonl), sends it SIGINT once
    the log holds `steps` lines (or after 120 s), and returns (returncode, stderr)."""
    process = subprocess.Popen([str(a) for a in command], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=env)
    log = output_dir / "log.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and (not log.exists() or len(log.read_text().splitlines()) < steps):
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    return process.returncode, stderr
