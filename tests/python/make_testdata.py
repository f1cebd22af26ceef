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
    trained on.
"""
import hashlib
import importlib.metadata
import os
import pathlib
import platform
import re
import subprocess
import sys

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


def main() -> None:
    out = pathlib.Path(sys.argv[1]).resolve()
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONHASHSEED="0")
    shared = shared_inputs(here.parent.parent, os.environ.get("EMBEDTUNE_DEFAULT_MODEL", ""))
    failed = []
    for script in sorted(here.glob("oracle_*.py")):
        name = script.stem[len("oracle_"):]
        target = out / name
        digest = oracle_digest(shared, script.read_bytes() + imported_oracles(script),
                               ORACLE_INPUTS.get(name, []))
        stamp = target / ".done"
        if stamp.exists() and stamp.read_text() == digest:
            continue
        target.mkdir(parents=True, exist_ok=True)
        stamp.unlink(missing_ok=True)  # a run that dies half-way must not look finished
        print(f"make_testdata: {script.name} -> {target}", flush=True)
        result = subprocess.run([sys.executable, str(script), str(target)], env=env)
        if result.returncode != 0:
            failed.append(script.name)
            continue
        stamp.write_text(digest)
    if failed:
        sys.exit(f"make_testdata: failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
