#!/usr/bin/env python3
"""Runs every libFuzzer target of a `make fuzz` build for a bounded time, one after another, and
reports executions, corpus size and findings per target.

Each target fuzzes a working copy of its corpus, BUILD/fuzz-corpus/<target>/ (the committed seeds
and regression inputs are copied in at every run, and what libFuzzer adds stays there for the next
run; the committed corpus never grows). Findings (crash-*, leak-*, timeout-*, oom-* inputs) go to
BUILD/fuzz-findings/<target>/, the log to BUILD/fuzz-logs/<target>.log. Writes
BUILD/fuzz-summary.json and appends it to BUILD/fuzz-history.jsonl. Exits 1 when a target has a
finding, 2 when the build is missing.
"""
import argparse
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FINDING_PREFIXES = ("crash-", "leak-", "timeout-", "oom-")


def copy_seeds(sources, work: Path) -> None:
    work.mkdir(parents=True, exist_ok=True)
    for source in sources:
        if not source.is_dir():
            continue
        for path in sorted(source.iterdir()):
            if path.is_file() and not (work / path.name).exists():
                shutil.copyfile(path, work / path.name)


def run_target(target: dict, build: Path, seconds: int, rss_limit_mb: int, timeout_s: int) -> dict:
    name = target["name"]
    work = build / "fuzz-corpus" / name
    findings_dir = build / "fuzz-findings" / name
    log_path = build / "fuzz-logs" / f"{name}.log"
    copy_seeds([Path(target["corpus"]), Path(target["regressions"])], work)
    findings_dir.mkdir(parents=True, exist_ok=True)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    before = {p.name for p in findings_dir.iterdir()}
    command = [target["binary"], f"-max_total_time={seconds}", f"-rss_limit_mb={rss_limit_mb}",
               f"-malloc_limit_mb={rss_limit_mb // 2}", f"-timeout={timeout_s}",
               f"-max_len={target['max_len']}", f"-artifact_prefix={findings_dir}/",
               "-print_final_stats=1", str(work)]
    if target["dict"]:
        command.insert(1, f"-dict={target['dict']}")
    env = dict(os.environ, UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
    start = time.monotonic()
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        rc = process.wait()
    # A target that aborts on a finding skips its exit handler, which removes its scratch folder.
    for scratch in (Path("/dev/shm"), Path(tempfile.gettempdir())):
        shutil.rmtree(scratch / f"embedtune-fuzz-{process.pid}", ignore_errors=True)
    elapsed = time.monotonic() - start
    text = log_path.read_text(errors="replace")
    stats = dict(re.findall(r"^stat::(\w+):\s+(\d+)", text, re.M))
    coverage = re.findall(r"cov: (\d+) ft: (\d+)", text)
    new = sorted(p for p in os.listdir(findings_dir) if p not in before)
    findings = [str(findings_dir / p) for p in new if p.startswith(FINDING_PREFIXES)]
    if rc != 0 and not findings:  # e.g. the target could not start
        findings = [f"exit status {rc}, no input saved; see {log_path}"]
    return {
        "target": name,
        "seconds": round(elapsed, 1),
        "executions": int(stats.get("number_of_executed_units", 0)),
        "executions_per_second": int(stats.get("average_exec_per_sec", 0)),
        "peak_rss_mb": int(stats.get("peak_rss_mb", 0)),
        "corpus_files": sum(1 for p in work.iterdir() if p.is_file()),
        "coverage_edges": int(coverage[-1][0]) if coverage else 0,
        "coverage_features": int(coverage[-1][1]) if coverage else 0,
        "findings": findings,
        "log": str(log_path),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", type=Path, default=Path("build-fuzz"))
    parser.add_argument("--seconds", type=int, default=60, help="fuzzing time per target")
    parser.add_argument("--rss-limit-mb", type=int, default=2048)
    parser.add_argument("--timeout", type=int, default=10, help="seconds one input may take")
    parser.add_argument("targets", nargs="*", help="targets to run (default: all)")
    args = parser.parse_args()

    manifest = args.build / "fuzz" / "targets.jsonl"
    if not manifest.exists():
        print(f"{manifest}: not found; build the fuzz targets first (make fuzz)", file=sys.stderr)
        return 2
    targets = [json.loads(line) for line in manifest.read_text().splitlines() if line.strip()]
    if args.targets:
        unknown = set(args.targets) - {t["name"] for t in targets}
        if unknown:
            print(f"unknown targets {sorted(unknown)}; known: {[t['name'] for t in targets]}",
                  file=sys.stderr)
            return 2
        targets = [t for t in targets if t["name"] in args.targets]

    results = []
    for target in targets:
        print(f"fuzz: {target['name']} for {args.seconds} s ...", flush=True)
        results.append(run_target(target, args.build, args.seconds, args.rss_limit_mb,
                                  args.timeout))

    header = f"{'target':<17} {'seconds':>8} {'executions':>12} {'exec/s':>8} {'corpus':>7} " \
             f"{'edges':>6} {'findings':>8}"
    print("\n" + header + "\n" + "-" * len(header))
    for r in results:
        print(f"{r['target']:<17} {r['seconds']:>8.0f} {r['executions']:>12,} "
              f"{r['executions_per_second']:>8,} {r['corpus_files']:>7} {r['coverage_edges']:>6} "
              f"{len(r['findings']):>8}")
    for r in results:
        for finding in r["findings"]:
            print(f"finding: {r['target']}: {finding} (log: {r['log']})")

    summary = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "seconds_per_target": args.seconds,
        "targets": results,
    }
    (args.build / "fuzz-summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    with open(args.build / "fuzz-history.jsonl", "a") as history:
        history.write(json.dumps(summary) + "\n")
    print(f"\nsummary: {args.build / 'fuzz-summary.json'}")
    return 1 if any(r["findings"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
