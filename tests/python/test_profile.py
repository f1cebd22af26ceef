"""EMBEDTUNE_PROFILE: training steps recorded with the PyTorch profiler (Kineto) as a Chrome trace,
and tools/trace_summary.py, which reads where their time went."""
import json
import os
import pathlib
import re
import signal
import subprocess
import sys

from conftest import interrupt_after_logged_steps, make_pairs

SOURCE_DIR = pathlib.Path(os.environ.get("EMBEDTUNE_SOURCE_DIR", pathlib.Path(__file__).resolve().parents[2]))
SUMMARY = SOURCE_DIR / "tools" / "trace_summary.py"


def train_args(testdata, data, out):
    return ["train", "--model", testdata / "models" / "mean", "--train", data / "train.jsonl",
            "--matryoshka_dims", "64,32", "--per_device_train_batch_size", "4", "--max_steps", "4",
            "--save_strategy", "no", "--logging_steps", "1", "--output_dir", out]


def profile_env(**values):
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMBEDTUNE_PROFILE")}
    return {**env, **values}


def summarize(trace: pathlib.Path) -> dict:
    out = subprocess.run([sys.executable, str(SUMMARY), str(trace), "--json"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_profile_records_the_asked_steps_and_changes_nothing(run, tmp_path, testdata):
    data = make_pairs(tmp_path / "data", rows=40)
    trace = tmp_path / "trace.json"
    plain = run(*train_args(testdata, data, tmp_path / "plain"), env=profile_env())
    assert "profiled" not in plain.stderr and not trace.exists()
    profiled = run(*train_args(testdata, data, tmp_path / "profiled"),
                   env=profile_env(EMBEDTUNE_PROFILE=str(trace), EMBEDTUNE_PROFILE_STEPS="2-3"))
    assert f"train: profiled steps 2-3 (" in profiled.stderr and str(trace) in profiled.stderr, profiled.stderr
    # Nothing half-written beside it.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "plain", "profiled", "trace.json"]

    events = json.loads(trace.read_text())["traceEvents"]
    spans = {e["name"]: e for e in events if e.get("cat") == "user_annotation"}
    assert sorted(spans) == ["ProfilerStep#2", "ProfilerStep#3"]
    start = spans["ProfilerStep#2"]["ts"]
    end = spans["ProfilerStep#3"]["ts"] + spans["ProfilerStep#3"]["dur"]
    ops = [e["name"] for e in events if e.get("cat") == "cpu_op" and start <= e["ts"] < end]
    # The forward's matrix products, the backward's autograd nodes and the fused AdamW are inside.
    assert "aten::addmm" in ops or "aten::mm" in ops, sorted(set(ops))[:50]
    assert any(name.startswith("autograd::engine::evaluate_function") for name in ops)
    assert "aten::_fused_adamw_" in ops

    summary = summarize(trace)
    assert summary["steps"] == [2, 3]
    assert summary["host_ops_per_step"] == len(ops) / 2 and summary["host_ops_per_step"] > 100
    assert summary["wall_ms_per_step"] > 0
    # The CPU has no device timeline.
    assert summary["device_busy_ms_per_step"] == 0 and summary["top_kernels"] == []

    # Recording does not touch the training: the same weights, bit for bit, and the same losses.
    from safetensors.numpy import load_file
    a, b = load_file(str(tmp_path / "plain" / "model.safetensors")), load_file(
        str(tmp_path / "profiled" / "model.safetensors"))
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)
    losses = [[(lambda e: e.get("loss", e.get("train_loss")))(json.loads(line)) for line in (tmp_path / d / "log.jsonl").read_text().splitlines()]
              for d in ("plain", "profiled")]
    assert losses[0] == losses[1]


def test_profile_window_the_run_never_reaches_writes_nothing(run, tmp_path, testdata):
    data = make_pairs(tmp_path / "data", rows=40)
    trace = tmp_path / "trace.json"
    out = run(*train_args(testdata, data, tmp_path / "out"), env=profile_env(EMBEDTUNE_PROFILE=str(trace)))
    assert f"train: EMBEDTUNE_PROFILE: no step in 11-15 ran; {trace} not written" in out.stderr, out.stderr
    assert not trace.exists()


def test_a_run_stopped_inside_the_window_writes_the_steps_it_recorded(embedtune_bin, tmp_path, testdata):
    data = make_pairs(tmp_path / "data", rows=400)
    trace, out = tmp_path / "trace.json", tmp_path / "out"
    args = train_args(testdata, data, out)
    args[args.index("--max_steps") + 1] = "90"
    returncode, stderr = interrupt_after_logged_steps(
        [embedtune_bin, *args], out, 4, env=profile_env(EMBEDTUNE_PROFILE=str(trace), EMBEDTUNE_PROFILE_STEPS="2-1000"))
    assert returncode == 128 + signal.SIGINT, stderr
    stopped = int(re.search(r"train: stopped at step (\d+)", stderr).group(1))
    assert 4 <= stopped < 90
    assert f"train: profiled steps 2-{stopped} (" in stderr, stderr
    spans = sorted(int(e["name"].split("#")[1]) for e in json.loads(trace.read_text())["traceEvents"]
                   if e.get("cat") == "user_annotation")
    assert spans == list(range(2, stopped + 1))


def test_profile_settings_that_cannot_work_fail_before_training(run, tmp_path, testdata):
    data = make_pairs(tmp_path / "data", rows=40)
    for steps in ("5-2", "0-3", "eleven", "3-"):
        out = run(*train_args(testdata, data, tmp_path / "out"), check=False,
                  env=profile_env(EMBEDTUNE_PROFILE=str(tmp_path / "t.json"), EMBEDTUNE_PROFILE_STEPS=steps))
        assert out.returncode != 0
        last = out.stderr.strip().splitlines()[-1]
        assert "EMBEDTUNE_PROFILE_STEPS" in last and f"'{steps}'" in last and "FIRST-LAST" in last, out.stderr
        assert "step 1/" not in out.stderr  # no training step ran
    out = run(*train_args(testdata, data, tmp_path / "out"), check=False,
              env=profile_env(EMBEDTUNE_PROFILE=str(tmp_path / "data")))
    assert out.returncode != 0
    assert "EMBEDTUNE_PROFILE" in out.stderr.strip().splitlines()[-1] and str(tmp_path / "data") in out.stderr


def test_trace_summary_merges_the_device_timeline(tmp_path):
    # A trace shaped as Kineto writes one on CUDA (no GPU here to record a real one): two steps of
    # 1 ms on the host; the runtime calls in them launch kernels on two streams that overlap, a
    # copy, and an optimizer kernel; one kernel launched before the window does not count.
    def x(cat, name, ts, dur, **args):
        return {"ph": "X", "cat": cat, "name": name, "ts": ts, "dur": dur, "pid": 0, "tid": 7, "args": args}

    events = [
        x("user_annotation", "ProfilerStep#11", 1000, 1000), x("user_annotation", "ProfilerStep#12", 2000, 1000),
        x("cpu_op", "aten::mm", 1010, 20), x("cpu_op", "aten::addmm", 2010, 20), x("cpu_op", "aten::mm", 900, 20),
        x("cuda_runtime", "cudaLaunchKernel", 1020, 5, correlation=1),
        x("cuda_runtime", "cudaLaunchKernel", 1030, 5, correlation=2),
        x("cuda_runtime", "cudaMemcpyAsync", 2020, 5, correlation=3),
        x("cuda_runtime", "cudaLaunchKernel", 2030, 5, correlation=4),
        x("cuda_runtime", "cudaGraphLaunch", 2040, 5, correlation=5),
        x("kernel", "sm90_xmma_gemm_bf16bf16", 1100, 300, correlation=1),       # 1100-1400
        x("kernel", "pytorch_flash::flash_fwd_kernel", 1300, 300, correlation=2),  # 1300-1600, overlaps
        x("gpu_memcpy", "Memcpy HtoD (Pinned -> Device)", 2200, 100, correlation=3),
        x("kernel", "fused_adamw_kernel", 2500, 200, correlation=4),
        x("kernel", "vectorized_elementwise_kernel", 2800, 50, correlation=5),
        x("kernel", "sm90_xmma_gemm_bf16bf16", 500, 400, correlation=99),        # an earlier step's
    ]
    trace = tmp_path / "trace.json"
    trace.write_text(json.dumps({"traceEvents": events}))
    s = summarize(trace)
    assert s["steps"] == [11, 12] and s["wall_ms_per_step"] == 1.0
    assert s["host_ops_per_step"] == 1.0  # the op at 900 is before the first step
    assert s["kernel_launches_per_step"] == 1.5 and s["graph_launches_per_step"] == 0.5
    assert s["device_kernels_per_step"] == 2.5
    # Busy: 1100-1600 (500), 2200-2300 (100), 2500-2700 (200), 2800-2850 (50) = 850 us over 2 steps.
    assert s["device_busy_ms_per_step"] == 0.425 and s["device_busy_share"] == 0.425
    assert s["device_ms_per_step_by_kind"] == {"matmul": 0.15, "attention": 0.15, "optimizer": 0.1,
                                               "copy": 0.05, "other": 0.025}
    assert [k["name"] for k in s["top_kernels"]][:2] == ["sm90_xmma_gemm_bf16bf16", "pytorch_flash::flash_fwd_kernel"]
    assert s["top_kernels"][0] == {"name": "sm90_xmma_gemm_bf16bf16", "calls_per_step": 0.5, "ms_per_step": 0.15}
    text = subprocess.run([sys.executable, str(SUMMARY), str(trace)], capture_output=True, text=True)
    assert text.returncode == 0 and "steps 11-12: 1.00 ms a step" in text.stdout and "42.5% of the wall" in text.stdout


def test_trace_summary_names_what_it_cannot_read(tmp_path):
    for content, expected in (("{not json", "cannot read it as a Chrome trace"),
                              (json.dumps({"traceEvents": []}), "no ProfilerStep#N spans")):
        trace = tmp_path / "t.json"
        trace.write_text(content)
        out = subprocess.run([sys.executable, str(SUMMARY), str(trace)], capture_output=True, text=True)
        assert out.returncode != 0 and expected in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr
