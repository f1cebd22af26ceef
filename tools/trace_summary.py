#!/usr/bin/env python3
"""Where the time of profiled training steps went, from the Chrome trace `EMBEDTUNE_PROFILE=FILE
embedtune train ...` writes (or any trace torch.profiler exports with ProfilerStep#N spans).

    tools/trace_summary.py TRACE [--top 15] [--json]

Per step, averaged over the profiled steps:
- wall: the ProfilerStep#N spans on the host;
- host: the operators dispatched (every thread's cpu_op events inside the spans) and the kernel
  launches issued (cudaLaunchKernel and its kin, cudaGraphLaunch counted apart);
- device: the time some kernel, copy or memset ran (their intervals merged, across streams), and
  its share of the wall time. A share well below 1 means the device waited for the host;
- the device time by kind (matrix products, attention, the optimizer, copies, the rest) and the
  kernels that took the most.
On the CPU there is no device timeline: the device figures are 0.

Standard library only.
"""
from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
from pathlib import Path

DEVICE_CATEGORIES = ("kernel", "gpu_memcpy", "gpu_memset")
KINDS = (  # first match wins; `copy` is taken from the event category
    ("matmul", re.compile(r"gemm|xmma|nvjet|cutlass|cublas|wgmma", re.I)),
    ("attention", re.compile(r"flash|fmha|attention", re.I)),
    ("optimizer", re.compile(r"adam|multi_tensor|foreach", re.I)),
)
LAUNCH = re.compile(r"^(cudaLaunchKernel|cudaLaunchKernelExC|cuLaunchKernel|cuLaunchKernelEx|cudaLaunchCooperativeKernel)")
GRAPH_LAUNCH = re.compile(r"^(cudaGraphLaunch|cuGraphLaunch)")
STEP = re.compile(r"^ProfilerStep#(\d+)$")


class TraceError(ValueError):
    """A trace this tool cannot summarize; the message says why and what to give it."""


def load(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as f:
            trace = json.load(f)
    except (OSError, ValueError) as error:
        raise TraceError(f"{path}: cannot read it as a Chrome trace ({error}); "
                         "give the file EMBEDTUNE_PROFILE wrote")
    events = trace.get("traceEvents") if isinstance(trace, dict) else trace
    if not isinstance(events, list):
        raise TraceError(f"{path}: expected a JSON object with 'traceEvents', found none")
    return [e for e in events if isinstance(e, dict) and e.get("ph") == "X" and "dur" in e and "ts" in e]


def merged_length(intervals: list[tuple[float, float]]) -> float:
    """The length of the union of [start, end) intervals."""
    total, end = 0.0, None
    for start, stop in sorted(intervals):
        if end is None or start > end:
            total += stop - start
            end = stop
        elif stop > end:
            total += stop - end
            end = stop
    return total


def kind(event: dict) -> str:
    if event.get("cat") != "kernel":
        return "copy"
    for name, pattern in KINDS:
        if pattern.search(event.get("name", "")):
            return name
    return "other"


def summarize(events: list[dict], top: int = 15) -> dict:
    steps = sorted(((int(m.group(1)), e) for e in events
                    if e.get("cat") == "user_annotation" and (m := STEP.match(str(e.get("name", ""))))),
                   key=lambda s: s[0])
    if not steps:
        raise TraceError("the trace has no ProfilerStep#N spans; profile with "
                         "EMBEDTUNE_PROFILE (or torch.profiler with a schedule)")
    n = len(steps)
    start = min(e["ts"] for _, e in steps)
    end = max(e["ts"] + e["dur"] for _, e in steps)
    wall_us = sum(e["dur"] for _, e in steps)

    def inside(e):
        return start <= e["ts"] < end

    host = [e for e in events if e.get("cat") == "cpu_op" and inside(e)]
    runtime = [e for e in events if e.get("cat") in ("cuda_runtime", "cuda_driver") and inside(e)]
    # The device runs behind the host: its work for these steps is what the host launched in them
    # (linked by correlation id), else, where the trace has no links, what ran from the first step's
    # start on.
    launched = {e["args"]["correlation"] for e in runtime if isinstance(e.get("args"), dict)
                and "correlation" in e["args"]}
    device = [e for e in events if e.get("cat") in DEVICE_CATEGORIES]
    if launched:
        device = [e for e in device if isinstance(e.get("args"), dict) and e["args"].get("correlation") in launched]
    else:
        device = [e for e in device if e["ts"] >= start]
    busy_us = merged_length([(e["ts"], e["ts"] + e["dur"]) for e in device])
    by_kind: dict[str, float] = {}
    by_kernel: dict[str, list[float]] = {}
    for e in device:
        k = kind(e)
        by_kind[k] = by_kind.get(k, 0.0) + e["dur"]
        entry = by_kernel.setdefault(e.get("name", "?"), [0, 0.0])
        entry[0] += 1
        entry[1] += e["dur"]
    per_step = lambda us: round(us / n / 1e3, 3)  # noqa: E731 (ms a step)
    kernels = sorted(by_kernel.items(), key=lambda kv: -kv[1][1])[:top]
    return {
        "steps": [s for s, _ in steps],
        "wall_ms_per_step": per_step(wall_us),
        "host_ops_per_step": round(len(host) / n, 1),
        "kernel_launches_per_step": round(sum(bool(LAUNCH.match(e.get("name", ""))) for e in runtime) / n, 1),
        "graph_launches_per_step": round(sum(bool(GRAPH_LAUNCH.match(e.get("name", ""))) for e in runtime) / n, 1),
        "device_kernels_per_step": round(len(device) / n, 1),
        "device_busy_ms_per_step": per_step(busy_us),
        "device_busy_share": round(busy_us / wall_us, 4) if wall_us else None,
        "device_ms_per_step_by_kind": {k: per_step(v) for k, v in sorted(by_kind.items(), key=lambda kv: -kv[1])},
        "top_kernels": [{"name": name[:160], "calls_per_step": round(count / n, 1), "ms_per_step": per_step(us)}
                        for name, (count, us) in kernels],
    }


def render(summary: dict) -> str:
    lines = [
        f"steps {summary['steps'][0]}-{summary['steps'][-1]}: {summary['wall_ms_per_step']:.2f} ms a step (wall)",
        f"  host:   {summary['host_ops_per_step']:.0f} operators, {summary['kernel_launches_per_step']:.0f} kernel "
        f"launches, {summary['graph_launches_per_step']:.0f} graph launches a step",
        f"  device: busy {summary['device_busy_ms_per_step']:.2f} ms a step "
        f"({100 * (summary['device_busy_share'] or 0):.1f}% of the wall time), "
        f"{summary['device_kernels_per_step']:.0f} kernels and copies",
    ]
    for k, ms in summary["device_ms_per_step_by_kind"].items():
        lines.append(f"    {k:<10} {ms:8.3f} ms")
    if summary["top_kernels"]:
        lines.append("  the kernels that took the most (ms a step, calls a step):")
        for k in summary["top_kernels"]:
            lines.append(f"    {k['ms_per_step']:8.3f} {k['calls_per_step']:6.1f}  {k['name'][:100]}")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("trace", type=Path, help="the Chrome trace (JSON, or .json.gz)")
    p.add_argument("--top", type=int, default=15, help="how many kernels to list (default 15)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = p.parse_args(argv)
    try:
        summary = summarize(load(args.trace), args.top)
    except TraceError as error:
        print(f"trace_summary: {error}", file=sys.stderr)
        return 1
    print(json.dumps(summary, indent=2) if args.json else render(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
