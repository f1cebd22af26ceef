"""Round trips: a model saved by embedtune loads in Python sentence-transformers and in embedtune
and gives the same embeddings as the model it came from."""
import json

import numpy as np
import pytest
from safetensors.numpy import load_file
from sentence_transformers import SentenceTransformer
from test_encode_parity import varied_texts, write_jsonl

TOLERANCE = 1e-5


def test_saved_model_loads_in_sentence_transformers(run, tmp_path, default_model):
    saved = tmp_path / "saved"
    run("convert", "--model", default_model, "--output", saved)
    for name in ["modules.json", "config.json", "model.safetensors", "tokenizer.json",
                 "sentence_bert_config.json", "config_sentence_transformers.json", "1_Pooling/config.json"]:
        assert (saved / name).exists(), name
    # Every tensor written equals the original, bit for bit.
    original, ours = load_file(default_model / "model.safetensors"), load_file(saved / "model.safetensors")
    assert sorted(original) == sorted(ours)
    for key in original:
        assert original[key].dtype == ours[key].dtype and np.array_equal(original[key], ours[key]), key

    texts = varied_texts(40)
    reference = SentenceTransformer(str(default_model), device="cpu").encode(texts, convert_to_numpy=True)
    reloaded = SentenceTransformer(str(saved), device="cpu")
    assert reloaded.max_seq_length == 256
    assert float(np.abs(reloaded.encode(texts, convert_to_numpy=True) - reference).max()) <= TOLERANCE

    inputs = tmp_path / "t.jsonl"
    write_jsonl(inputs, texts)
    run("encode", "--model", default_model, "--input", inputs, "--output", tmp_path / "a.npy")
    run("encode", "--model", saved, "--input", inputs, "--output", tmp_path / "b.npy")
    assert np.array_equal(np.load(tmp_path / "a.npy"), np.load(tmp_path / "b.npy"))


def test_plain_hf_folder_converts_with_mean_pooling(run, tmp_path, testdata):
    saved = tmp_path / "st"
    run("convert", "--model", testdata / "models" / "plain_hf", "--output", saved)
    pooling = json.loads((saved / "1_Pooling" / "config.json").read_text())
    assert pooling["pooling_mode_mean_tokens"] is True
    modules = json.loads((saved / "modules.json").read_text())
    assert [m["path"] for m in modules] == ["", "1_Pooling"]  # no Normalize: ST adds none for HF folders
    texts = varied_texts(20)
    expected = SentenceTransformer(str(testdata / "models" / "plain_hf"), device="cpu").encode(texts)
    got = SentenceTransformer(str(saved), device="cpu").encode(texts)
    assert float(np.abs(got - expected).max()) <= TOLERANCE


def test_convert_replaces_an_existing_model_folder_whole(run, tmp_path, testdata):
    saved = tmp_path / "st"
    run("convert", "--model", testdata / "models" / "mean", "--output", saved)
    (saved / "stale.txt").write_text("old")
    run("convert", "--model", testdata / "models" / "cls", "--output", saved)
    assert not (saved / "stale.txt").exists()
    assert json.loads((saved / "1_Pooling" / "config.json").read_text())["pooling_mode_cls_token"]
    assert [p.name for p in tmp_path.iterdir()] == ["st"]  # no staging or backup folders left
    # A folder that is not a model is refused instead (test_bad_input.py's table has the message).
    other = tmp_path / "notes"
    other.mkdir()
    (other / "mine.txt").write_text("keep")
    assert run("convert", "--model", testdata / "models" / "cls", "--output", other, check=False).returncode != 0
    assert (other / "mine.txt").read_text() == "keep"


@pytest.mark.parametrize("name", ["xlm_roberta", "roberta", "mpnet", "modernbert", "qwen3", "qwen3_chat", "qwen3_chat_hf"])
def test_other_architectures_save_and_load_in_sentence_transformers(run, tmp_path, testdata, name):
    source = testdata / "models" / name
    saved = tmp_path / "saved"
    run("convert", "--model", source, "--output", saved)
    assert json.loads((saved / "config.json").read_text())["model_type"] == \
        json.loads((source / "config.json").read_text())["model_type"]
    original, ours = load_file(source / "model.safetensors"), load_file(saved / "model.safetensors")
    assert sorted(original) == sorted(ours)
    for key in original:
        assert np.array_equal(original[key], ours[key]), key

    texts = varied_texts(30)
    reference = SentenceTransformer(str(source), device="cpu").encode(texts, convert_to_numpy=True)
    reloaded = SentenceTransformer(str(saved), device="cpu")
    assert type(reloaded[0].model).__name__ == type(SentenceTransformer(str(source), device="cpu")[0].model).__name__
    assert float(np.abs(reloaded.encode(texts, convert_to_numpy=True) - reference).max()) <= TOLERANCE
    inputs = tmp_path / "t.jsonl"
    write_jsonl(inputs, texts)
    run("encode", "--model", saved, "--input", inputs, "--output", tmp_path / "b.npy")
    assert float(np.abs(np.load(tmp_path / "b.npy") - reference).max()) <= TOLERANCE
