"""Bad input gives one line on stderr, `embedtune: error: ...`, naming the file, line or key, what
was expected and what to do, with a non-zero exit and nothing half-written. Never a crash.

Every row of the README's table "What bad input gives" is one case here: the test runs it in a
fresh folder (relative paths, so the message is the same on every machine) and checks that the
message is exactly the README's, besides the words each case must contain. After changing a
message, `EMBEDTUNE_UPDATE_README=1 make test` (or running this file with the variable set)
rewrites the table from what the program prints; review the diff.
"""
import json
import os
import pathlib
import re
import shutil
import struct
import subprocess

import pytest
from conftest import make_pairs

ROOT = pathlib.Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
BEGIN, END = "<!-- bad-inputs:begin -->", "<!-- bad-inputs:end -->"


# ---------------------------------------------------------------------------------------------
# Set-ups: each prepares the folder a case runs in (cwd), with relative names.

def ask_for_messages(d):
    """The model's sentence_bert_config.json asks sentence-transformers for the "message" modality."""
    edit_json(d / "model" / "sentence_bert_config.json",
              lambda c: c.update(modality_config={"text": {}, "message": {"format": "flat"}}))


def chat_template(text):
    """A "message" model whose chat_template.jinja is `text`, and a text to encode."""
    def setup(d):
        ask_for_messages(d)
        (d / "model" / "chat_template.jinja").write_text(text, encoding="utf-8")
        (d / "t.txt").write_text("hello\n")
    return setup


def edit_json(path: pathlib.Path, edit):
    value = json.loads(path.read_text())
    edit(value)
    path.write_text(json.dumps(value))


def rewrite_header(path, edit):
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8: 8 + n])
    edit(header)
    raw = json.dumps(header).encode()
    raw += b" " * ((8 - len(raw) % 8) % 8)
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data[8 + n:])


def set_modules_path(path):
    return lambda d: edit_json(d / "model" / "modules.json", lambda m: m[1].update(path=path))


def set_config(**values):
    return lambda d: edit_json(d / "model" / "config.json", lambda c: c.update(values))


def set_st_config(**values):
    return lambda d: edit_json(d / "model" / "config_sentence_transformers.json", lambda c: c.update(values))


def write(name, text):
    return lambda d: (d / name).parent.mkdir(parents=True, exist_ok=True) or (d / name).write_text(text)


def write_bytes(name, data):
    return lambda d: (d / name).parent.mkdir(parents=True, exist_ok=True) or (d / name).write_bytes(data)


def hub_cache_with_ref(ref):
    def setup(d):
        repo = d / "hub" / "models--acme--tiny"
        shutil.copytree(d / "model", repo / "snapshots" / "abc123")
        (repo / "refs").mkdir()
        (repo / "refs" / "main").write_text(ref)
    return setup


def truncate_weights(d):
    path = d / "model" / "model.safetensors"
    path.write_bytes(path.read_bytes()[:1000])


def drop_tensor(d):
    from safetensors.numpy import load_file, save_file
    tensors = load_file(d / "model" / "model.safetensors")
    del tensors["encoder.layer.1.output.dense.weight"]
    save_file(tensors, d / "model" / "model.safetensors", metadata={"format": "pt"})


def no_tokenizer(d):
    for name in ["tokenizer.json", "vocab.txt"]:
        (d / "model" / name).unlink(missing_ok=True)


def short_bert_processing(d):
    def edit(t):
        t["post_processor"] = {"type": "BertProcessing", "sep": ["[SEP]", 102], "cls": ["[CLS]"]}
    edit_json(d / "model" / "tokenizer.json", edit)


def beir(corpus, queries, qrels):
    def setup(d):
        (d / "corpus.jsonl").write_text(corpus)
        (d / "queries.jsonl").write_text(queries)
        (d / "qrels.tsv").write_text(qrels)
    return setup


def pairs(d):
    make_pairs(d / "splits", rows=24, test_rows=8)


def saved_embeddings_for_other_data(d):
    make_pairs(d / "splits", rows=24, test_rows=8)
    (d / "emb").mkdir()
    (d / "emb" / "ids.json").write_text(json.dumps({"query_ids": ["x"], "corpus_ids": ["y"]}))


def one_pair(d):
    (d / "one.jsonl").write_text(json.dumps({"id": 0, "anchor": "a question", "positive": "an answer"}) + "\n")


def duplicate_pairs(d):
    row = json.dumps({"anchor": "the same question", "positive": "the same answer"})
    (d / "dups.jsonl").write_text("".join(json.dumps({"id": i, **json.loads(row)}) + "\n" for i in range(16)))


def labeled_pairs(d):
    rows = [{"anchor": f"question {i}", "positive": f"answer {i}", "label": i % 2} for i in range(8)]
    (d / "labeled.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def mined_without_ids(d):
    make_pairs(d / "splits", rows=24, test_rows=8)
    rows = [{"anchor": f"question {i}", "positive": f"answer {i}", "negative": f"other {i}"} for i in range(8)]
    (d / "mined.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def parquet(rows, cut=False):
    """d.parquet with `rows` (dicts) written by pyarrow; with `cut`, only its first half."""
    def setup(d):
        import pyarrow as pa
        import pyarrow.parquet as pq
        pq.write_table(pa.Table.from_pylist(rows), d / "d.parquet")
        if cut:
            data = (d / "d.parquet").read_bytes()
            (d / "d.parquet").write_bytes(data[: len(data) // 2])
    return setup


def with_checkpoint(edit=None):
    """A finished 2-step run in out/ (checkpoint-1, checkpoint-2), then `edit` applied to it."""
    def setup(d):
        make_pairs(d / "splits", rows=24, test_rows=8)
        subprocess.run([os.environ["EMBEDTUNE_BIN"], "train", *TRAIN, "--max_steps", "2", "--save_steps", "1"],
                       cwd=d, check=True, capture_output=True)
        if edit:
            edit(d)
    return setup


def flip_byte(path):
    def edit(d):
        data = bytearray((d / path).read_bytes())
        data[len(data) // 2] ^= 1
        (d / path).write_bytes(bytes(data))
    return edit


def recipe(extra):
    text = ("model: model\noutput: runs/r\ndims: [64, 32]\ndata:\n  input: data.jsonl\n" + extra)
    return lambda d: (d / "recipe.yaml").write_text(text) or make_pairs(d / "x")


def launched(**variables):
    """The training pairs, and launch variables (as torchrun or srun would set them) for the case's
    process, written to launch.env, which run_case adds to the environment."""
    def setup(d):
        pairs(d)
        (d / "launch.env").write_text("".join(f"{k}={v}\n" for k, v in variables.items()))
    return setup


def non_model_folder(d):
    (d / "mine").mkdir()
    (d / "mine" / "notes.txt").write_text("my notes")


TRAIN = ["--model", "model", "--train", "splits/train.jsonl", "--output_dir", "out", "--matryoshka_dims", "64,32",
         "--per_device_train_batch_size", "4"]
MINE = ["mine", "--model", "model", "--input", "splits/train.jsonl", "--output", "mined.jsonl"]
ENCODE = ["encode", "--model", "model", "--input", "t.txt", "--output", "o.npy"]
EVAL = ["evaluate", "--model", "model", "--train", "splits/train.jsonl", "--test", "splits/test.jsonl"]
BEIR = ["evaluate", "--model", "model", "--corpus", "corpus.jsonl", "--queries", "queries.jsonl", "--qrels", "qrels.tsv"]
CORPUS = '{"_id": "d1", "text": "one"}\n{"_id": "d2", "text": "two"}\n'
QUERIES = '{"_id": "q1", "text": "first"}\n'

# (what is wrong, set-up, arguments, words the message must contain)
CASES = [
    # The command line itself
    ("command line: no command", None, [], ["expected a command", "evaluate", "found none"]),
    ("command line: a mistyped command", None, ["evaulate"], ["unknown command 'evaulate'", "'evaluate'"]),
    ("command line: an unknown option", pairs, [*EVAL, "--dim", "64"], ["evaluate: unknown option --dim", "--dims"]),
    ("command line: an option given twice", pairs, [*EVAL, "--dims", "64", "--dims", "32"],
     ["--dims", "found it 2 times", "give it once"]),
    ("command line: an option without its value", pairs, [*EVAL, "--batch-size"],
     ["--batch-size", "expected a value after it"]),
    ("command line: a stray argument", pairs, ["evaluate", "64", *EVAL[1:]], ["stray argument '64'"]),
    ("command line: a list written as two values", pairs, [*EVAL, "--dims", "64", "32"],
     ["--dims takes one value, found '64' and then '32'; write the list with commas: --dims 64,32"]),
    ("command line: a second value after an option", pairs, [*EVAL, "64"],
     ["--test takes one value, found 'splits/test.jsonl' and then '64'"]),
    ("command line: a value after a switch", pairs, [*EVAL, "--bf16", "true"],
     ["--bf16 is a switch and takes no value, found 'true' after it"]),
    ("command line: a required option's value without the option", None, ["info", "model"],
     ["info: expected --model VALUE, found the stray argument 'model'; write --model model"]),
    ("command line: a choice not offered", write("t.txt", "hello\n"), [*ENCODE, "--device", "gpu"],
     ["--device: expected cpu or cuda, found 'gpu' (did you mean 'cuda'?)"]),
    ("command line: a choice misspelled", None, ["download", "org/x", "--repo-type", "datasets"],
     ["--repo-type: expected model, dataset or space, found 'datasets' (did you mean 'dataset'?)"]),
    ("command line: an option after --", pairs, [*EVAL, "--", "--dims", "64"], ["stray arguments '--dims' '64'"]),
    # Model folders
    ("modules.json path leaves the model folder", set_modules_path("../../etc"), ENCODE,
     ["modules.json", "'../../etc'", "leaves the model folder"]),
    ("modules.json path is absolute", set_modules_path("/etc"), ENCODE, ["modules.json", "'/etc'"]),
    ("modules.json is not a list", write("model/modules.json", "{}"), ENCODE, ["modules.json", "list"]),
    ("refs/main names a path", hub_cache_with_ref("../../../x"), ["info", "--model", "acme/tiny"],
     ["refs/main", "not a commit hash"]),
    ("config.json vocab_size 10^12", set_config(vocab_size=10**12), ENCODE,
     ["config.json", "vocab_size", "model.safetensors"]),
    ("config.json is not JSON", write("model/config.json", '{"hidden_size": 64,,}'), ENCODE,
     ["config.json", "line 1"]),
    ("config.json model_type unsupported", set_config(model_type="gpt2"), ENCODE, ["config.json", "gpt2"]),
    ("config.json pad_token_id outside the vocabulary", set_config(pad_token_id=40000), ENCODE,
     ["config.json", "pad_token_id 40000", "vocab_size 30522"]),
    ("config.json qwen3 with sliding-window layers",
     set_config(model_type="qwen3", hidden_act="silu", use_sliding_window=True), ENCODE, ["config.json", "sliding-window"]),
    ("sentence_bert_config.json asks for chat-template messages, no template",
     ask_for_messages, ENCODE, ["sentence_bert_config.json", "chat template", "chat_template.jinja"]),
    ("chat template with a syntax error", chat_template("{% for m in messages %}{{ m.content }"), ENCODE,
     ["chat_template.jinja:1", "unclosed tag"]),
    ("chat template raises", chat_template("{{ raise_exception('only conversations with an assistant turn') }}"),
     ENCODE, ["chat_template.jinja:1", "raised an exception", "assistant turn"]),
    ("intermediate_size disagrees with the weights", set_config(intermediate_size=96), ENCODE,
     ["config.json", "intermediate.dense.weight"]),
    ("model.safetensors truncated", truncate_weights, ENCODE, ["model.safetensors"]),
    ("model.safetensors lacks a tensor", drop_tensor, ENCODE,
     ["encoder.layer.1.output.dense.weight", "missing"]),
    ("model.safetensors dtype F8_E5M2",
     lambda d: rewrite_header(d / "model" / "model.safetensors",
                              lambda h: h["embeddings.LayerNorm.bias"].update(dtype="F8_E5M2")), ENCODE, ["F8_E5M2"]),
    ("no tokenizer files", no_tokenizer, ENCODE, ["tokenizer.json"]),
    ("tokenizer.json BertProcessing cls without an id", short_bert_processing, ENCODE,
     ["tokenizer.json", "post_processor.cls"]),
    ("unknown pooling mode", write("model/1_Pooling/config.json", '{"embedding_dimension": 64, "pooling_mode": "median"}'),
     ENCODE, ["median", "1_Pooling"]),
    ("--model is a file", write("model.bin", "x"), ["info", "--model", "model.bin"], ["model.bin", "is a file"]),
    ("config_sentence_transformers.json prompts is a list", set_st_config(prompts=["query: "]), ENCODE,
     ["config_sentence_transformers.json", "\"prompts\"", "object"]),
    ("config_sentence_transformers.json a prompt is a number", set_st_config(prompts={"query": 3}), ENCODE,
     ["config_sentence_transformers.json", "\"query\"", "string"]),
    ("config_sentence_transformers.json default_prompt_name unknown",
     set_st_config(prompts={"passage": "passage: "}, default_prompt_name="search"), ENCODE,
     ["config_sentence_transformers.json", "default_prompt_name", "document, passage, query", "search"]),
    # prepare
    ("prepare: input file missing", None, ["prepare", "--input", "absent.jsonl", "--output", "p"], ["absent.jsonl"]),
    ("prepare: --output names a file", write("d.jsonl", '{"question": "q", "context": "c"}\n'),
     ["prepare", "--input", "d.jsonl", "--output", "d.jsonl"], ["d.jsonl: --output names a file; expected a folder"]),
    ("prepare: a line is not JSON", write("d.jsonl", '{"question": "q", "context": "c"}\n{"question": \n'),
     ["prepare", "--input", "d.jsonl", "--output", "p"], ["d.jsonl:2"]),
    ("prepare: a column is missing", write("d.jsonl", '{"question": "q"}\n'),
     ["prepare", "--input", "d.jsonl", "--output", "p"], ["d.jsonl", "context", "--positive-column"]),
    ("prepare: --test-size 2.5", write("d.jsonl", '{"question": "q", "context": "c"}\n'),
     ["prepare", "--input", "d.jsonl", "--output", "p", "--test-size", "2.5"], ["--test-size", "2.5"]),
    ("prepare: --test-size ten", write("d.jsonl", '{"question": "q", "context": "c"}\n'),
     ["prepare", "--input", "d.jsonl", "--output", "p", "--test-size", "ten"], ["--test-size", "ten"]),
    ("prepare: --format xml", write("d.jsonl", '{"question": "q", "context": "c"}\n'),
     ["prepare", "--input", "d.jsonl", "--output", "p", "--format", "xml"], ["--format", "xml"]),
    ("prepare: CSV with invalid UTF-8", write_bytes("d.csv", b"question,context\nq,\xff\xfe\n"),
     ["prepare", "--input", "d.csv", "--output", "p"], ["d.csv:2", "UTF-8"]),
    ("prepare: empty file", write("d.jsonl", ""), ["prepare", "--input", "d.jsonl", "--output", "p"], ["d.jsonl"]),
    ("prepare: an id used twice",
     write("d.jsonl", '{"id": 1, "question": "q", "context": "c"}\n{"id": 1, "question": "r", "context": "d"}\n'),
     ["prepare", "--input", "d.jsonl", "--output", "p"], ["d.jsonl:2", "id"]),
    ("prepare: --seed -1", write("d.jsonl", '{"question": "q", "context": "c"}\n'),
     ["prepare", "--input", "d.jsonl", "--output", "p", "--seed", "-1"], ["--seed", "-1"]),
    ("prepare: --split numpy", write("d.jsonl", '{"question": "q", "context": "c"}\n'),
     ["prepare", "--input", "d.jsonl", "--output", "p", "--split", "numpy"], ["--split", "numpy", "datasets"]),
    ("prepare: a damaged Parquet file", parquet([{"question": f"q{i}", "context": f"c{i}"} for i in range(20)], cut=True),
     ["prepare", "--input", "d.parquet", "--output", "p"], ["d.parquet", "damaged", "write the file again"]),
    ("prepare: a .parquet file that is not Parquet", write("d.parquet", "question,context\nq,c\n"),
     ["prepare", "--input", "d.parquet", "--output", "p"], ["d.parquet", "PAR1"]),
    ("prepare: a Parquet column is missing", parquet([{"question": "q", "answer": "a"}]),
     ["prepare", "--input", "d.parquet", "--output", "p"], ["d.parquet", "context", "--positive-column"]),
    ("prepare: a null text in Parquet", parquet([{"question": "q", "context": "c"}, {"question": None, "context": "d"}]),
     ["prepare", "--input", "d.parquet", "--output", "p"], ["d.parquet:2", "question", "null"]),
    # evaluate
    ("evaluate: --dims abc", pairs, [*EVAL, "--dims", "abc"], ["--dims", "abc"]),
    ("evaluate: --dims larger than the model", pairs, [*EVAL, "--dims", "512"], ["--dims", "1..64"]),
    ("evaluate: a dim listed twice", pairs, [*EVAL, "--dims", "64,64"], ["--dims", "twice"]),
    ("evaluate: --output in a missing folder", pairs, [*EVAL, "--output", "nope/r.json"], ["nope", "--output"]),
    ("evaluate: --output not .json", pairs, [*EVAL, "--output", "r.csv"], ["r.csv", ".json", "r.json"]),
    ("evaluate: --score-functions manhattan", pairs, [*EVAL, "--score-functions", "manhattan"],
     ["--score-functions", "manhattan"]),
    ("evaluate: --precisions int4", pairs, [*EVAL, "--precisions", "float32,int4"],
     ["--precisions", "int4", "binary+rescore"]),
    ("evaluate: --precisions without float32", pairs, [*EVAL, "--precisions", "int8,binary"],
     ["--precisions", "float32"]),
    ("evaluate: --rescore-multiplier 0", pairs, [*EVAL, "--precisions", "float32,binary+rescore",
                                                 "--rescore-multiplier", "0"], ["--rescore-multiplier", "0"]),
    ("evaluate: --ndcg-at-k 0", pairs, [*EVAL, "--ndcg-at-k", "0"], ["--ndcg-at-k"]),
    ("evaluate: --query-prompt and --query-prompt-name", pairs,
     [*EVAL, "--query-prompt", "query:", "--query-prompt-name", "query"], ["--query-prompt-name", "not both"]),
    ("evaluate: no data given", None, ["evaluate", "--model", "model"], ["--train", "--corpus"]),
    ("evaluate: saved embeddings of other data", saved_embeddings_for_other_data,
     [*EVAL, "--load-embeddings", "emb"], ["emb/ids.json", "other"]),
    ("evaluate: --load-embeddings of a folder that is not there", pairs, [*EVAL, "--load-embeddings", "emb"],
     ["emb", "--save-embeddings", "found nothing"]),
    ("BEIR: qrels name documents the corpus lacks",
     beir('{"_id": 1, "text": "one"}\n', QUERIES, "query-id\tcorpus-id\tscore\nq1\tdoc1\t1\n"), BEIR,
     ["qrels.tsv:2", "doc1", "--allow-missing-documents"]),
    ("BEIR: empty queries file", beir(CORPUS, "", "query-id\tcorpus-id\tscore\n"), BEIR, ["queries.jsonl"]),
    ("BEIR: qrels without its header", beir(CORPUS, QUERIES, "q1\td1\t1\n"), BEIR, ["qrels.tsv:1", "header"]),
    ("BEIR: qrels written with commas", beir(CORPUS, QUERIES, "query-id,corpus-id,score\nq1,d1,1\n"), BEIR,
     ["qrels.tsv:1", "tab-separated", "not commas"]),
    ("BEIR: no query has a relevant document", beir(CORPUS, QUERIES, "query-id\tcorpus-id\tscore\nq1\td1\t0\n"),
     BEIR, ["found none (1 query read)"]),
    # encode
    ("encode: --dim 0", write("t.txt", "hello\n"), [*ENCODE, "--dim", "0"], ["--dim", "1..64"]),
    ("encode: --batch-size 0", write("t.txt", "hello\n"), [*ENCODE, "--batch-size", "0"], ["--batch-size"]),
    ("encode: input is not UTF-8", write_bytes("t.txt", b"fine\nbad \xff\xfe byte\n"), ENCODE,
     ["t.txt", "UTF-8"]),
    ("encode: --prompt-name unknown", write("t.txt", "hello\n"), [*ENCODE, "--prompt-name", "qery"],
     ["'qery'", "document, query"]),
    ("encode: --prompt and --prompt-name", write("t.txt", "hello\n"),
     [*ENCODE, "--prompt", "query:", "--prompt-name", "query"], ["--prompt", "--prompt-name", "not both"]),
    ("encode: no record has the text field", write("t.jsonl", '{"body": "a"}\n{"body": "b"}\n'),
     ["encode", "--model", "model", "--input", "t.jsonl", "--output", "o.npy"],
     ["t.jsonl", "\"text\"", "in no row", "\"body\"", "--field"]),
    ("encode: a record without the text field", write("t.jsonl", '{"text": "a"}\n{"body": "b"}\n'),
     ["encode", "--model", "model", "--input", "t.jsonl", "--output", "o.npy"], ["t.jsonl:2", "--field"]),
    ("encode: --output not .npy", write("t.txt", "hello\n"),
     ["encode", "--model", "model", "--input", "t.txt", "--output", "o.jsonl"], ["o.jsonl", ".npy", "o.npy"]),
    ("encode: --output in a missing folder", write("t.txt", "hello\n"),
     ["encode", "--model", "model", "--input", "t.txt", "--output", "no/o.npy"], ["no", "--output"]),
    # tokenize
    ("tokenize: --output not .jsonl", write("t.txt", "hello\n"),
     ["tokenize", "--model", "model", "--input", "t.txt", "--output", "ids.npy"], ["ids.npy", ".jsonl", "ids.jsonl"]),
    # mine
    ("mine: --output not .jsonl", pairs, ["mine", "--model", "model", "--input", "splits/train.jsonl", "--output",
                                          "mined.parquet"], ["mined.parquet", ".jsonl", "mined.jsonl"]),
    ("mine: --cache_folder names a file", pairs, [*MINE, "--cache_folder", "splits/train.jsonl"],
     ["splits/train.jsonl: cannot create directories: Not a directory; check the path"]),
    ("mine: --num_negatives 0", pairs, [*MINE, "--num_negatives", "0"], ["num_negatives", "at least 1"]),
    ("mine: range_min not below range_max", pairs, [*MINE, "--range_min", "5", "--range_max", "5"],
     ["range_min", "range_max"]),
    ("mine: more negatives than the range holds", pairs, [*MINE, "--range_max", "4", "--num_negatives", "5"],
     ["num_negatives", "range_max"]),
    ("mine: --output_format pairs", pairs, [*MINE, "--output_format", "pairs"], ["output_format", "n-tuple"]),
    ("mine: --sampling_strategy best", pairs, [*MINE, "--sampling_strategy", "best"], ["sampling_strategy"]),
    ("mine: --max_score abc", pairs, [*MINE, "--max_score", "abc"], ["--max_score", "abc"]),
    ("mine: --corpus without its text field", lambda d: pairs(d) or (d / "more.jsonl").write_text('{"body": "x"}\n'),
     [*MINE, "--corpus", "more.jsonl"], ["more.jsonl", "in no row", "--corpus-field"]),
    ("mine: the anchor field is missing", pairs, [*MINE, "--anchor_column_name", "question"],
     ["splits/train.jsonl", "question", "in no row", "--anchor_column_name"]),
    # train
    ("train: unknown key in the recipe", write("r.yaml", "lerning_rate: 1e-5\n"),
     ["train", "--config", "r.yaml", *TRAIN], ["r.yaml:1", "learning_rate"]),
    ("train: GISTEmbedLoss without a guide", pairs, ["train", *TRAIN, "--inner_loss", "GISTEmbedLoss"],
     ["guide_model", "GISTEmbedLoss"]),
    ("train: --margin_strategy squared", pairs,
     ["train", *TRAIN, "--inner_loss", "GISTEmbedLoss", "--guide_model", "model", "--margin_strategy", "squared"],
     ["margin_strategy", "squared"]),
    ("train: mined labeled pairs", labeled_pairs,
     ["train", "--model", "model", "--train", "labeled.jsonl", "--output_dir", "out", "--matryoshka_dims", "64"],
     ["labeled.jsonl:1", "label", "n-tuple"]),
    ("train: a mined file without ids, evaluated", mined_without_ids,
     ["train", "--model", "model", "--train", "mined.jsonl", "--eval", "splits/test.jsonl", "--output_dir", "out",
      "--matryoshka_dims", "64"], ["mined.jsonl:1", "eval_corpus"]),
    ("train: --per_device_train_batch_size 0", pairs, ["train", *TRAIN, "--per_device_train_batch_size", "0"],
     ["per_device_train_batch_size", "0"]),
    ("train: one training pair", one_pair,
     ["train", "--model", "model", "--train", "one.jsonl", "--output_dir", "out", "--matryoshka_dims", "64"],
     ["one.jsonl", "single row"]),
    ("train: every pair the same, with no_duplicates", duplicate_pairs,
     ["train", "--model", "model", "--train", "dups.jsonl", "--output_dir", "out", "--matryoshka_dims", "64",
      "--batch_sampler", "no_duplicates"], ["dups.jsonl", "single row", "no_duplicates"]),
    ("train: train_columns names a field no row has", pairs,
     ["train", *TRAIN, "--train_columns", "question,positive"],
     ["splits/train.jsonl", "question", "in no row", "train_columns"]),
    ("train: a row without its positive", write("pairs.jsonl", '{"anchor": "a", "positive": "b"}\n{"anchor": "c"}\n'),
     ["train", *TRAIN[:2], "--train", "pairs.jsonl", *TRAIN[4:]],
     ["pairs.jsonl:2", "positive", "train_columns"]),
    ("train: output_dir is a file", lambda d: pairs(d) or (d / "out").write_text("x"), ["train", *TRAIN],
     ["out", "output_dir names a file"]),
    ("train: --mini_batch_size 0", pairs,
     ["train", *TRAIN, "--inner_loss", "CachedMultipleNegativesRankingLoss", "--mini_batch_size", "0"],
     ["mini_batch_size", "0", ">= 1"]),
    ("train: an unknown loss", pairs, ["train", *TRAIN, "--loss", "CachedMNRL"],
     ["loss", "'CachedMNRL'", "CachedMultipleNegativesRankingLoss"]),
    ("train: inner_loss without MatryoshkaLoss", pairs,
     ["train", *TRAIN, "--loss", "MultipleNegativesRankingLoss", "--inner_loss",
      "CachedMultipleNegativesRankingLoss"], ["inner_loss", "loss: CachedMultipleNegativesRankingLoss"]),
    ("train: device gpu", pairs, ["train", *TRAIN, "--device", "gpu"],
     ["device: expected cpu, cuda or cuda:N, found 'gpu'; use cuda for the GPU"]),
    ("train: a Matryoshka dim larger than the model", pairs,
     ["train", *TRAIN, "--matryoshka_dims", "128,64"], ["matryoshka_dims", "128"]),
    ("train: resume with another max_steps", with_checkpoint(),
     ["train", *TRAIN, "--max_steps", "1", "--resume_from_checkpoint", "out/checkpoint-2"],
     ["out/checkpoint-2", "max_steps"]),
    ("train: a list written as two values", pairs,
     ["train", "--model", "model", "--train", "splits/train.jsonl", "--output_dir", "out", "--matryoshka_dims", "64", "32"],
     ["--matryoshka_dims takes one value, found '64' and then '32'; write the list with commas: "
      "--matryoshka_dims 64,32"]),
    ("train: resume from a checkpoint named without its folder", with_checkpoint(),
     ["train", *TRAIN, "--max_steps", "2", "--resume_from_checkpoint", "checkpoint-2"],
     ["found no folder checkpoint-2; give one of out/checkpoint-1, out/checkpoint-2", "or last"]),
    ("train: resume from a damaged checkpoint", with_checkpoint(flip_byte("out/checkpoint-2/model.safetensors")),
     ["train", *TRAIN, "--max_steps", "2", "--resume_from_checkpoint", "out/checkpoint-2"],
     ["out/checkpoint-2", "damaged"]),
    ("train: a checkpoint edited by hand",
     with_checkpoint(lambda d: edit_json(d / "out" / "checkpoint-1" / "rng_state.json",
                                         lambda r: r.update(torch_cpu="00ff"))),
     ["train", *TRAIN, "--max_steps", "2", "--resume_from_checkpoint", "out/checkpoint-1"],
     ["out/checkpoint-1/rng_state.json", "damaged"]),
    # run
    ("run: unknown key in the recipe", recipe("training:\n  learnng_rate: 1.0\n"), ["run", "recipe.yaml"],
     ["recipe.yaml:7", "training.learning_rate"]),
    ("run: a key the run sets itself", recipe("training:\n  per_device_eval_batch_size: 8\n"),
     ["run", "recipe.yaml"], ["recipe.yaml:7", "evaluation.batch_size"]),
    ("run: a section that is not a mapping", recipe("evaluation: 3\n"), ["run", "recipe.yaml"],
     ["recipe.yaml:6", "evaluation"]),
    ("run: an unknown precision in the recipe",
     lambda d: (recipe("evaluation:\n  precisions: [float32, int2]\n")(d), write("data.jsonl", '{"question": "q", "context": "c"}\n')(d)),
     ["run", "recipe.yaml"], ["evaluation.precisions", "int2"]),
    ("run: --output names a file", recipe(""), ["run", "recipe.yaml", "--output", "recipe.yaml"],
     ["recipe.yaml: output names a file; expected a folder"]),
    ("run: --set without '='", recipe(""), ["run", "recipe.yaml", "--set", "dims"], ["--set", "key=value"]),
    ("run: data file missing", recipe(""), ["run", "recipe.yaml"], ["data.input", "data.jsonl"]),
    # Several processes
    ("train under a launcher: RANK=2 with WORLD_SIZE=2",
     launched(WORLD_SIZE=2, RANK=2, MASTER_ADDR="127.0.0.1", MASTER_PORT=29999), ["train", *TRAIN],
     ["RANK", "[0, 1]"]),
    ("train under a launcher: WORLD_SIZE=2 without MASTER_ADDR", launched(WORLD_SIZE=2, RANK=1),
     ["train", *TRAIN], ["MASTER_ADDR", "torchrun"]),
    ("train: --ddp_timeout 0", pairs, ["train", *TRAIN, "--ddp_timeout", "0"], ["ddp_timeout"]),
    ("train: gather_across_devices with GISTEmbedLoss", pairs,
     ["train", *TRAIN, "--inner_loss", "GISTEmbedLoss", "--guide_model", "model", "--gather_across_devices",
      "true"], ["gather_across_devices", "GISTEmbedLoss"]),
    # The Hugging Face Hub (no network: each case fails before a request, or offline)
    ("download: a repository id with two slashes", None, ["download", "org/name/extra"],
     ["org/name/extra", "'org/name'"]),
    ("download: offline and not in the cache", launched(HF_HUB_OFFLINE="1", HF_HUB_CACHE="hub"),
     ["download", "org/absent"], ["org/absent", "HF_HUB_OFFLINE", "hub"]),
    ("push: the folder does not exist", None, ["push", "nowhere", "org/name"], ["nowhere", "not a folder"]),
    ("push: no token", launched(HF_TOKEN="", HUGGING_FACE_HUB_TOKEN="", HF_TOKEN_PATH="no-token"),
     ["push", "model", "org/name"], ["org/name", "HF_TOKEN", "no-token"]),
    ("prepare: an hf:// name that is not a dataset", None,
     ["prepare", "--input", "hf://models/org/name", "--output", "p"], ["hf://models/org/name", "hf://datasets/"]),
    ("train: push_to_hub without a token",
     launched(HF_TOKEN="", HUGGING_FACE_HUB_TOKEN="", HF_TOKEN_PATH="no-token"),
     ["train", *TRAIN, "--push_to_hub", "true"], ["push_to_hub", "HF_TOKEN"]),
    ("train: hub_model_id that is not a repository id", pairs,
     ["train", *TRAIN, "--push_to_hub", "true", "--hub_model_id", "a/b/c"], ["hub_model_id", "a/b/c"]),
    # convert, compare, the command line
    ("convert: --output is a folder that is not a model", non_model_folder,
     ["convert", "--model", "model", "--output", "mine"], ["mine", "not a model folder"]),
    ("convert: --output .", None, ["convert", "--model", "model", "--output", "."], ["current folder"]),
    ("compare: a results file is not JSON", write("a.json", "{"), ["compare", "a.json", "a.json"], ["a.json"]),
    ("an unknown flag", None, [*ENCODE, "--bogus", "1"], ["--bogus", "embedtune encode --help"]),
]


@pytest.fixture
def folder(tmp_path, testdata):
    work = tmp_path / "work"
    work.mkdir()
    shutil.copytree(testdata / "models" / "mean", work / "model")
    return work


def run_case(embedtune_bin, folder, setup, args):
    if setup:
        setup(folder)
    env = {**os.environ, "HF_HUB_CACHE": "hub", "EMBEDTUNE_PROGRESS": "0"}
    if (folder / "launch.env").exists():
        env.update(line.split("=", 1) for line in (folder / "launch.env").read_text().splitlines())
    before = sorted(p.relative_to(folder) for p in folder.rglob("*"))
    result = subprocess.run([str(embedtune_bin), *args], cwd=folder, capture_output=True, text=True, env=env)
    after = sorted(p.relative_to(folder) for p in folder.rglob("*"))
    return result, before, after


def readme_rows() -> dict[str, str]:
    text = README.read_text()
    table = text[text.index(BEGIN) + len(BEGIN): text.index(END)]
    rows = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else []
        if len(cells) == 3 and cells[0] not in ("Bad input", "---"):
            rows[cells[0]] = cells[2].strip("`").replace("\\|", "|")
    return rows


def markdown_row(name, args, message):
    command = " ".join(["embedtune", *args]).replace("|", "\\|")
    text = message.replace("|", "\\|")
    return f"| {name} | `{command}` | `{text}` |"


MESSAGES: dict[str, tuple[list, str]] = {}


@pytest.mark.parametrize("name, setup, args, needles", CASES, ids=[c[0] for c in CASES])
def test_bad_input_gives_the_readme_message(embedtune_bin, folder, name, setup, args, needles):
    result, before, after = run_case(embedtune_bin, folder, setup, args)
    lines = [line for line in result.stderr.splitlines() if line.startswith("embedtune: error: ")]
    assert result.returncode != 0, result.stderr
    assert "Traceback" not in result.stderr and "INTERNAL ASSERT" not in result.stderr, result.stderr
    assert len(lines) == 1, result.stderr
    assert result.stderr.rstrip("\n").endswith(lines[0]), "the error is the last line"
    message = lines[0][len("embedtune: error: "):]
    for needle in needles:
        assert needle in message, f"{needle!r} not in {message!r}"
    # Nothing new is left half-written: no temporary or staging entries.
    leftovers = [str(p) for p in set(after) - set(before) if re.search(r"\.tmp[-.]|\.old-", p.name)]
    assert not leftovers, leftovers
    MESSAGES[name] = (args, message)
    if os.environ.get("EMBEDTUNE_UPDATE_README") != "1":
        expected = readme_rows().get(name)
        assert expected is not None, f"README's table has no row {name!r}: run with EMBEDTUNE_UPDATE_README=1"
        assert message == expected


def test_the_readme_table_has_every_case_and_no_other(embedtune_bin):
    names = [c[0] for c in CASES]
    assert len(names) >= 40 and len(set(names)) == len(names)
    if os.environ.get("EMBEDTUNE_UPDATE_README") == "1":
        missing = [n for n in names if n not in MESSAGES]
        assert not missing, f"run the whole file to update the table; not run: {missing}"
        rows = ["| Bad input | Command | Message (after `embedtune: error: `) |", "|---|---|---|"]
        rows += [markdown_row(n, *MESSAGES[n]) for n in names]
        text = README.read_text()
        start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
        README.write_text(text[:start] + "\n" + "\n".join(rows) + "\n" + text[end:])
    assert list(readme_rows()) == names


def test_missing_model_names_places_looked(run, tmp_path):
    result = run("encode", "--model", "nobody/no-such-model", "--input", tmp_path / "t.txt", "--output",
                 tmp_path / "o.npy", check=False, env={**os.environ, "HF_HUB_CACHE": str(tmp_path / "hub")})
    assert result.returncode != 0
    assert "nobody/no-such-model" in result.stderr and str(tmp_path / "hub") in result.stderr


def test_model_id_resolves_from_hf_cache(run, tmp_path, testdata):
    repo = tmp_path / "hub" / "models--acme--tiny"
    shutil.copytree(testdata / "models" / "cls", repo / "snapshots" / "abc123")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("abc123")
    result = run("info", "--model", "acme/tiny", env={**os.environ, "HF_HUB_CACHE": str(tmp_path / "hub")})
    assert "snapshots/abc123" in result.stdout and "cls" in result.stdout


def test_help_shows_list_defaults_as_they_are_typed(run):
    # sentence-transformers' defaults, written the way the option takes them ("a,b,c").
    shown = run("evaluate", "--help").stdout
    assert "--accuracy-at-k LIST=1,3,5,10" in shown and "--score-functions LIST=cosine" in shown, shown
    assert "LIST=[" not in shown, shown
    # train lists its arguments itself: no "[]" for an empty list, no second default where the help
    # already gives one.
    train = run("train", "--help").stdout
    assert "(default: [])" not in train and "(default: null)" not in train, train
    assert "--greater_is_better" in train and "--per_device_train_batch_size    Pairs per micro-batch" in train


def test_every_command_has_help_and_help_command_shows_the_same(run):
    top = run("--help").stdout
    commands = re.findall(r"^  ([a-z]+) ", top.split("Subcommands:")[1], flags=re.M)
    assert len(commands) >= 12 and "train" in commands and "run" in commands, top
    assert run("help").stdout == top
    for command in commands:
        own = run(command, "--help")
        assert own.returncode == 0 and f"embedtune {command} [OPTIONS]" in own.stdout, command
        assert run("help", command).stdout == own.stdout, command
    # A mistyped command after help is reported as such, not answered with the general help.
    typo = run("help", "evaulate", check=False)
    assert typo.returncode == 2 and "unknown command 'evaulate' (did you mean 'evaluate'?)" in typo.stderr
