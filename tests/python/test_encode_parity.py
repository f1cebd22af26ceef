"""Parity: `embedtune encode` against SentenceTransformer.encode (the oracle), fp32 on the CPU.

The bar: max |diff| <= 1e-5 on every embedding, for tiny random BERTs of every pooling mode, for
tiny random XLM-RoBERTa, RoBERTa, MPNet, ModernBERT and Qwen3 models (one of them rendering texts
through its chat template) at batch sizes 1 and 16, and for
all-MiniLM-L6-v2 on over 300 varied texts, long ones (cut at max_seq_length) included.
"""
import json
import pathlib

import numpy as np
import pytest
from conftest import docs_texts
from sentence_transformers import SentenceTransformer

TOLERANCE = 1e-5
EDGE_CASES = [
    "", " ", "   \t  ", "\n", "Café déjà vu, naïve façade; Ångström and ñandú.", "e\u0301cole",
    "東京は日本の首都です。北京是中国的首都。", "こんにちは、世界！カタカナ", "한국어 문장입니다.",
    "emoji 😀👍🏽 👨‍👩‍👧 🇫🇷 done", "zero\u200bwidth\u200djoiner\ufeffbom", "soft\u00adhyphen",
    "control\x07bell\x1bescape", "a" * 150, "supercalifragilisticexpialidocious" * 5,
    "Ελληνικά και кириллица, עברית, العربية", "İstanbul ẞtraße ǅemal", "1234567890 3.14159 -42 1e-10",
    "https://docs.python.org/3/library/functions.html#print?x=1&y=2", "!!!???...,,,;;;:::---",
    "[CLS] inside [SEP] text [MASK]", "MiXeD CaSe WoRdS", "tab\tseparated\tvalues", "line one\r\nline two",
]


def write_jsonl(path: pathlib.Path, texts: list[str]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for text in texts:
            f.write(json.dumps({"text": text}, ensure_ascii=False) + "\n")


def varied_texts(count: int) -> list[str]:
    paragraphs = docs_texts(20000, min_chars=1)
    step = max(1, len(paragraphs) // count)
    picked = paragraphs[::step][:count]
    long_texts = [" ".join(paragraphs[i : i + 40]) for i in range(0, 400, 40)]  # far over 256 tokens
    return EDGE_CASES + picked + long_texts


def encode_both(run, tmp_path, model_dir, texts, batch_size=32, extra=(), **st_kwargs):
    inputs = tmp_path / "texts.jsonl"
    write_jsonl(inputs, texts)
    output = tmp_path / "out.npy"
    run("encode", "--model", model_dir, "--input", inputs, "--output", output,
        "--batch-size", batch_size, *extra)
    ours = np.load(output)
    st = SentenceTransformer(str(model_dir), device="cpu")
    expected = st.encode(texts, batch_size=batch_size, convert_to_numpy=True, **st_kwargs)
    return ours, expected.astype(np.float32)


ARCHITECTURES = {"xlm_roberta": "XLMRobertaModel", "roberta": "RobertaModel", "mpnet": "MPNetModel",
                 "modernbert": "ModernBertModel", "qwen3": "Qwen3Model",
                 "qwen3_chat": "Qwen3Model"}  # texts rendered through its chat template


@pytest.mark.parametrize("mode", ["mean", "cls", "max", "mean_sqrt_len_tokens", "weightedmean", "lasttoken", "plain_hf",
                                  "qwen3_chat_hf", *ARCHITECTURES])
def test_tiny_models_match_sentence_transformers(run, tmp_path, testdata, mode):
    texts = varied_texts(60)
    ours, expected = encode_both(run, tmp_path, testdata / "models" / mode, texts, batch_size=16)
    assert ours.shape == expected.shape
    diff = float(np.abs(ours - expected).max())
    print(f"tiny {mode}: {len(texts)} texts, max |diff| = {diff:.3e}")
    assert diff <= TOLERANCE


@pytest.mark.parametrize("name", ARCHITECTURES)
@pytest.mark.parametrize("batch_size", [1, 16])
def test_other_architectures_match_sentence_transformers(run, tmp_path, testdata, name, batch_size):
    """Mixed lengths (a few to max_seq_length tokens): positions and relative buckets per sequence."""
    model_dir = testdata / "models" / name
    st = SentenceTransformer(str(model_dir), device="cpu")
    assert type(st[0].model).__name__ == ARCHITECTURES[name]  # the oracle runs that class
    texts = varied_texts(40)
    lengths = [len(st.preprocess([t])["input_ids"][0]) for t in texts]
    empty = len(st.preprocess([""])["input_ids"][0])  # special tokens, or a chat template's frame
    assert min(lengths) <= empty + 3 and max(lengths) == st.max_seq_length, (min(lengths), max(lengths))
    ours, expected = encode_both(run, tmp_path, model_dir, texts, batch_size=batch_size)
    assert ours.shape == expected.shape == (len(texts), st.get_embedding_dimension())
    diff = float(np.abs(ours - expected).max())
    print(f"{name} batch {batch_size}: {len(texts)} texts, max |diff| = {diff:.3e}")
    assert diff <= TOLERANCE


def test_minilm_matches_sentence_transformers(run, tmp_path, default_model):
    texts = varied_texts(300)
    assert len(texts) >= 300
    ours, expected = encode_both(run, tmp_path, default_model, texts)
    assert ours.shape == (len(texts), 384)
    diff = float(np.abs(ours - expected).max())
    print(f"all-MiniLM-L6-v2: {len(texts)} texts, max |diff| = {diff:.3e}")
    assert diff <= TOLERANCE


def test_dim_truncates_then_renormalises(run, tmp_path, default_model):
    texts = varied_texts(40)
    ours, expected = encode_both(run, tmp_path, default_model, texts, extra=("--dim", 64), truncate_dim=64)
    expected = expected / np.linalg.norm(expected, axis=1, keepdims=True)
    assert ours.shape == (len(texts), 64)
    assert float(np.abs(ours - expected).max()) <= TOLERANCE


def test_prompt_is_prepended(run, tmp_path, default_model):
    texts = varied_texts(30)
    ours, expected = encode_both(run, tmp_path, default_model, texts, extra=("--prompt", "query: "), prompt="query: ")
    assert float(np.abs(ours - expected).max()) <= TOLERANCE


def test_batch_size_does_not_change_results(run, tmp_path, testdata):
    texts = varied_texts(50)
    model = testdata / "models" / "mean"
    a, _ = encode_both(run, tmp_path, model, texts, batch_size=1)
    b, _ = encode_both(run, tmp_path, model, texts, batch_size=64)
    assert float(np.abs(a - b).max()) <= TOLERANCE


def test_max_seq_length_flag(run, tmp_path, default_model):
    texts = varied_texts(20)[-10:]  # the long ones
    inputs = tmp_path / "t.jsonl"
    write_jsonl(inputs, texts)
    run("encode", "--model", default_model, "--input", inputs, "--output", tmp_path / "o.npy", "--max-seq-length", 32)
    st = SentenceTransformer(str(default_model), device="cpu")
    st.max_seq_length = 32
    expected = st.encode(texts, convert_to_numpy=True)
    assert float(np.abs(np.load(tmp_path / "o.npy") - expected).max()) <= TOLERANCE


def test_txt_input_one_text_per_line(run, tmp_path, default_model):
    lines = ["first line", "second line", "", "fourth, after an empty one"]
    (tmp_path / "t.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    run("encode", "--model", default_model, "--input", tmp_path / "t.txt", "--output", tmp_path / "o.npy")
    expected = SentenceTransformer(str(default_model), device="cpu").encode(lines, convert_to_numpy=True)
    ours = np.load(tmp_path / "o.npy")
    assert ours.shape == (4, 384)
    assert float(np.abs(ours - expected).max()) <= TOLERANCE
