"""Bad input gives one clear line on stderr and a non-zero exit, never a crash.

Each case damages a copy of a tiny model (or passes an impossible flag) and checks that
`embedtune encode` fails with `embedtune: error: ...` naming what is wrong."""
import json
import os
import shutil
import struct

import pytest


@pytest.fixture
def model(tmp_path, testdata):
    folder = tmp_path / "model"
    shutil.copytree(testdata / "models" / "mean", folder)
    return folder


@pytest.fixture
def texts(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("hello world\nsecond text\n", encoding="utf-8")
    return path


def fails_with(run, tmp_path, model_dir, texts, *needles, extra=()):
    result = run("encode", "--model", model_dir, "--input", texts, "--output", tmp_path / "o.npy", *extra, check=False)
    lines = result.stderr.strip().splitlines()
    assert result.returncode != 0, result.stderr
    assert len(lines) == 1, f"expected one line, got:\n{result.stderr}"
    assert lines[0].startswith("embedtune: error: "), lines[0]
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"
    assert not (tmp_path / "o.npy").exists()
    return lines[0]


def rewrite_header(path, edit):
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    edit(header)
    raw = json.dumps(header).encode()
    raw += b" " * ((8 - len(raw) % 8) % 8)
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data[8 + n :])


def test_truncated_safetensors(run, tmp_path, model, texts):
    weights = model / "model.safetensors"
    data = weights.read_bytes()
    for cut in (4, 100, len(data) // 2, len(data) - 1):
        weights.write_bytes(data[:cut])
        fails_with(run, tmp_path, model, texts, "model.safetensors")


def test_corrupt_header(run, tmp_path, model, texts):
    weights = model / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[8:20] = b"\x00garbage!!\xff\xfe"
    weights.write_bytes(bytes(data))
    fails_with(run, tmp_path, model, texts, "model.safetensors")


def test_huge_header_length(run, tmp_path, model, texts):
    weights = model / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(struct.pack("<Q", 1 << 62) + data[8:])
    fails_with(run, tmp_path, model, texts, "model.safetensors")


def test_missing_tensor(run, tmp_path, model, texts):
    rewrite_header(model / "model.safetensors", lambda h: h.pop("encoder.layer.1.output.dense.weight"))
    # Removing an entry leaves a hole in the data section: either message is a clear refusal.
    fails_with(run, tmp_path, model, texts, "model.safetensors")


def test_missing_tensor_in_valid_file(run, tmp_path, model, texts):
    from safetensors.numpy import load_file, save_file

    tensors = load_file(model / "model.safetensors")
    del tensors["encoder.layer.1.output.dense.weight"]
    save_file(tensors, model / "model.safetensors", metadata={"format": "pt"})
    fails_with(run, tmp_path, model, texts, "encoder.layer.1.output.dense.weight", "missing")


def test_shape_disagrees_with_config(run, tmp_path, model, texts):
    config = json.loads((model / "config.json").read_text())
    config["intermediate_size"] = 96
    (model / "config.json").write_text(json.dumps(config))
    fails_with(run, tmp_path, model, texts, "intermediate.dense.weight", "config.json")


def test_unsupported_dtype(run, tmp_path, model, texts):
    def edit(header):
        header["embeddings.LayerNorm.bias"]["dtype"] = "F8_E5M2"
    rewrite_header(model / "model.safetensors", edit)
    fails_with(run, tmp_path, model, texts, "F8_E5M2")


def test_missing_tokenizer_files(run, tmp_path, model, texts):
    for name in ["tokenizer.json", "vocab.txt"]:
        if (model / name).exists():
            os.remove(model / name)
    fails_with(run, tmp_path, model, texts, "tokenizer.json")


def test_malformed_config_json(run, tmp_path, model, texts):
    (model / "config.json").write_text('{"hidden_size": 64,,}')
    fails_with(run, tmp_path, model, texts, "config.json", "line 1")


def test_unknown_pooling_mode(run, tmp_path, model, texts):
    (model / "1_Pooling" / "config.json").write_text(json.dumps({"embedding_dimension": 64, "pooling_mode": "median"}))
    fails_with(run, tmp_path, model, texts, "median", "1_Pooling")


def test_dim_larger_than_model(run, tmp_path, model, texts):
    fails_with(run, tmp_path, model, texts, "--dim", "1..64", extra=("--dim", 65))


def test_missing_model_names_places_looked(run, tmp_path, texts, monkeypatch):
    result = run("encode", "--model", "nobody/no-such-model", "--input", texts, "--output", tmp_path / "o.npy",
                 check=False, env={**os.environ, "HF_HUB_CACHE": str(tmp_path / "hub")})
    assert result.returncode != 0
    assert "nobody/no-such-model" in result.stderr and str(tmp_path / "hub") in result.stderr


def test_model_id_resolves_from_hf_cache(run, tmp_path, testdata):
    repo = tmp_path / "hub" / "models--acme--tiny"
    shutil.copytree(testdata / "models" / "cls", repo / "snapshots" / "abc123")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("abc123")
    result = run("info", "--model", "acme/tiny", env={**os.environ, "HF_HUB_CACHE": str(tmp_path / "hub")})
    assert "snapshots/abc123" in result.stdout and "cls" in result.stdout


def test_missing_input_file(run, tmp_path, model):
    fails_with(run, tmp_path, model, tmp_path / "absent.txt", "absent.txt")


def test_invalid_utf8_input(run, tmp_path, model):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"fine\nbad \xff\xfe byte\n")
    fails_with(run, tmp_path, model, bad, "bad.txt", "UTF-8")
