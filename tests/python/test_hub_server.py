"""Proves hub_server.HubServer against the installed huggingface_hub (the oracle for the C++ Hub client).

huggingface_hub reads HF_ENDPOINT and friends at import, so each scenario runs in a fresh
`python -c` with the environment pointing at the server, and prints one JSON line back.
"""
import hashlib
import json
import os
import pathlib
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request

import pytest

import hub_server

TOKEN = "hf_test"


@pytest.fixture
def server():
    with hub_server.HubServer() as srv:
        yield srv


def hf(server, tmp_path, code, token=None):
    """Runs `code` (which must print one JSON line last) with huggingface_hub pointed at the server."""
    # ctest sets HF_HUB_OFFLINE and TRANSFORMERS_OFFLINE, and a proxy must not catch the loopback traffic
    dropped = ("HF_", "HUGGING_FACE_", "HUGGINGFACE_", "TRANSFORMERS_OFFLINE")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(dropped) and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env.update({
        "HF_ENDPOINT": server.url,
        "HF_HOME": str(tmp_path / "hf_home"),
        "HF_HUB_CACHE": str(tmp_path / "cache"),
        "HF_HUB_DISABLE_XET": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1" if token is None else "0",
    })
    if token is not None:
        env["HF_TOKEN"] = token
    prelude = "import json, sys\nimport huggingface_hub as hh\nfrom huggingface_hub import HfApi\n"
    result = subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"huggingface_hub failed:\n{result.stderr}"
    return json.loads(result.stdout.strip().splitlines()[-1])


def blob_etag(path, data):
    return hashlib.sha256(data).hexdigest() if path.endswith(".safetensors") else hub_server.git_blob_sha1(data)


def seeded_files():
    return {
        "config.json": b'{"hidden_size": 8}\n',
        "sub/dir/x.txt": b"nested file\n",
        "model.safetensors": os.urandom(100 * 1024),
    }


def test_snapshot_download_private_repo_with_token(server, tmp_path):
    server.token = TOKEN
    files = seeded_files()
    sha = server.add_repo("model", "org/model", files, private=True)
    out = hf(server, tmp_path, """
        p = hh.snapshot_download("org/model")
        q = hh.snapshot_download("org/model", local_files_only=True)
        print(json.dumps({"p": p, "q": q}))
    """, token=TOKEN)

    snapshot = pathlib.Path(out["p"])
    assert out["q"] == out["p"]
    storage = tmp_path / "cache" / "models--org--model"
    assert snapshot == storage / "snapshots" / sha
    assert (storage / "refs" / "main").read_text() == sha
    for path, data in files.items():
        link = snapshot / path
        assert link.is_symlink() and link.read_bytes() == data
        blob = storage / "blobs" / blob_etag(path, data)
        assert blob.read_bytes() == data
        assert link.resolve() == blob.resolve()

    cdn = [r for r in server.requests if r["role"] == "cdn"]
    assert cdn and all("authorization" not in r["headers"] for r in cdn)
    assert all(r["headers"].get("authorization") == f"Bearer {TOKEN}" for r in server.requests if r["role"] == "hub")
    trees = [r for r in server.requests if "/tree/" in r["path"]]
    assert len(trees) > 1, "the tree listing was not paginated"
    assert not server.unhandled


def test_renamed_repo_follows_relative_redirect(server, tmp_path):
    files = seeded_files()
    server.add_repo("model", "org/old", files)
    server.rename_repo("model", "org/old", "org/new")
    out = hf(server, tmp_path, """
        a = hh.hf_hub_download("org/old", "config.json")
        b = hh.hf_hub_download("org/old", "model.safetensors")
        print(json.dumps({"a": a, "b": b}))
    """)
    assert pathlib.Path(out["a"]).read_bytes() == files["config.json"]
    assert pathlib.Path(out["b"]).read_bytes() == files["model.safetensors"]
    paths = [(r["method"], r["path"]) for r in server.requests]
    assert ("HEAD", "/org/old/resolve/main/config.json") in paths
    assert ("HEAD", "/org/new/resolve/main/config.json") in paths


def test_upload_folder_basic_and_multipart(server, tmp_path):
    server.token = TOKEN
    folder = tmp_path / "upload"
    (folder / "nested").mkdir(parents=True)
    content = {
        "README.txt": b"hello\n",
        "empty.txt": b"",
        "nested/notes.txt": b"nested\n",
        "model.safetensors": os.urandom(64 * 1024),
        "big.bin": os.urandom(6 * 1024 * 1024),
    }
    for path, data in content.items():
        (folder / path).write_bytes(data)
    out = hf(server, tmp_path, f"""
        api = HfApi()
        url = api.create_repo("org/up")
        again = api.create_repo("org/up", exist_ok=True)
        info = api.upload_folder(repo_id="org/up", folder_path={str(folder)!r}, commit_message="add files")
        # unchanged files: preupload answers their oids, so huggingface_hub makes no commit and asks repo_info
        same = api.upload_folder(repo_id="org/up", folder_path={str(folder)!r}, commit_message="again")
        print(json.dumps({{"url": str(url), "again": str(again), "oid": info.oid, "same": same.oid}}))
    """, token=TOKEN)

    assert out["url"] == out["again"] == f"{server.url}/org/up"
    assert out["oid"] == out["same"] == server.head("model", "org/up")
    assert len(server.commits) == 1
    assert server.files("model", "org/up") == content
    lines = server.commits[-1]["lines"]
    assert lines[0] == {"key": "header", "value": {"summary": "add files", "description": ""}}
    by_path = {line["value"]["path"]: line for line in lines[1:]}
    assert {p: line["key"] for p, line in by_path.items()} == {
        "README.txt": "file", "empty.txt": "file", "nested/notes.txt": "file",
        "model.safetensors": "lfsFile", "big.bin": "lfsFile"}
    for path in ("model.safetensors", "big.bin"):
        assert server.lfs_objects[hashlib.sha256(content[path]).hexdigest()] == content[path]
    puts = [r for r in server.requests if r["method"] == "PUT"]
    assert len(puts) == 3  # one basic upload, two multipart parts
    assert all(r["role"] == "cdn" and "authorization" not in r["headers"] for r in puts)
    assert any(r["path"] == "/api/complete_multipart" for r in server.requests)
    assert sum(r["path"].endswith("/objects/verify") for r in server.requests) == 2
    assert not server.unhandled


def test_resolve_500_once_is_retried(server, tmp_path):
    files = seeded_files()
    server.add_repo("model", "org/flaky", files)
    server.fail_next("/org/flaky/resolve/main/config.json", status=500)
    out = hf(server, tmp_path, """
        print(json.dumps({"a": hh.hf_hub_download("org/flaky", "config.json")}))
    """)
    assert pathlib.Path(out["a"]).read_bytes() == files["config.json"]
    heads = [r for r in server.requests if r["method"] == "HEAD"]
    assert len(heads) == 2  # huggingface_hub retries the metadata HEAD once with backoff enabled


def test_cut_download_resumes_with_range(server, tmp_path):
    files = seeded_files()
    server.add_repo("model", "org/cut", files)
    server.cut_next("/cdn/", 1000)
    out = hf(server, tmp_path, """
        print(json.dumps({"b": hh.hf_hub_download("org/cut", "model.safetensors")}))
    """)
    assert pathlib.Path(out["b"]).read_bytes() == files["model.safetensors"]
    gets = [r for r in server.requests if r["role"] == "cdn" and r["method"] == "GET"]
    # huggingface_hub reads the body in 10 MiB chunks (DOWNLOAD_CHUNK_SIZE), so the 1000 bytes before the cut never
    # reach the file: it retries from the start (no Range) after a 1 s pause.
    assert len(gets) == 2 and gets[1]["headers"].get("range") in (None, "bytes=1000-")


def test_private_repo_without_token_raises(server, tmp_path):
    server.token = TOKEN
    server.add_repo("model", "org/secret", seeded_files(), private=True)
    out = hf(server, tmp_path, """
        names = {}
        for name, call in [("file", lambda: hh.hf_hub_download("org/secret", "config.json")),
                           ("snapshot", lambda: hh.snapshot_download("org/secret")),
                           ("info", lambda: HfApi().model_info("org/secret"))]:
            try:
                call()
                names[name] = None
            except Exception as e:
                names[name] = [type(e).__name__, getattr(getattr(e, "response", None), "status_code", None)]
        print(json.dumps(names))
    """)
    assert out == {k: ["RepositoryNotFoundError", 401] for k in ("file", "snapshot", "info")}
    assert all("authorization" not in r["headers"] for r in server.requests)


def test_private_repo_with_wrong_token_raises(server, tmp_path):
    server.token = TOKEN
    server.add_repo("model", "org/secret", seeded_files(), private=True)
    out = hf(server, tmp_path, """
        try:
            hh.hf_hub_download("org/secret", "config.json")
            print(json.dumps(None))
        except Exception as e:
            print(json.dumps([type(e).__name__, e.response.status_code]))
    """, token="hf_wrong")
    assert out == ["RepositoryNotFoundError", 401]


def test_not_found_errors_and_api(server, tmp_path):
    files = seeded_files()
    sha = server.add_repo("dataset", "org/data", files)
    sha2 = server.add_commit("dataset", "org/data", {"more.txt": b"more"})
    out = hf(server, tmp_path, """
        api = HfApi()
        errors = {}
        for name, call in [("entry", lambda: hh.hf_hub_download("org/data", "nope.txt", repo_type="dataset")),
                           ("revision", lambda: hh.hf_hub_download("org/data", "config.json", repo_type="dataset",
                                                                   revision="nobranch")),
                           ("repo", lambda: hh.hf_hub_download("org/none", "config.json"))]:
            try:
                call()
                errors[name] = None
            except Exception as e:
                errors[name] = type(e).__name__
        info = api.dataset_info("org/data", files_metadata=True)
        old = api.dataset_info("org/data", revision=%r)
        refs = api.list_repo_refs("org/data", repo_type="dataset")
        top = [f.path for f in api.list_repo_tree("org/data", repo_type="dataset")]
        sub = [f.path for f in api.list_repo_tree("org/data", "sub", recursive=True, repo_type="dataset")]
        lfs = {s.rfilename: s.lfs["sha256"] if s.lfs else None for s in info.siblings}
        print(json.dumps({"errors": errors, "sha": info.sha, "old": old.sha, "lfs": lfs, "top": top, "sub": sub,
                          "refs": [(b.name, b.target_commit) for b in refs.branches]}))
    """ % sha)
    assert out["errors"] == {"entry": "RemoteEntryNotFoundError", "revision": "RevisionNotFoundError",
                             "repo": "RepositoryNotFoundError"}
    assert (out["sha"], out["old"]) == (sha2, sha)
    assert out["lfs"]["model.safetensors"] == hashlib.sha256(files["model.safetensors"]).hexdigest()
    assert out["lfs"]["config.json"] is None
    assert out["top"] == ["config.json", "model.safetensors", "more.txt", "sub"]
    assert out["sub"] == ["sub/dir", "sub/dir/x.txt"]
    assert out["refs"] == [["main", sha2]]


def test_raw_http_range_corrupt_and_unhandled(server):
    data = bytes(range(256)) * 4
    server.add_repo("model", "org/raw", {"a.txt": data, "w.bin": data})

    def get(url, headers=None, method="GET"):
        req = urllib.request.Request(url, headers=headers or {}, method=method)
        opener = urllib.request.build_opener(NoRedirect, urllib.request.ProxyHandler({}))
        try:
            with opener.open(req) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), err.read()

    status, headers, body = get(f"{server.url}/org/raw/resolve/main/a.txt", {"Range": "bytes=1000-"})
    assert (status, body, headers["Content-Range"]) == (206, data[1000:], "bytes 1000-1023/1024")
    assert headers["ETag"] == f'"{hub_server.git_blob_sha1(data)}"'
    status, headers, _ = get(f"{server.url}/org/raw/resolve/main/w.bin", method="HEAD")
    assert status == 302 and headers["X-Linked-Size"] == "1024"
    assert headers["Location"].startswith(server.cdn_url + "/cdn/")
    server.corrupt_next("/cdn/")
    status, _, body = get(headers["Location"])
    assert status == 200 and len(body) == len(data) and body != data
    assert get(headers["Location"])[2] == data
    status, _, _ = get(f"{server.url}/api/no-such-route")
    assert status == 404 and server.unhandled[-1]["path"] == "/api/no-such-route"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None
