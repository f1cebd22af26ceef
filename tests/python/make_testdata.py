"""Makes every generated test input and oracle output, once per test run, before any test.

Runs each tests/python/oracle_*.py as `python oracle_X.py OUTDIR/X` (X: the part after `oracle_`).
A script is re-run unless its last successful run had the same inputs. What counts as an input
(the digest in OUTDIR/X/.done):
  - the script itself and this file, and the oracle_*.py modules it imports;
  - every golden input under tests/data/;
  - the default model folder ($EMBEDTUNE_DEFAULT_MODEL): every file's name and bytes;
  - the oracle's pinned versions (scripts/requirements-oracle.txt) and the versions actually
    installed (Python, torch, sentence-transformers, transformers, tokenizers, numpy, safetensors,
    sentencepiece);
  - the files outside the repository an oracle reads (ORACLE_INPUTS): the python3.11-doc sources
    (the tokenizer test text) and the standard library modules the tokenizer families are
    trained on;
  - what picks the CPU kernels (kernel_selection): the CPU's name and instruction sets, and the
    variables that cap them or set thread counts. Expected values made with other kernels (a
    build folder carried to another machine, or `make check-cpus`) differ in the last bits, and
    the parity tests compare to 1e-5.

The oracles run side by side, as many at once as there are CPUs (EMBEDTUNE_TESTDATA_JOBS), the
longest first; each keeps the thread settings of the test environment, so its outputs do not
depend on what runs beside it. An oracle that copies another's outputs (AFTER) starts when that
one has finished.
"""
import concurrent.futures
import hashlib
import importlib.metadata
import os
import pathlib
import platform
import re
import subprocess
import sys
import time

here = pathlib.Path(__file__).resolve().parent
ORACLE_PACKAGES = ["torch", "sentence-transformers", "transformers", "tokenizers", "numpy", "safetensors",
                   "sentencepiece"]
DOCS = pathlib.Path("/usr/share/doc/python3.11/html/_sources")
STDLIB = pathlib.Path("/usr/lib/python3.11")
# Per oracle: (label, folder, glob) of the outside files it reads.
ORACLE_INPUTS = {
    "tokenizer": [("docs", DOCS, "**/*.txt")],
    "tokenizer_families": [("docs", DOCS, "**/*.txt"), ("stdlib", STDLIB, "*.py")],
}
# Oracles that copy another's outputs (the tiny models in OUTDIR/models) rather than make them again.
AFTER = {"gist": ["models"], "losses": ["models"]}
# Started first, the longest first (about 220, 110, 40 and 40 s on 2 cores); the others take less.
LONGEST = ["tokenizer_families", "tokenizer", "models", "quantization"]


def hash_files(digest, folder: pathlib.Path, pattern: str, label: str) -> None:
    """Adds the files of `folder` matching `pattern` (relative name and bytes, sorted)."""
    files = sorted(p for p in folder.glob(pattern) if p.is_file()) if folder.is_dir() else []
    digest.update(f"{label}: {len(files)} files\n".encode())
    for path in files:
        digest.update(f"{label}/{path.relative_to(folder).as_posix()}\n".encode())
        digest.update(path.read_bytes())


def hash_tree(digest, folder: pathlib.Path, label: str) -> None:
    """Adds every file below `folder` (relative name and bytes, in sorted order) to `digest`."""
    if not folder.is_dir():
        digest.update(f"{label}: missing\n".encode())
        return
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(f"{label}/{path.relative_to(folder).as_posix()}\n".encode())
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)


# The variables that change which CPU kernels the oracle's torch runs, or how they split the work.
KERNEL_VARIABLES = ["ATEN_CPU_CAPABILITY", "DNNL_MAX_CPU_ISA", "ONEDNN_MAX_CPU_ISA", "MKL_ENABLE_INSTRUCTIONS",
                    "MKL_CBWR", "MKL_DEBUG_CPU_TYPE", "OMP_NUM_THREADS", "MKL_NUM_THREADS"]


def kernel_selection() -> str:
    """The CPU (its name and instruction-set flags, as /proc/cpuinfo gives them for the first core)
    and the KERNEL_VARIABLES: what decides which kernels, and so which roundings, torch uses."""
    cpu = {}
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if not line.strip():
                    break  # the first core is enough
                key, _, value = line.partition(":")
                if key.strip() in ("vendor_id", "model name", "flags"):
                    cpu[key.strip()] = value.strip()
    except OSError:
        cpu["machine"] = f"{platform.machine()} {platform.processor()}"
    variables = [f"{name}={os.environ.get(name, '')}" for name in KERNEL_VARIABLES]
    return "\n".join([f"{k}: {v}" for k, v in sorted(cpu.items())] + variables) + "\n"


def shared_inputs(source: pathlib.Path, model: str) -> bytes:
    """The digest of everything every oracle depends on besides its own script: this file, the
    golden inputs of the source tree `source`, the model folder `model` and the versions."""
    digest = hashlib.sha256()
    digest.update(pathlib.Path(__file__).read_bytes())
    hash_tree(digest, source / "tests" / "data", "tests/data")
    digest.update(f"default model: {model}\n".encode())
    if model:
        hash_tree(digest, pathlib.Path(model), "model")
    requirements = source / "scripts" / "requirements-oracle.txt"
    digest.update(requirements.read_bytes() if requirements.exists() else b"no requirements file")
    digest.update(f"python {platform.python_version()}\n".encode())
    digest.update(kernel_selection().encode())
    for package in ORACLE_PACKAGES:
        try:
            version = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            version = "not installed"
        digest.update(f"{package}=={version}\n".encode())
    return digest.digest()


def oracle_digest(shared: bytes, script: bytes, inputs) -> str:
    """The digest of one oracle: the shared inputs, its script and its outside files `inputs`
    ((label, folder, glob) triples, as in ORACLE_INPUTS)."""
    digest = hashlib.sha256(shared + script)
    for label, folder, pattern in inputs:
        hash_files(digest, folder, pattern, label)
    return digest.hexdigest()


def imported_oracles(script: pathlib.Path) -> bytes:
    """The bytes of the sibling oracle_*.py modules `script` imports (`from oracle_X import ...`),
    so that a change to shared oracle data re-runs every oracle built on it."""
    names = sorted(set(re.findall(r"^(?:from|import) (oracle_\w+)", script.read_text(), re.M)))
    return b"".join(name.encode() + b"\n" + (here / f"{name}.py").read_bytes() for name in names)


def with_dependencies(digests: dict) -> dict:
    """`digests` (name -> (script, digest)) with each AFTER oracle's digest folded together with those
    of the oracles it copies from: a copy is stale whenever its source is."""
    result = dict(digests)
    for name, deps in AFTER.items():
        if name in digests:
            script, digest = digests[name]
            combined = "".join([digest] + [digests[dep][1] for dep in deps])
            result[name] = (script, hashlib.sha256(combined.encode()).hexdigest())
    return result


def run_oracle(script: pathlib.Path, target: pathlib.Path, digest: str, env: dict) -> str:
    """Runs one oracle into `target`; returns "" on success, else its output for the failure report.
    The stamp is written only after a successful run, so a half-made folder never looks finished."""
    target.mkdir(parents=True, exist_ok=True)
    stamp = target / ".done"
    stamp.unlink(missing_ok=True)
    start = time.monotonic()
    result = subprocess.run([sys.executable, str(script), str(target)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, errors="replace")
    seconds = time.monotonic() - start
    if result.returncode != 0:
        return f"{script.name} exited with {result.returncode} after {seconds:.0f} s:\n{result.stdout}"
    stamp.write_text(digest)
    print(f"make_testdata: {script.name} -> {target} ({seconds:.0f} s)", flush=True)
    return ""


def main() -> None:
    out = pathlib.Path(sys.argv[1]).resolve()
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONHASHSEED="0")
    shared = shared_inputs(here.parent.parent, os.environ.get("EMBEDTUNE_DEFAULT_MODEL", ""))
    digests = {}  # name -> (script, digest)
    for script in sorted(here.glob("oracle_*.py")):
        name = script.stem[len("oracle_"):]
        digests[name] = (script, oracle_digest(shared, script.read_bytes() + imported_oracles(script),
                                               ORACLE_INPUTS.get(name, [])))
    digests = with_dependencies(digests)
    pending = {}  # name -> (script, digest) of the oracles whose outputs are missing or stale
    for name, (script, digest) in digests.items():
        stamp = out / name / ".done"
        if not (stamp.exists() and stamp.read_text() == digest):
            pending[name] = (script, digest)
    order = sorted(pending, key=lambda n: (LONGEST.index(n) if n in LONGEST else len(LONGEST), n))
    jobs = max(1, int(os.environ.get("EMBEDTUNE_TESTDATA_JOBS") or os.cpu_count() or 1))
    failed, running = [], {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        while order or running:
            for name in [n for n in order if not any(d in pending for d in AFTER.get(n, []))]:
                if len(running) == jobs:
                    break
                order.remove(name)
                print(f"make_testdata: {pending[name][0].name} started", flush=True)
                running[pool.submit(run_oracle, pending[name][0], out / name, pending[name][1], env)] = name
            done, _ = concurrent.futures.wait(running, return_when=concurrent.futures.FIRST_COMPLETED)
            for future in done:
                name = running.pop(future)
                report = future.result()
                if report:
                    failed.append(f"oracle_{name}.py")
                    print(f"make_testdata: {report}", flush=True)
                del pending[name]  # a failed dependency fails its dependents' tests, not this loop
    if failed:
        sys.exit(f"make_testdata: failed: {', '.join(sorted(failed))}")


if __name__ == "__main__":
    main()
