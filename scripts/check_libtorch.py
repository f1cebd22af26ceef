#!/usr/bin/env python3
"""Checks that embedtune compiles against the LibTorch of several torch releases.

The README says the code builds against a CUDA LibTorch 2.4 or newer; `make build-cuda` proves it
for one release (2.14.1). This script proves the rest without installing them: for each release it
downloads PyPI's CUDA wheel of torch (no dependencies; cached), unpacks only its headers, and
compiles every C++ source of the CUDA configuration (the tests and NCCL included) with
-fsyntax-only against those headers. A failing file prints the compiler's first errors.

It checks the API (every signature, overload and type embedtune uses), not linking: a pip wheel
before 2.7 is built with the old C++ ABI (_GLIBCXX_USE_CXX11_ABI=0), which linking with Debian's
libraries would need too (LibTorch's own cxx11-ABI archives avoid that).

    python3 scripts/check_libtorch.py [VERSION ...]     (default: 2.4.0 2.11.0)

The CUDA configuration comes from scripts/setup-cuda.sh (its .venv-cuda and toolkit), configured
into .libtorch-check/build; wheels and headers go under .libtorch-check/ too.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".libtorch-check"
BUILD = CACHE / "build"
DEFAULT_VERSIONS = ["2.4.0", "2.11.0"]


def fail(message: str) -> None:
    print(f"check_libtorch: {message}", file=sys.stderr)
    sys.exit(1)


def configure() -> Path:
    """The CUDA configuration's compile_commands.json, tests and NCCL included (nothing built)."""
    setup = subprocess.run(["bash", "scripts/setup-cuda.sh"], cwd=ROOT, stdout=subprocess.PIPE,
                           text=True)
    if setup.returncode != 0:
        fail("scripts/setup-cuda.sh failed (its message is above); the check needs its CUDA "
             "torch and toolkit")
    python = ROOT / ".venv" / "bin" / "python"
    command = ["cmake", "-S", str(ROOT), "-B", str(BUILD), "-G", "Ninja",
               "-DCMAKE_BUILD_TYPE=Release", "-DEMBEDTUNE_TESTS=ON", "-DEMBEDTUNE_PARQUET=OFF",
               f"-DEMBEDTUNE_PYTHON={python}", *setup.stdout.split("\n")]
    result = subprocess.run([c for c in command if c], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    if result.returncode != 0:
        print(result.stdout[-4000:], file=sys.stderr)
        fail(f"configuring the CUDA build in {BUILD} failed (cmake's output is above)")
    if "EMBEDTUNE_WITH_NCCL 1" not in (BUILD / "generated/distributed/distributed_config.h").read_text():
        fail("the CUDA configuration found no nccl.h, so the NCCL code would go unchecked; "
             "install nvidia-nccl beside torch in .venv-cuda")
    return BUILD / "compile_commands.json"


def headers(version: str) -> Path:
    """torch/include of `version`'s CUDA wheel for this Python, downloaded once."""
    target = CACHE / version
    include = target / "torch" / "include"
    if (target / ".complete").exists():
        return include
    wheels = CACHE / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    found = sorted(wheels.glob(f"torch-{version}-*.whl"))
    if not found:
        print(f"check_libtorch: downloading torch=={version} (one wheel, no dependencies)",
              flush=True)
        result = subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps",
                                 "--only-binary=:all:", f"torch=={version}", "-d", str(wheels)])
        found = sorted(wheels.glob(f"torch-{version}-*.whl"))
        if result.returncode != 0 or not found:
            fail(f"pip could not download torch=={version} for this Python; name a release "
                 "PyPI has for it")
    shutil.rmtree(target, ignore_errors=True)
    with zipfile.ZipFile(found[0]) as wheel:
        members = [m for m in wheel.namelist()
                   if m.startswith("torch/include/") or m == "torch/version.py"]
        wheel.extractall(target, members)
        cuda = re.search(r"^cuda\W.*?=\s*'([^']*)'", wheel.read("torch/version.py").decode(), re.M)
    if not cuda:
        fail(f"{found[0].name} is a CPU-only build; the check needs a CUDA wheel")
    (target / ".complete").write_text(cuda.group(1))
    return include


def version_commands(database: Path, include: Path, workdir: Path):
    """The compile commands against `include` for torch's headers, writing nothing but the shared
    precompiled header (rebuilt per release under `workdir`): (its command, [(source, command)])."""
    pch_dir = workdir / "pch"
    pch_dir.mkdir(exist_ok=True)
    pch, commands = None, []
    for entry in json.loads(database.read_text()):
        argv = shlex.split(entry["command"])
        torch_include = next((a for a in argv if a.endswith("/torch/include")), None)
        if torch_include is None:
            continue  # a plain C++ layer: no LibTorch header
        argv = [a.replace(torch_include, str(include)) for a in argv]
        if "-include" in argv:  # the LibTorch targets' shared precompiled header, this release's copy
            header = Path(argv[argv.index("-include") + 1])
            local = pch_dir / header.name
            if not local.exists():
                local.write_text(header.read_text())
            argv[argv.index("-include") + 1] = str(local)
        out = argv.index("-o")
        if entry["file"].endswith("cmake_pch.hxx.cxx"):
            argv[out + 1] = str(pch_dir / "cmake_pch.hxx.gch")
            pch = (entry["file"], argv)
        else:
            del argv[out:out + 2]
            commands.append((entry["file"], [*argv, "-fsyntax-only"]))
    return pch, commands


def check(version: str, database: Path, jobs: int) -> bool:
    include = headers(version)
    pch, commands = version_commands(database, include, CACHE / version)
    print(f"check_libtorch: torch {version} (CUDA {(CACHE / version / '.complete').read_text()}): "
          f"{len(commands)} files", flush=True)

    def compile_one(item):
        source, argv = item
        result = subprocess.run(argv, cwd=BUILD, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        return source, result.returncode, result.stdout

    failures = []

    def report(done, source, code, output):
        name = os.path.relpath(source, ROOT)
        print(f"  [{done}/{len(commands)}] {'ok' if code == 0 else 'FAILED'} {name}", flush=True)
        if code != 0:
            failures.append(name)
            for line in [line for line in output.splitlines() if "error" in line][:8]:
                print(f"    {line}", flush=True)

    if pch:
        # Once, for every LibTorch target (they share it, as in the build); a failure here is
        # src/torch_pch.h's, and the sources then parse the headers themselves.
        report(0, *compile_one(pch))
    # The headers read are this release's, not the configuration's own torch: a probe that only
    # compiles where TORCH_VERSION is `version`.
    major, minor = version.split(".")[:2]
    probe = CACHE / version / "version_probe.cc"
    probe.write_text('#include "model/libtorch_version.h"\n'
                     f"static_assert(TORCH_VERSION_MAJOR == {major} && TORCH_VERSION_MINOR == {minor},"
                     ' "the check reads another release\'s headers");\n')
    source, argv = commands[0]
    _, code, output = compile_one((str(probe), [str(probe) if a == source else a for a in argv]))
    if code != 0:
        print(output[-2000:])
        fail(f"the compile commands did not read torch {version}'s headers (the probe above)")
    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        futures = [pool.submit(compile_one, item) for item in commands]
        for done, future in enumerate(concurrent.futures.as_completed(futures), 1):
            report(done, *future.result())
    print(f"check_libtorch: torch {version}: "
          + (f"{len(failures)} failures" if failures else
             f"all {len(commands)} files compile"), flush=True)
    return not failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("versions", nargs="*", default=DEFAULT_VERSIONS,
                        help=f"torch releases (default: {' '.join(DEFAULT_VERSIONS)})")
    parser.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    database = configure()
    results = [check(version, database, args.jobs) for version in args.versions]
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
