"""The whole workflow side by side: `embedtune run RECIPE` against the reference notebook written
with sentence-transformers (st_workflow.py), same recipe, model and prepared splits, each in its
own process. Reports NDCG@10 per Matryoshka dim of both sides (baseline and fine-tuned) and their
differences, wall seconds per stage (embedtune's from the run folder's timings.json; mine too when
the recipe has a mine: section), totals and
their ratio, and the peak RSS of each process (os.wait4, benchlib.measure).

Usage: bench_workflow.py --bin build/embedtune [--recipe recipes/demo.yaml] [--set KEY=VALUE ...]
                         [--model PATH] [--keep DIR] [--output FILE]
  --set is passed to both sides (e.g. --set data.input=/tmp/small.jsonl --set data.test_size=0.2).
Goals it checks: fine-tuned NDCG@10 within 0.01 of sentence-transformers' at every dim, and
embedtune's total time at most half of sentence-transformers'.
"""
import argparse
import json
import os
import pathlib
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import benchlib  # noqa: E402

NDCG_TOLERANCE = 0.01
TIME_RATIO_GOAL = 0.5
STAGES = ("baseline", "train", "finetuned")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", required=True, help="the embedtune executable (build/embedtune)")
    parser.add_argument("--recipe", default=str(benchlib.ROOT / "recipes" / "demo.yaml"))
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="recipe override passed to both sides (repeatable)")
    parser.add_argument("--model", default=None, help="model folder (default: scripts/default_model.py)")
    parser.add_argument("--keep", default=None, help="use this run folder instead of a temporary one (kept)")
    parser.add_argument("--output", default=None, help="also write the JSON report here")
    return parser.parse_args(argv)


def ndcg(results: dict, dims: list[int]) -> dict:
    return {str(d): float(results[f"dim_{d}_cosine_ndcg@10"]) for d in dims}


def run_both(args, run_dir: pathlib.Path, model: str, env: dict) -> dict:
    recipe = str(pathlib.Path(args.recipe).resolve())
    sets = [x for s in args.set for x in ("--set", s)]
    ours = benchlib.measure([str(pathlib.Path(args.bin).resolve()), "run", recipe, "--force", "--model", model,
                             "--output", str(run_dir), *sets], env)
    timings = json.loads((run_dir / "timings.json").read_text())
    baseline = json.loads((run_dir / "baseline.json").read_text())
    finetuned = json.loads((run_dir / "finetuned.json").read_text())
    st = benchlib.measure([benchlib.PYTHON, str(pathlib.Path(__file__).with_name("st_workflow.py")), recipe,
                           "--run-dir", str(run_dir), "--model", model, *sets], env)
    st_out = json.loads(st["stdout"].strip().splitlines()[-1])
    dims = [int(d) for d in st_out["baseline_ndcg@10"]]
    rows = {
        "train": sum(1 for _ in open(run_dir / "data" / "train.jsonl", encoding="utf-8")),
        "test": sum(1 for _ in open(run_dir / "data" / "test.jsonl", encoding="utf-8")),
    }
    mined = run_dir / "data" / "train-mined.jsonl"
    if "mine" in timings and mined.exists():
        with open(mined, encoding="utf-8") as f:
            lines = f.readlines()
        rows["mined"] = len(lines)
        rows["mined_columns"] = list(json.loads(lines[0])) if lines else []
        rows["mined_st"] = st_out.get("mined_rows")
        rows["mined_columns_st"] = st_out.get("mined_columns")
    return {"ours": ours, "timings": timings, "baseline": ndcg(baseline, dims), "finetuned": ndcg(finetuned, dims),
            "st": st, "st_out": st_out, "dims": dims, "rows": rows}


def report(args, model: str, r: dict) -> dict:
    st_out, dims = r["st_out"], r["dims"]
    diff = lambda ours, theirs: {str(d): ours[str(d)] - theirs[str(d)] for d in dims}  # noqa: E731
    ft_diff = diff(r["finetuned"], st_out["finetuned_ndcg@10"])
    ours_total = sum(r["timings"].get(s, 0.0) for s in ("prepare", "mine", *STAGES))
    st_total = st_out["total_s"]
    return {
        "benchmark": "workflow",
        "machine": benchlib.machine(), "threads": benchlib.threads(),
        "recipe": args.recipe, "sets": args.set, "model": model, "rows": r["rows"], "dims": dims,
        "ndcg@10": {
            "baseline": {"embedtune": r["baseline"], "sentence_transformers": st_out["baseline_ndcg@10"],
                         "diff": diff(r["baseline"], st_out["baseline_ndcg@10"])},
            "finetuned": {"embedtune": r["finetuned"], "sentence_transformers": st_out["finetuned_ndcg@10"],
                          "diff": ft_diff},
        },
        "stage_s": {
            "embedtune": {s: r["timings"].get(s) for s in ("prepare", "mine", *STAGES) if s in r["timings"]},
            "sentence_transformers": st_out["timings"],
        },
        "total_s": {"embedtune": ours_total, "sentence_transformers": st_total},
        "process_wall_s": {"embedtune": r["ours"]["wall_s"], "sentence_transformers": r["st"]["wall_s"]},
        "time_ratio": ours_total / st_total,
        "peak_rss_mib": {"embedtune": r["ours"]["peak_rss_mib"], "sentence_transformers": r["st"]["peak_rss_mib"]},
        "st_train": {k: st_out.get(k) for k in ("train_steps", "train_loss", "best_model_checkpoint", "threads")},
        "goals": {
            "finetuned_ndcg_within_0.01": max(abs(v) for v in ft_diff.values()) <= NDCG_TOLERANCE,
            "max_abs_finetuned_diff": max(abs(v) for v in ft_diff.values()),
            "time_at_most_half": ours_total <= TIME_RATIO_GOAL * st_total,
        },
    }


def main(argv=None) -> None:
    args = parse_args(argv)
    model = args.model or str(benchlib.default_model())
    env = benchlib.env()
    if args.keep:
        run_dir = pathlib.Path(args.keep).resolve()
        result = report(args, model, run_both(args, run_dir, model, env))
    else:
        with tempfile.TemporaryDirectory(prefix="bench_workflow_") as tmp:
            result = report(args, model, run_both(args, pathlib.Path(tmp) / "run", model, env))
    text = json.dumps(result, indent=2)
    if args.output:
        pathlib.Path(args.output).write_text(text + "\n", encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
