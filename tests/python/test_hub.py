"""embedtune's Hugging Face Hub client against a local Hub (hub_server.HubServer), with
huggingface_hub 2.4 (its own snapshot_download and upload_folder) and sentence-transformers as
the oracles: the cache it writes, the commit it sends, the faults it survives, hf:// datasets and
push_to_hub. No network."""
import hashlib
import json
import os
import pathlib
import subprocess

import numpy as np
import pytest

import hub_server
from conftest import make_pairs
from test_hub_server import hf

TOKEN = "hf_test"


@pytest.fixture
def server():
    with hub_server.HubServer() as srv:
        yield srv


def hub_env(server, tmp_path, token=None, offline=False, cache="cache"):
    """The environment of an embedtune run pointed at the local Hub (ctest sets HF_HUB_OFFLINE)."""
    dropped = ("HF_", "HUGGING_FACE_", "HUGGINGFACE_", "TRANSFORMERS_OFFLINE")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(dropped) and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    env.update({"HF_ENDPOINT": server.url, "HF_HOME": str(tmp_path / "hf_home"),
                "HF_HUB_CACHE": str(tmp_path / cache), "NO_PROXY": "127.0.0.1,localhost",
                "EMBEDTUNE_PROGRESS": "0"})
    if token:
        env["HF_TOKEN"] = token
    if offline:
        env["HF_HUB_OFFLINE"] = "1"
    return env


def embedtune(embedtune_bin, env, *args, check=True):
    result = subprocess.run([str(embedtune_bin), *map(str, args)], env=env, capture_output=True, text=True,
                            timeout=300)
    if check:
        assert result.returncode == 0, result.stderr
    return result


def folder_files(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def cache_layout(cache):
    """Every entry of a cache below the repository folders: links with their targets, files with
    their bytes (huggingface_hub's .locks and the lock-free CACHEDIR.TAG aside)."""
    out = {}
    for path in sorted(cache.rglob("*")):
        rel = path.relative_to(cache).as_posix()
        if rel.startswith(".locks") or rel == "CACHEDIR.TAG":
            continue
        if path.is_symlink():
            out[rel] = ("link", os.readlink(path))
        elif path.is_file():
            out[rel] = ("file", json.loads(path.read_text()) if rel.endswith(".json") and "/trees/" in rel
                        else path.read_bytes())
        else:
            out[rel] = ("dir",)
    return out


def test_download_writes_the_cache_huggingface_hub_writes(server, tmp_path, embedtune_bin, default_model):
    server.token = TOKEN
    files = folder_files(default_model)
    sha = server.add_repo("model", "org/mini", files, private=True)
    env = hub_env(server, tmp_path, token=TOKEN)
    snapshot = pathlib.Path(embedtune(embedtune_bin, env, "download", "org/mini").stdout.strip())
    assert snapshot == tmp_path / "cache" / "models--org--mini" / "snapshots" / sha
    assert folder_files(snapshot) == files
    cdn = [r for r in server.requests if r["role"] == "cdn"]
    assert cdn and all("authorization" not in r["headers"] for r in cdn), "the token went to the CDN host"
    assert any(r["method"] == "HEAD" and "/resolve/" in r["path"] for r in server.requests)
    assert sum("/tree/" in r["path"] for r in server.requests) > 1, "the tree listing was not paginated"

    # huggingface_hub reads that cache offline, and writes the same one itself.
    out = hf(server, tmp_path, f"""
        p = hh.snapshot_download("org/mini", cache_dir={str(tmp_path / 'cache')!r}, local_files_only=True)
        q = hh.snapshot_download("org/mini", cache_dir={str(tmp_path / 'theirs')!r})
        print(json.dumps({{"p": p, "q": q}}))
    """, token=TOKEN)
    assert out["p"] == str(snapshot)
    assert cache_layout(tmp_path / "cache") == cache_layout(tmp_path / "theirs")

    # A second download finds everything cached: no file is fetched again.
    before = len(server.requests)
    assert embedtune(embedtune_bin, env, "download", "org/mini").stdout.strip() == str(snapshot)
    assert not [r for r in server.requests[before:] if r["role"] == "cdn" or "/resolve/" in r["path"]]

    # Offline: the cache answers, with no request at all; what it lacks is named.
    before = len(server.requests)
    offline = hub_env(server, tmp_path, offline=True)
    assert embedtune(embedtune_bin, offline, "download", "org/mini").stdout.strip() == str(snapshot)
    missing = embedtune(embedtune_bin, offline, "download", "org/other", check=False)
    assert missing.returncode != 0 and "HF_HUB_OFFLINE" in missing.stderr and "org/other" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
    assert len(server.requests) == before


def test_model_id_downloads_when_the_cache_lacks_it_and_sentence_transformers_loads_it(
        server, tmp_path, embedtune_bin, default_model):
    server.add_repo("model", "org/mini", folder_files(default_model))
    texts = tmp_path / "texts.txt"
    texts.write_text("where is the river?\nThe stone is by the lamp.\n")
    env = hub_env(server, tmp_path)
    embedtune(embedtune_bin, env, "encode", "--model", "org/mini", "--input", texts, "--output", tmp_path / "hub.npy")
    embedtune(embedtune_bin, env, "encode", "--model", default_model, "--input", texts, "--output",
              tmp_path / "local.npy")
    assert np.array_equal(np.load(tmp_path / "hub.npy"), np.load(tmp_path / "local.npy"))

    # sentence-transformers loads the model from the cache embedtune filled, offline.
    out = hf(server, tmp_path, f"""
        import os
        os.environ["HF_HUB_OFFLINE"] = "1"
        from sentence_transformers import SentenceTransformer
        m = SentenceTransformer("org/mini", cache_folder={str(tmp_path / 'cache')!r}, device="cpu", local_files_only=True)
        e = m.encode(["where is the river?", "The stone is by the lamp."], convert_to_numpy=True)
        print(json.dumps({{"e": e.tolist()}}))
    """)
    assert np.allclose(np.array(out["e"]), np.load(tmp_path / "hub.npy"), atol=1e-5)


def lfs_repo(server, size=3 * 1024 * 1024):
    data = os.urandom(size)
    server.add_repo("model", "org/w", {"config.json": b"{}\n", "model.safetensors": data})
    return data


def test_a_cut_download_resumes_with_range(server, tmp_path, embedtune_bin):
    data = lfs_repo(server)
    server.cut_next("/cdn/", after_bytes=1_000_000)
    env = hub_env(server, tmp_path)
    snapshot = pathlib.Path(embedtune(embedtune_bin, env, "download", "org/w").stdout.strip())
    assert (snapshot / "model.safetensors").read_bytes() == data
    ranges = [r["headers"].get("range") for r in server.requests if r["role"] == "cdn"]
    assert "bytes=1000000-" in ranges, ranges


def test_a_partial_download_is_resumed_by_the_next_run(server, tmp_path, embedtune_bin):
    data = lfs_repo(server)
    server.cut_next("/cdn/", after_bytes=200_000, times=6)  # the first try and its 5 retries
    env = hub_env(server, tmp_path)
    first = embedtune(embedtune_bin, env, "download", "org/w", check=False)
    assert first.returncode != 0
    assert "network failure after 5 retries" in first.stderr and "next run resumes" in first.stderr
    folder = tmp_path / "cache" / "models--org--w"
    partial = list((folder / "blobs").glob("*.incomplete"))
    assert len(partial) == 1 and partial[0].stat().st_size == 6 * 200_000
    assert not list(folder.glob("snapshots/*/model.safetensors"))
    snapshot = pathlib.Path(embedtune(embedtune_bin, env, "download", "org/w").stdout.strip())
    assert (snapshot / "model.safetensors").read_bytes() == data
    assert [r["headers"].get("range") for r in server.requests if r["role"] == "cdn"][-1] == "bytes=1200000-"
    assert not list((folder / "blobs").glob("*.incomplete"))


def test_a_500_is_retried(server, tmp_path, embedtune_bin):
    lfs_repo(server, size=1000)
    server.fail_next("/revision/main", status=500, times=2)
    server.fail_next("/cdn/", status=503, times=1)
    embedtune(embedtune_bin, hub_env(server, tmp_path), "download", "org/w")
    assert sum("/revision/main" in r["path"] for r in server.requests) == 3


def test_a_wrong_checksum_is_rejected_and_nothing_lands_in_snapshots(server, tmp_path, embedtune_bin):
    data = lfs_repo(server, size=100_000)
    server.corrupt_next("/cdn/")
    result = embedtune(embedtune_bin, hub_env(server, tmp_path), "download", "org/w", check=False)
    assert result.returncode != 0 and "checksum mismatch" in result.stderr, result.stderr
    assert hashlib.sha256(data).hexdigest() in result.stderr
    folder = tmp_path / "cache" / "models--org--w"
    assert not list(folder.glob("snapshots/*/model.safetensors"))
    assert not list((folder / "blobs").glob(hashlib.sha256(data).hexdigest() + "*"))


def test_errors_name_the_repository_and_the_token(server, tmp_path, embedtune_bin):
    server.token = TOKEN
    server.add_repo("model", "org/secret", {"config.json": b"{}"}, private=True)
    no_token = embedtune(embedtune_bin, hub_env(server, tmp_path), "download", "org/secret", check=False)
    assert no_token.returncode != 0 and "401" in no_token.stderr and "HF_TOKEN" in no_token.stderr
    wrong = embedtune(embedtune_bin, hub_env(server, tmp_path, token="hf_wrong"), "download", "org/secret",
                      check=False)
    assert wrong.returncode != 0 and "401" in wrong.stderr and "HF_TOKEN" in wrong.stderr
    env = hub_env(server, tmp_path, token=TOKEN)
    absent = embedtune(embedtune_bin, env, "download", "org/absent", check=False)
    assert absent.returncode != 0 and "org/absent" in absent.stderr and "not found" in absent.stderr
    revision = embedtune(embedtune_bin, env, "download", "org/secret", "--revision", "v9", check=False)
    assert revision.returncode != 0 and "revision 'v9' not found" in revision.stderr
    for result in (no_token, wrong, absent, revision):
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_a_renamed_repository_is_followed(server, tmp_path, embedtune_bin):
    server.add_repo("model", "org/new-name", {"config.json": b'{"a": 1}\n'})
    server.rename_repo("model", "org/new-name", "org/newer")
    snapshot = pathlib.Path(embedtune(embedtune_bin, hub_env(server, tmp_path), "download", "org/new-name").stdout.strip())
    assert (snapshot / "config.json").read_bytes() == b'{"a": 1}\n'


def make_upload_folder(folder):
    (folder / "sub" / "deeper").mkdir(parents=True)
    (folder / ".git").mkdir()
    (folder / ".git" / "config").write_text("[core]\n")
    (folder / "config.json").write_text('{"hidden_size": 8}\n')
    (folder / "README.md").write_text("---\nlicense: apache-2.0\ntags: [sentence-transformers]\n---\n# A model\n")
    (folder / "a.txt").write_text("a\n")
    (folder / "sub" / "deeper" / "x.txt").write_text("nested\n")
    (folder / "empty.txt").write_bytes(b"")
    (folder / "model.safetensors").write_bytes(os.urandom(64 * 1024))
    (folder / "big.bin").write_bytes(os.urandom(6 * 1024 * 1024))
    return folder


def test_push_sends_what_upload_folder_sends(server, tmp_path, embedtune_bin):
    server.token = TOKEN
    folder = make_upload_folder(tmp_path / "upload")
    env = hub_env(server, tmp_path, token=TOKEN)
    result = embedtune(embedtune_bin, env, "push", folder, "org/ours", "--commit-message", "Upload it", "--private")
    assert "org/ours" in result.stdout
    assert len(server.validated_readmes) == 1  # the model card's metadata, checked before any upload
    our_puts = [r for r in server.requests if r["method"] == "PUT"]
    assert len(our_puts) == 3, our_puts  # one basic upload, a multipart upload in 2 parts
    hf(server, tmp_path, f"""
        api = HfApi()
        api.create_repo("org/theirs", private=True)
        api.upload_folder(folder_path={str(folder)!r}, repo_id="org/theirs", commit_message="Upload it")
        print(json.dumps({{}}))
    """, token=TOKEN)
    ours, theirs = (next(c for c in server.commits if c["repo_id"] == r) for r in ("org/ours", "org/theirs"))
    assert ours["lines"] == theirs["lines"]
    expected = {k: v for k, v in folder_files(folder).items() if not k.startswith(".git/")}
    assert server.files("model", "org/ours") == server.files("model", "org/theirs") == expected
    assert any(line["key"] == "lfsFile" for line in ours["lines"])
    assert all(body == server.validated_readmes[0] for body in server.validated_readmes[1:])
    puts = [r for r in server.requests if r["method"] == "PUT"]
    assert puts and all("authorization" not in r["headers"] for r in puts)
    # Private: a request without the token does not see it.
    hidden = embedtune(embedtune_bin, hub_env(server, tmp_path, cache="c2"), "download", "org/ours", check=False)
    assert hidden.returncode != 0 and "401" in hidden.stderr


def test_push_leaves_out_checkpoints_unless_asked_and_honours_exclude(server, tmp_path, embedtune_bin):
    # A training output_dir: the final model beside its checkpoint-N folders, as the trainer's
    # push_to_hub (ignore_patterns checkpoint-*) leaves them out.
    server.token = TOKEN
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text('{"hidden_size": 8}\n')
    (folder / "model.safetensors").write_bytes(b"final")
    (folder / "logs").mkdir()
    (folder / "logs" / "log.jsonl").write_text("{}\n")
    for step in (2, 4):
        (folder / f"checkpoint-{step}").mkdir()
        (folder / f"checkpoint-{step}" / "optimizer.pt").write_bytes(b"state")
    env = hub_env(server, tmp_path, token=TOKEN)
    result = embedtune(embedtune_bin, env, "push", folder, "org/model", "--exclude", "logs/")
    assert "leaving out checkpoint-2/, checkpoint-4/" in result.stderr and "--include-checkpoints" in result.stderr
    assert set(server.files("model", "org/model")) == {"config.json", "model.safetensors"}
    result = embedtune(embedtune_bin, env, "push", folder, "org/everything", "--include-checkpoints")
    assert "leaving out" not in result.stderr
    assert set(server.files("model", "org/everything")) == {
        "config.json", "model.safetensors", "logs/log.jsonl", "checkpoint-2/optimizer.pt", "checkpoint-4/optimizer.pt"}


def test_push_with_broken_model_card_metadata_fails_before_any_upload(server, tmp_path, embedtune_bin):
    server.token = TOKEN
    folder = make_upload_folder(tmp_path / "upload")
    (folder / "README.md").write_text("---\nlicense: [apache\n---\n# A model\n")
    result = embedtune(embedtune_bin, hub_env(server, tmp_path, token=TOKEN), "push", folder, "org/ours", check=False)
    assert result.returncode != 0 and "README.md" in result.stderr and "metadata" in result.stderr
    assert not server.commits and not [r for r in server.requests if r["method"] == "PUT"]


def test_push_without_a_token_fails_before_any_request(server, tmp_path, embedtune_bin):
    folder = make_upload_folder(tmp_path / "upload")
    result = embedtune(embedtune_bin, hub_env(server, tmp_path), "push", folder, "org/ours", check=False)
    assert result.returncode != 0 and "HF_TOKEN" in result.stderr and "token" in result.stderr
    assert not server.requests


def test_an_unreachable_hub_falls_back_on_a_cached_copy_and_only_then(server, tmp_path, embedtune_bin):
    rows = "".join(json.dumps({"anchor": f"question {i}", "positive": f"answer {i}"}) + "\n" for i in range(10))
    server.add_repo("dataset", "org/cached", {"pairs.jsonl": rows.encode()})
    env = hub_env(server, tmp_path, token="hf_test")
    common = ["--anchor-column", "anchor", "--positive-column", "positive", "--test-size", "0.2"]
    snapshot = embedtune(embedtune_bin, env, "download", "org/cached", "--repo-type", "dataset").stdout.strip()
    url = "hf://datasets/org/cached/pairs.jsonl"
    embedtune(embedtune_bin, env, "prepare", "--input", url, "--output", tmp_path / "online", *common)

    # .invalid never resolves (RFC 2606), and an unknown host is retried once only.
    env["HF_ENDPOINT"] = "http://hub.invalid"
    # As snapshot_download and hf_hub_download: the cached copy stands in, with a warning.
    whole = embedtune(embedtune_bin, env, "download", "org/cached", "--repo-type", "dataset")
    assert whole.stdout.strip() == snapshot
    assert "network failure after 1 retry" in whole.stderr and "using the cached copy" in whole.stderr, whole.stderr
    one = embedtune(embedtune_bin, env, "prepare", "--input", url, "--output", tmp_path / "offline", *common)
    assert "using the cached copy" in one.stderr, one.stderr
    for name in ("train.jsonl", "test.jsonl"):
        assert (tmp_path / "offline" / name).read_bytes() == (tmp_path / "online" / name).read_bytes()

    # Nothing cached: no cache to point at.
    download = embedtune(embedtune_bin, env, "download", "org/w", check=False)
    assert download.returncode != 0 and "network failure" in download.stderr
    assert "the cache has no complete copy to use instead" in download.stderr, download.stderr
    assert "HF_HUB_OFFLINE" not in download.stderr, download.stderr
    push = embedtune(embedtune_bin, env, "push", make_upload_folder(tmp_path / "upload"), "org/ours", check=False)
    assert push.returncode != 0 and "network failure" in push.stderr, push.stderr
    assert "HF_HUB_OFFLINE" not in push.stderr, push.stderr


def write_parquet(path, rows, row_group_size=10):
    import pyarrow as pa
    import pyarrow.parquet as pq
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=row_group_size)


def test_hf_dataset_urls_prepare_the_same_rows_as_the_local_file(server, tmp_path, embedtune_bin):
    pairs = make_pairs(tmp_path / "pairs", rows=60, test_rows=0)
    rows = [json.loads(line) for line in (pairs / "train.jsonl").read_text().splitlines()]
    local = tmp_path / "local.parquet"
    write_parquet(local, rows)
    shard = "data/train-00000-of-00001.parquet"
    server.add_repo("dataset", "org/pairs", {"README.md": b"# pairs\n", shard: local.read_bytes()})
    test_rows = b"".join((pairs / "train.jsonl").read_bytes().splitlines(keepends=True)[:10])
    server.add_repo("dataset", "org/two", {"train.jsonl": (pairs / "train.jsonl").read_bytes(),
                                           "test.jsonl": test_rows})
    env = hub_env(server, tmp_path)
    common = ["--anchor-column", "anchor", "--positive-column", "positive", "--test-size", "0.2"]
    embedtune(embedtune_bin, env, "prepare", "--input", local, "--output", tmp_path / "from-local", *common)
    for i, url in enumerate(["hf://datasets/org/pairs", f"hf://datasets/org/pairs/{shard}",
                             "hf://datasets/org/pairs@main/train", "hf://datasets/org/pairs/data"]):
        out = tmp_path / f"from-hub-{i}"
        embedtune(embedtune_bin, env, "prepare", "--input", url, "--output", out, *common)
        for name in ("train.jsonl", "test.jsonl"):
            assert (out / name).read_bytes() == (tmp_path / "from-local" / name).read_bytes(), url

    # A split name picks its file; several candidates are listed so the user can name one.
    embedtune(embedtune_bin, env, "prepare", "--input", "hf://datasets/org/two/test", "--output",
              tmp_path / "two-test", *common)
    prepared = sum(len((tmp_path / "two-test" / n).read_text().splitlines()) for n in ("train.jsonl", "test.jsonl"))
    assert prepared == 10
    server.add_repo("dataset", "org/many", {"a.jsonl": b'{"anchor": "x", "positive": "y"}\n',
                                            "b.jsonl": b'{"anchor": "x", "positive": "y"}\n'})
    many = embedtune(embedtune_bin, env, "prepare", "--input", "hf://datasets/org/many", "--output",
                     tmp_path / "many", *common, check=False)
    assert many.returncode != 0 and "a.jsonl" in many.stderr and "b.jsonl" in many.stderr
    # A file the repository lacks is recorded in .no_exist/, as hf_hub_download records it.
    absent = embedtune(embedtune_bin, env, "prepare", "--input", "hf://datasets/org/pairs/absent.parquet",
                       "--output", tmp_path / "absent", *common, check=False)
    assert absent.returncode != 0 and "absent.parquet" in absent.stderr and "not found" in absent.stderr
    assert list((tmp_path / "cache" / "datasets--org--pairs" / ".no_exist").glob("*/absent.parquet"))
    bad = embedtune(embedtune_bin, env, "prepare", "--input", "hf://models/org/x", "--output", tmp_path / "bad",
                    *common, check=False)
    assert bad.returncode != 0 and "hf://datasets/" in bad.stderr


def test_train_push_to_hub_publishes_the_final_model(server, tmp_path, embedtune_bin, testdata):
    server.token = TOKEN
    data = make_pairs(tmp_path / "data", rows=16, test_rows=0)
    env = hub_env(server, tmp_path, token=TOKEN)
    out = tmp_path / "tiny-ft"
    embedtune(embedtune_bin, env, "train", "--model", testdata / "models" / "mean", "--train", data / "train.jsonl",
              "--matryoshka_dims", "64,32", "--per_device_train_batch_size", "4", "--num_train_epochs", "1",
              "--save_strategy", "steps", "--save_steps", "2", "--output_dir", out, "--push_to_hub", "true")
    assert list(out.glob("checkpoint-*")), "the run should have written checkpoints"
    pushed = server.files("model", "tester/tiny-ft")  # no namespace given: the token's user
    assert server.commits[-1]["lines"][0]["value"]["summary"] == "End of training"
    local = {k: v for k, v in folder_files(out).items() if not k.startswith("checkpoint-")}
    assert pushed == local
    assert "model.safetensors" in pushed and "README.md" in pushed

    # Without a token, push_to_hub is refused before training starts.
    refused = embedtune(embedtune_bin, hub_env(server, tmp_path), "train", "--model", testdata / "models" / "mean",
                        "--train", data / "train.jsonl", "--matryoshka_dims", "64,32", "--output_dir",
                        tmp_path / "refused", "--push_to_hub", "true", check=False)
    assert refused.returncode != 0 and "push_to_hub" in refused.stderr and "HF_TOKEN" in refused.stderr
    assert not (tmp_path / "refused").exists()

    # An unreachable Hub at the end: asking who owns the token is a read, but no cache can answer
    # it, so the message points at `embedtune push`, not at HF_HUB_OFFLINE.
    unreachable = dict(env, HF_ENDPOINT="http://hub.invalid")
    late = embedtune(embedtune_bin, unreachable, "train", "--model", testdata / "models" / "mean", "--train",
                     data / "train.jsonl", "--matryoshka_dims", "64,32", "--per_device_train_batch_size", "4",
                     "--max_steps", "1", "--output_dir", tmp_path / "late", "--push_to_hub", "true", check=False)
    assert late.returncode != 0 and "whoami" in late.stderr and "network failure" in late.stderr, late.stderr
    assert f"embedtune push {tmp_path / 'late'} USER/late" in late.stderr, late.stderr
    assert "HF_HUB_OFFLINE" not in late.stderr, late.stderr
    assert (tmp_path / "late" / "model.safetensors").exists()


def test_two_processes_downloading_at_once_share_the_cache(server, tmp_path, embedtune_bin):
    """As torchrun's ranks loading one model id: the blob lock makes one wait for the other."""
    data = lfs_repo(server, size=8 * 1024 * 1024)
    env = hub_env(server, tmp_path)
    procs = [subprocess.Popen([str(embedtune_bin), "download", "org/w", "--quiet"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert outs[0][0] == outs[1][0]
    snapshot = pathlib.Path(outs[0][0].strip())
    assert (snapshot / "model.safetensors").is_symlink()
    assert (snapshot / "model.safetensors").read_bytes() == data
    assert sum(r["role"] == "cdn" for r in server.requests) == 1, "the file was downloaded twice"
