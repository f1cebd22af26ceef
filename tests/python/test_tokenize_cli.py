"""`embedtune tokenize` gives the ids sentence-transformers feeds the model: special tokens,
truncation at max_seq_length (and --max-seq-length), prompts."""
import json

import pytest

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


@pytest.mark.parametrize("folder", ["qwen3_chat", "qwen3_chat_hf"])
def test_chat_template_models_tokenize_as_sentence_transformers(run, tmp_path, testdata, folder):
    """A model whose texts go through its chat template (a saved "message" modality, or a plain
    folder whose tokenizer has a template): each text is rendered as a user message, a prompt as a
    system message, tokenized without special tokens, and a text cut at max_seq_length gets the
    template's tail (<|im_end|> and its newline) written back over its last tokens."""
    model_dir = testdata / "models" / folder
    st = SentenceTransformer(str(model_dir), device="cpu")
    assert "message" in st[0].modality_config
    texts = varied_texts(40)
    im_end = st.tokenizer.convert_tokens_to_ids("<|im_end|>")
    for prompt in ["", "Instruct: Given a question, retrieve passages\nQuery:"]:
        want = []
        for text in texts:
            features = st.preprocess([text], prompt=prompt or None)
            want.append(features["input_ids"][0][features["attention_mask"][0].bool()].tolist())
        got = ours(run, tmp_path, model_dir, texts, *(["--prompt", prompt] if prompt else []))
        mismatches = [i for i, (a, b) in enumerate(zip(got, want)) if a != b]
        print(f"{folder}, prompt {prompt!r}: {len(texts)} texts, {len(mismatches)} mismatching")
        assert len(got) == len(want) and not mismatches
        cut = [ids for ids in got if len(ids) == st.max_seq_length]
        assert cut and all(ids[-2] == im_end for ids in cut), "long texts keep the template's tail"
        assert all(ids[0] == st.tokenizer.convert_tokens_to_ids("<|im_start|>") for ids in got)
    info = run("info", "--model", model_dir).stdout
    source = "chat_template.jinja" if folder == "qwen3_chat" else "tokenizer_config.json: chat_template"
    assert f"chat template:    {model_dir / source}" in info, info


FAMILIES = ["xlmr", "roberta", "qwen2", "mpnet"]


def model_with_tokenizer(folder, tokenizer_dir):
    """A tiny random BertModel folder (a plain Hugging Face folder: mean pooling) whose tokenizer is
    one of the non-BERT families the tokenizer oracle trained: the tokenizer plugs into the model
    loading path whatever the architecture (non-BERT architectures are a separate issue)."""
    import shutil

    import torch
    from transformers import BertConfig, BertModel

    folder.mkdir(parents=True, exist_ok=True)
    for f in tokenizer_dir.iterdir():
        shutil.copyfile(f, folder / f.name)
    vocab = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    model = vocab["model"]
    ids = list(model["vocab"].values()) if isinstance(model["vocab"], dict) else [len(model["vocab"]) - 1]
    size = max(ids + [t["id"] for t in vocab["added_tokens"]]) + 1
    torch.manual_seed(0)
    config = BertConfig(vocab_size=size, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=48)
    BertModel(config).save_pretrained(folder, safe_serialization=True)
    return folder


@pytest.mark.parametrize("family", FAMILIES)
def test_tokenize_non_bert_tokenizers_as_sentence_transformers(run, tmp_path, testdata, family):
    tokenizer_dir = testdata / "tokenizer_families" / "variants" / family
    assert (tokenizer_dir / "tokenizer_config.json").exists(), "make_testdata must run first"
    model_dir = model_with_tokenizer(tmp_path / family, tokenizer_dir)
    texts = varied_texts(60) + ["<s> hello </s> <mask> <|endoftext|> [UNK] x", "  spaced \t out  "]
    got, want = ours(run, tmp_path, model_dir, texts), expected_ids(model_dir, texts)
    mismatches = [i for i, (a, b) in enumerate(zip(got, want)) if a != b]
    print(f"tokenize {family}: {len(texts)} texts, {len(mismatches)} mismatching")
    assert len(got) == len(want) and not mismatches
    assert max(len(ids) for ids in got) == 48  # cut at max_position_embeddings, as ST does

    info = run("info", "--model", model_dir).stdout
    assert "tokenizer:" in info and "model:" in info
    assert {"xlmr": "Unigram", "roberta": "BPE", "qwen2": "BPE", "mpnet": "WordPiece"}[family] in info
