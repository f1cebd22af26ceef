#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora (fuzz/corpus/<target>/): small, synthetic, valid and
almost-valid files made with the oracle's numpy, safetensors and tokenizers, so that fuzzing
starts from the shapes real files have. Deterministic: running it again rewrites the same bytes.

Run with the repository's venv: .venv/bin/python fuzz/make_seeds.py
"""
import io
import json
import struct
import sys
from pathlib import Path

import numpy as np
from safetensors.numpy import save as save_safetensors
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors
from tokenizers import AddedToken

CORPUS = Path(__file__).resolve().parent / "corpus"
SEPARATOR = "\n~~~~\n"  # fuzz::kFileSeparator: the files of a multi-file input


def write(target: str, name: str, data) -> None:
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


def jsonl(rows) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


# --- safetensors ---------------------------------------------------------------------------
def raw_safetensors(header: dict, data: bytes) -> bytes:
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + data


def safetensors_seeds() -> None:
    rng = np.random.default_rng(0)
    write("safetensors", "small.safetensors", save_safetensors(
        {"embeddings.weight": rng.standard_normal((3, 4)).astype(np.float32),
         "position_ids": np.arange(4, dtype=np.int64).reshape(1, 4)},
        metadata={"format": "pt"}))
    write("safetensors", "dtypes.safetensors", save_safetensors({
        "b": np.array([True, False]), "u8": np.arange(3, dtype=np.uint8),
        "i8": np.array([-1, 2], dtype=np.int8), "i16": np.array([-300], dtype=np.int16),
        "u16": np.array([60000], dtype=np.uint16), "i32": np.array([[1, -2]], dtype=np.int32),
        "u32": np.array([7], dtype=np.uint32), "u64": np.array([2**63], dtype=np.uint64),
        "f16": np.array([0.5, -2], dtype=np.float16), "f64": np.array(3.25, dtype=np.float64),
        "empty": np.zeros((0, 3), dtype=np.float32)}))
    write("safetensors", "empty.safetensors", save_safetensors({}))
    # What numpy cannot write: BF16, a null __metadata__, several metadata keys.
    write("safetensors", "bf16.safetensors", raw_safetensors(
        {"__metadata__": None, "w": {"dtype": "BF16", "shape": [2, 2], "data_offsets": [0, 8]}},
        bytes(range(8))))
    write("safetensors", "metadata.safetensors", raw_safetensors(
        {"__metadata__": {"format": "pt", "note": "caf\u00e9"},
         "a": {"dtype": "F32", "shape": [], "data_offsets": [0, 4]},
         "b": {"dtype": "I32", "shape": [1], "data_offsets": [4, 8]}},
        struct.pack("<fi", 1.5, -7)))
    # Almost valid: a hole between tensors, an unknown dtype.
    write("safetensors", "hole.safetensors", raw_safetensors(
        {"a": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]},
         "b": {"dtype": "U8", "shape": [2], "data_offsets": [3, 5]}}, bytes(5)))
    write("safetensors", "f8.safetensors", raw_safetensors(
        {"a": {"dtype": "F8_E4M3", "shape": [4], "data_offsets": [0, 4]}}, bytes(4)))


# --- npy -----------------------------------------------------------------------------------
def npy_bytes(array, version=None) -> bytes:
    out = io.BytesIO()
    if version is None:
        np.save(out, array)
    else:
        np.lib.format.write_array(out, array, version=version)
    return out.getvalue()


def npy_seeds() -> None:
    write("npy", "f4.npy", npy_bytes(np.arange(6, dtype="<f4").reshape(2, 3)))
    write("npy", "f2.npy", npy_bytes(np.array([1, -2, 0.5, 3], dtype="<f2")))
    write("npy", "f8-scalar.npy", npy_bytes(np.array(2.5, dtype="<f8")))
    write("npy", "i8-empty.npy", npy_bytes(np.zeros((0,), dtype="<i8")))
    write("npy", "i4.npy", npy_bytes(np.array([[1], [2], [3]], dtype="<i4")))
    write("npy", "u1.npy", npy_bytes(np.array([0, 255], dtype="|u1")))
    write("npy", "b1.npy", npy_bytes(np.array([True, False, True])))
    write("npy", "v2.npy", npy_bytes(np.ones((2, 2), dtype="<f4"), version=(2, 0)))
    # Rejected with a hint: Fortran order, big-endian, an unsupported dtype.
    write("npy", "fortran.npy", npy_bytes(np.asfortranarray(np.ones((2, 3), dtype="<f4"))))
    write("npy", "big-endian.npy", npy_bytes(np.ones(3, dtype=">f4")))
    write("npy", "complex.npy", npy_bytes(np.ones(2, dtype="<c8")))


# --- JSON files ----------------------------------------------------------------------------
def json_seeds() -> None:
    write("json", "config.json", json.dumps({
        "architectures": ["BertModel"], "hidden_size": 32, "layer_norm_eps": 1e-12,
        "vocab_size": 64, "torch_dtype": "float32", "nested": {"list": [1, [2, [3]]]},
        "flags": [True, False, None]}, indent=2) + "\n")
    write("json", "escapes.json", '{"a":"\\u00e9\\ud83d\\ude00\\n\\t\\"\\\\","b":"caf\u00e9"}')
    write("json", "numbers.json",
          "[0, -0, 1e308, -1.5E-7, 18446744073709551615, -9223372036854775808, 123456789012345678901234]")
    write("json", "bom.json", "\ufeff{\"modules\": [{\"idx\": 0, \"type\": \"Pooling\"}]}")
    write("json", "duplicate-keys.json", '{"k": 1, "k": 2}')
    write("json", "truncated.json", '{"a": [1, 2')


# --- datasets ------------------------------------------------------------------------------
PAIRS = [
    {"question": "What is a list?", "context": "A list is a mutable sequence."},
    {"question": "How do I open a file?", "context": "Use open(path) and read from it."},
    {"question": "Caf\u00e9 na\u00efve?", "context": "Accents \u00e9 and CJK \u4e2d\u6587 text."},
]


def dataset_seeds() -> None:
    write("dataset_jsonl", "pairs.jsonl", jsonl(PAIRS))
    write("dataset_jsonl", "ids.jsonl", jsonl([dict(r, id=i * 7) for i, r in enumerate(PAIRS)]))
    write("dataset_jsonl", "string-ids-negative.jsonl", jsonl(
        [dict(r, id=f"doc-{i}", negative="unrelated") for i, r in enumerate(PAIRS)]))
    write("dataset_jsonl", "invalid-rows.jsonl",
          "\ufeff" + jsonl(PAIRS[:1]) + "\r\n   \n" + '{"question": 42, "context": "x"}\n'
          + '["not", "an", "object"]\n{"question": "q", "context": "  "}\n{"broken": \n'
          + '{"question": "q", "context": "c", "id": 1}\n')
    write("dataset_json", "pairs.json", json.dumps(PAIRS, indent=2, ensure_ascii=False))
    write("dataset_json", "ids.json", json.dumps([dict(r, id=str(i)) for i, r in enumerate(PAIRS)]))
    write("dataset_json", "mixed.json",
          '[{"question": "q", "context": "c"}, 3, null, {"question": "q2", "context": "c2", "id": 1.5}]')
    write("dataset_json", "not-an-array.json", '{"question": "q", "context": "c"}')
    write("dataset_csv", "pairs.csv", "question,context\n" + "".join(
        f'"{r["question"]}","{r["context"]}"\n' for r in PAIRS))
    write("dataset_csv", "ids-crlf.csv",
          "\ufeffid,question,context\r\n1,What?,\"A, b\"\r\n2,\"Multi\nline\",\"He said \"\"hi\"\"\"\r\n")
    write("dataset_csv", "bad-rows.csv",
          'question,context,id\nq1,c1,a\n"unterminated,c2,b\nq3,c3\nq4,"c4"x,d\nq5,,e\n')


def beir_seeds() -> None:
    corpus = jsonl([{"_id": "d1", "title": "Lists", "text": "A list is a sequence."},
                    {"_id": 2, "title": None, "text": "  Files are opened with open().  "},
                    {"_id": "d3", "text": "No title here."}])
    queries = jsonl([{"_id": "q1", "text": "What is a list?"}, {"_id": 7, "text": "open a file"}])
    qrels = "query-id\tcorpus-id\tscore\nq1\td1\t1\n7\t2\t2\nq1\td3\t0\n7\tmissing\t1\n"
    write("beir", "small.beir", corpus + SEPARATOR + queries + SEPARATOR + qrels)
    write("beir", "crlf-bom.beir", "\ufeff" + corpus.replace("\n", "\r\n") + SEPARATOR + queries
          + SEPARATOR + "\ufeff" + qrels.replace("\n", "\r\n"))
    write("beir", "bad-qrels.beir", corpus + SEPARATOR + queries + SEPARATOR
          + "query-id\tcorpus-id\tscore\nq1\td1\tx\nq1\td1\n")
    train = jsonl([{"id": i, "anchor": r["question"], "positive": r["context"]}
                   for i, r in enumerate(PAIRS[:2])])
    test = jsonl([{"id": "t0", "anchor": PAIRS[2]["question"], "positive": PAIRS[2]["context"]}])
    write("prepared_splits", "splits.jsonl", train + SEPARATOR + test)
    write("prepared_splits", "duplicate-id.jsonl", train + SEPARATOR + train)


# --- tokenizers ----------------------------------------------------------------------------
VOCAB = (["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
         + list("abcdefghijklmnopqrstuvwxyz0123456789.,!?'-")
         + ["hello", "world", "how", "are", "you", "the", "list", "open", "file", "caf",
            "##e", "##s", "##ing", "##ed", "##ly", "##\u00e9", "\u00e9", "\u4e2d", "\u6587",
            "\U0001F600"])


def bert_tokenizer(lowercase=True, strip_accents=None, with_normalizer=True,
                   with_pre_tokenizer=True, processor="template") -> Tokenizer:
    tok = Tokenizer(models.WordPiece({t: i for i, t in enumerate(VOCAB)}, unk_token="[UNK]",
                                     max_input_chars_per_word=20))
    if with_normalizer:
        tok.normalizer = normalizers.BertNormalizer(lowercase=lowercase, strip_accents=strip_accents)
    if with_pre_tokenizer:
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    if processor == "template":
        tok.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
            special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    elif processor == "bert":
        tok.post_processor = processors.BertProcessing(("[SEP]", 3), ("[CLS]", 2))
    tok.add_special_tokens(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"])
    return tok


def tokenizer_seeds() -> None:
    tok = bert_tokenizer()
    tok.enable_truncation(16)
    tok.enable_padding(pad_id=0, pad_token="[PAD]")
    write("tokenizer_json", "bert.json", tok.to_str())
    write("tokenizer_json", "cased-strip-accents.json",
          bert_tokenizer(lowercase=False, strip_accents=True).to_str())
    write("tokenizer_json", "bare.json", bert_tokenizer(
        with_normalizer=False, with_pre_tokenizer=False, processor=None).to_str())
    write("tokenizer_json", "bert-processing.json", bert_tokenizer(processor="bert").to_str())
    tok = bert_tokenizer()
    tok.add_tokens([AddedToken("<ent>", single_word=True, lstrip=True, rstrip=True,
                               normalized=False),
                    AddedToken("Caf\u00e9", normalized=True), AddedToken("##x", special=False)])
    write("tokenizer_json", "added-tokens.json", tok.to_str())
    # Rejected with the key named: a BPE model.
    write("tokenizer_json", "bpe.json", Tokenizer(models.BPE(unk_token="[UNK]")).to_str())

    vocab = "\n".join(VOCAB) + "\n"
    write("bert_vocab", "vocab-only.txt", vocab)
    write("bert_vocab", "cased.txt", vocab + SEPARATOR + json.dumps(
        {"do_lower_case": False, "tokenize_chinese_chars": False, "strip_accents": None,
         "model_max_length": 512}))
    write("bert_vocab", "added-tokens-decoder.txt", vocab.replace("\n", "\r\n") + SEPARATOR
          + json.dumps({"added_tokens_decoder": {
              "0": {"content": "[PAD]", "special": True, "normalized": False},
              "100": {"content": "<new>", "lstrip": True, "rstrip": False, "single_word": True,
                      "special": False}},
              "cls_token": {"content": "[CLS]"}, "unk_token": "[UNK]", "mask_token": "[MASK]"}))
    write("bert_vocab", "no-unk.txt", "a\nb\r##c\n" + SEPARATOR + '{"unk_token": "<unk>"}')


def main() -> int:
    safetensors_seeds()
    npy_seeds()
    json_seeds()
    dataset_seeds()
    beir_seeds()
    tokenizer_seeds()
    total = sum(p.stat().st_size for p in CORPUS.rglob("*") if p.is_file())
    print(f"fuzz/corpus: {sum(1 for p in CORPUS.rglob('*') if p.is_file())} files, {total} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
