"""`embedtune tokenize` gives the ids sentence-transformers feeds the model: special tokens,
truncation at max_seq_length (and --max-seq-length), prompts."""
import json

from sentence_transformers import SentenceTransformer
from test_encode_parity import varied_texts, write_jsonl


def expected_ids(model_dir, texts, max_seq_length=None, prompt=""):
    st = SentenceTransformer(str(model_dir), device="cpu")
    if max_seq_length:
        st.max_seq_length = max_seq_length
    ids = []
    for text in texts:
        features = st.tokenize([prompt + text])
        ids.append(features["input_ids"][0][features["attention_mask"][0].bool()].tolist())
    return ids


def ours(run, tmp_path, model_dir, texts, *extra):
    inputs = tmp_path / "t.jsonl"
    write_jsonl(inputs, texts)
    run("tokenize", "--model", model_dir, "--input", inputs, "--output", tmp_path / "ids.jsonl", *extra)
    return [json.loads(line)["input_ids"] for line in (tmp_path / "ids.jsonl").read_text().splitlines()]


def test_tokenize_matches_sentence_transformers(run, tmp_path, default_model):
    texts = varied_texts(200)
    got, want = ours(run, tmp_path, default_model, texts), expected_ids(default_model, texts)
    mismatches = [i for i, (a, b) in enumerate(zip(got, want)) if a != b]
    print(f"tokenize: {len(texts)} texts, {len(mismatches)} mismatching")
    assert len(got) == len(want) and not mismatches
    assert max(len(ids) for ids in got) == 256  # long texts are cut at max_seq_length


def test_tokenize_with_max_seq_length_and_prompt(run, tmp_path, default_model):
    texts = varied_texts(40)
    got = ours(run, tmp_path, default_model, texts, "--max-seq-length", 20, "--prompt", "query: ")
    assert got == expected_ids(default_model, texts, max_seq_length=20, prompt="query: ")
