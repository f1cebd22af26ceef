"""Makes every generated test input and oracle output, once per test run, before any test.

Runs each tests/python/oracle_*.py as `python oracle_X.py OUTDIR/X` (X: the part after `oracle_`).
A script is re-run only when it, or this file, changed since its last successful run.
"""
import hashlib
import os
import pathlib
import subprocess
import sys

here = pathlib.Path(__file__).resolve().parent
out = pathlib.Path(sys.argv[1]).resolve()
out.mkdir(parents=True, exist_ok=True)
env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONHASHSEED="0")
failed = []
for script in sorted(here.glob("oracle_*.py")):
    name = script.stem[len("oracle_"):]
    target = out / name
    digest = hashlib.sha256(script.read_bytes() + pathlib.Path(__file__).read_bytes()).hexdigest()
    stamp = target / ".done"
    if stamp.exists() and stamp.read_text() == digest:
        continue
    target.mkdir(parents=True, exist_ok=True)
    print(f"make_testdata: {script.name} -> {target}", flush=True)
    result = subprocess.run([sys.executable, str(script), str(target)], env=env)
    if result.returncode != 0:
        failed.append(script.name)
        continue
    stamp.write_text(digest)
if failed:
    sys.exit(f"make_testdata: failed: {', '.join(failed)}")
