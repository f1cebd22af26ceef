"""The Hub client: `embedtune download` beside huggingface_hub's snapshot_download, and `embedtune push`
beside upload_folder (HF_HUB_DISABLE_XET=1: the HTTP/LFS protocol both speak), against the local Hub
of the tests (tests/python/hub_server.py) on loopback, on the same repository: all-MiniLM-L6-v2's
files plus one large random LFS file. Reports wall seconds, MB/s and peak RSS per side.

Loopback and a Python server: this measures the clients' overhead (hashing, copying, the cache),
not a network. Usage: bench_hub.py --bin build/embedtune [--large-mb 512]
"""
import argparse
import json
import os
import pathlib
import sys
import tempfile
import textwrap

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests" / "python"))
import benchlib  # noqa: E402
import hub_server  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--bin", required=True)
parser.add_argument("--large-mb", type=int, default=512, help="size of the extra LFS file")
parser.add_argument("--repeats", type=int, default=2, help="runs per side; the fastest is reported")
args = parser.parse_args()
TOKEN = "hf_bench"


def hub_env(server, cache):
    env = {k: v for k, v in benchlib.env().items()
           if not k.startswith(("HF_", "HUGGING")) and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    env.update(HF_ENDPOINT=server.url, HF_HUB_CACHE=str(cache), HF_HOME=str(cache.parent / "home"),
               HF_TOKEN=TOKEN, HF_HUB_DISABLE_XET="1", HF_HUB_DISABLE_TELEMETRY="1",
               HF_HUB_DISABLE_PROGRESS_BARS="1", NO_PROXY="127.0.0.1,localhost")
    return env


def python(code):
    return [benchlib.PYTHON, "-c", "import huggingface_hub as hh\n" + textwrap.dedent(code)]


def measure(cmd, env, rss_dir):
    """benchlib.measure through peak_rss.py: this process holds the server's files, and a child forked
    from it would count them in its peak RSS; peak_rss.py starts the command from a small process."""
    result = benchlib.measure([benchlib.PYTHON, str(HERE / "peak_rss.py"), str(rss_dir), "--", *cmd], env)
    result["peak_rss_mib"] = json.loads((rss_dir / "rss-0.json").read_text())["peak_rss_mib"]
    return result


def best(runs):
    return min(runs, key=lambda r: r["wall_s"])


with tempfile.TemporaryDirectory() as tmp, hub_server.HubServer() as server:
    tmp = pathlib.Path(tmp)
    server.token = TOKEN
    folder = tmp / "model"
    model = benchlib.default_model()
    files = {p.relative_to(model).as_posix(): p.read_bytes() for p in model.rglob("*") if p.is_file()}
    files["large.safetensors"] = os.urandom(args.large_mb * 1024 * 1024)
    total_mb = sum(len(v) for v in files.values()) / 1e6
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)
    server.add_repo("model", "bench/model", files)
    del files

    results = {"machine": benchlib.machine(), "total_mb": round(total_mb, 1), "files": len(list(folder.rglob("*")))}
    runs = {"embedtune": [], "huggingface_hub": []}
    for i in range(args.repeats):
        cache = tmp / f"e{i}" / "cache"
        runs["embedtune"].append(measure([args.bin, "download", "bench/model", "--quiet"], hub_env(server, cache),
                                         tmp / "rss"))
        cache = tmp / f"h{i}" / "cache"
        runs["huggingface_hub"].append(measure(python('hh.snapshot_download("bench/model")'), hub_env(server, cache),
                                               tmp / "rss"))
    download = {side: best(r) for side, r in runs.items()}
    results["download"] = {side: {"wall_s": round(r["wall_s"], 2), "mb_per_s": round(total_mb / r["wall_s"], 1),
                                  "peak_rss_mib": round(r["peak_rss_mib"], 1)} for side, r in download.items()}
    results["download"]["speedup"] = round(download["huggingface_hub"]["wall_s"] / download["embedtune"]["wall_s"], 2)

    runs = {"embedtune": [], "huggingface_hub": []}
    for i in range(args.repeats):
        env = hub_env(server, tmp / "push-cache")
        runs["embedtune"].append(measure([args.bin, "push", str(folder), f"bench/e{i}", "--quiet"], env, tmp / "rss"))
        runs["huggingface_hub"].append(measure(python(f"""
            api = hh.HfApi()
            api.create_repo("bench/h{i}")
            api.upload_folder(folder_path={str(folder)!r}, repo_id="bench/h{i}")
        """), env, tmp / "rss"))
        server.lfs_objects.clear()  # the next pair uploads every LFS object again
    upload = {side: best(r) for side, r in runs.items()}
    results["push"] = {side: {"wall_s": round(r["wall_s"], 2), "mb_per_s": round(total_mb / r["wall_s"], 1),
                              "peak_rss_mib": round(r["peak_rss_mib"], 1)} for side, r in upload.items()}
    results["push"]["speedup"] = round(upload["huggingface_hub"]["wall_s"] / upload["embedtune"]["wall_s"], 2)
    print(json.dumps(results, indent=2))
