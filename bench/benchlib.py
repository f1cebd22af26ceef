"""Shared helpers for the side-by-side benchmarks: run a command, measure wall time and peak RSS."""
import os
import pathlib
import platform
import subprocess
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
DOCS = pathlib.Path("/usr/share/doc/python3.11/html/_sources")


def threads() -> int:
    """The one thread count every side-by-side benchmark gives both sides: EMBEDTUNE_BENCH_THREADS,
    else every core. The tokenizer benchmark is single-threaded on both sides by definition."""
    return int(os.environ.get("EMBEDTUNE_BENCH_THREADS", os.cpu_count()))


def env(**extra: str) -> dict:
    """The environment for both sides of a benchmark: the same OpenMP/MKL thread count (LibTorch's
    and PyTorch's intra-op pools read OMP_NUM_THREADS), Hub offline, no progress output."""
    n = str(threads())
    return dict(os.environ, OMP_NUM_THREADS=n, MKL_NUM_THREADS=n, HF_HUB_OFFLINE="1",
                EMBEDTUNE_PROGRESS="0", TOKENIZERS_PARALLELISM="false", **extra)


def default_model() -> pathlib.Path:
    out = subprocess.run([PYTHON, str(ROOT / "scripts" / "default_model.py")], capture_output=True, text=True, check=True)
    return pathlib.Path(out.stdout.strip())


def measure(cmd: list[str], env: dict | None = None) -> dict:
    """Runs cmd to completion; returns wall seconds, the peak RSS of exactly this process (MiB,
    read through os.wait4), and its stdout and stderr. Raises RuntimeError on a non-zero exit."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        result = {"wall_s": wall, "peak_rss_mib": usage.ru_maxrss / 1024, "stdout": out.read(), "stderr": err.read()}
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({proc.returncode}):\n{result['stderr'][-3000:]}")
    return result


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


def docs_paragraphs(count: int, min_chars: int = 20) -> list[str]:
    """`count` paragraphs of the installed Python docs, spread over all files, fixed order."""
    paragraphs = []
    for path in sorted(DOCS.rglob("*.txt")):
        for para in path.read_text(encoding="utf-8").split("\n\n"):
            para = " ".join(para.split())
            if len(para) >= min_chars:
                paragraphs.append(para)
    step = max(1, len(paragraphs) // count)
    return paragraphs[::step][:count]


def prepared_train(tmp: pathlib.Path, embedtune_bin: str) -> str:
    """The documentation-QA dataset built in `tmp` and split by `embedtune prepare`: its train.jsonl."""
    subprocess.run([PYTHON, str(ROOT / "tools" / "build_docs_dataset.py"), "--output", str(tmp / "d.jsonl")],
                   check=True, capture_output=True)
    subprocess.run([embedtune_bin, "prepare", "--input", str(tmp / "d.jsonl"), "--output", str(tmp / "s")],
                   check=True, capture_output=True)
    return str(tmp / "s" / "train.jsonl")
