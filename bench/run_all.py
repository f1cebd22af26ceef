"""`make bench`: every side-by-side benchmark, one after another; each prints its JSON and the
results are also saved under bench/results/ (git-ignored) for BENCHMARKS.md."""
import argparse
import pathlib
import subprocess
import sys

here = pathlib.Path(__file__).resolve().parent
parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--bin", required=True, help="build/embedtune")
args = parser.parse_args()
build = pathlib.Path(args.bin).resolve().parent
runs = {
    "tokenizer": [str(here / "bench_tokenizer.py"), "--bench", str(build / "bench" / "embedtune_tokenizer_bench")],
    # The tokenizer families the test oracle trains (make test writes them).
    "tokenizer_families": [str(here / "bench_tokenizer.py"), "--bench",
                           str(build / "bench" / "embedtune_tokenizer_bench"), "--tokenizer",
                           *[str(build / "testdata" / "tokenizer_families" / "variants" / v)
                             for v in ("xlmr", "roberta", "qwen2", "mpnet")]],
    "encode": [str(here / "bench_encode.py"), "--bin", args.bin],
    "evaluate": [str(here / "bench_evaluate.py"), "--bin", args.bin],
    "train": [str(here / "bench_train.py"), "--bin", args.bin],
    "mine": [str(here / "bench_mine.py"), "--bin", args.bin],
    "cached_train": [str(here / "bench_cached_train.py"), "--bin", args.bin],
    "distributed_train": [str(here / "bench_distributed.py"), "--bin", args.bin],
    "architectures": [str(here / "bench_architectures.py"), "--bin", args.bin],
    "workflow": [str(here / "bench_workflow.py"), "--bin", args.bin],
    "hub": [str(here / "bench_hub.py"), "--bin", args.bin],
    "eval_topk": [str(here / "bench_eval_topk.py"), "--bench", str(build / "bench" / "embedtune_eval_topk_bench")],
    "quantized_search": [str(here / "bench_quantized_search.py"), "--scalar-too", "--bench",
                         str(build / "bench" / "embedtune_quantized_search_bench")],
}
(here / "results").mkdir(exist_ok=True)
failed = []
for name, cmd in runs.items():
    print(f"== {name}", flush=True)
    result = subprocess.run([sys.executable, *cmd], capture_output=True, text=True)
    print(result.stdout, end="")
    if result.returncode != 0:
        print(result.stderr[-2000:], file=sys.stderr)
        failed.append(name)
        continue
    (here / "results" / f"{name}.json").write_text(result.stdout)
if failed:
    sys.exit(f"bench: failed: {', '.join(failed)}")
