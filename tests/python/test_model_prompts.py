"""Prompts saved in a model folder (config_sentence_transformers.json's "prompts" and
"default_prompt_name"), applied as sentence-transformers 6.2 applies them: `embedtune encode` as
SentenceTransformer.encode (default_prompt_name, prompt_name=), `embedtune evaluate` as
InformationRetrievalEvaluator (queries through encode_query, the corpus through encode_document),
and `embedtune convert` keeping them. Expected values come from the installed sentence-transformers.
"""
import json
import shutil

import numpy as np
import pytest
from conftest import make_pairs
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator
from test_encode_parity import varied_texts, write_jsonl

TOLERANCE = 1e-5
PROMPTS = {"query": "Instruct: Given a question, retrieve passages that answer it\nQuery: ",
           "document": "passage: ", "title": "Title of the page: ", "empty": None}


def model_with_prompts(testdata, folder, prompts=PROMPTS, default_prompt_name=None):
    """The tiny `mean` model copied to `folder`, with `prompts` saved in its config."""
    shutil.copytree(testdata / "models" / "mean", folder)
    path = folder / "config_sentence_transformers.json"
    config = json.loads(path.read_text())
    config.update(prompts=prompts, default_prompt_name=default_prompt_name)
    path.write_text(json.dumps(config))
    return folder


def encode(run, tmp_path, model, texts, *flags):
    write_jsonl(tmp_path / "texts.jsonl", texts)
    run("encode", "--model", model, "--input", tmp_path / "texts.jsonl", "--output", tmp_path / "out.npy", *flags)
    return np.load(tmp_path / "out.npy")


def max_diff(a, b):
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.abs(a - np.asarray(b, dtype=np.float32)).max())


@pytest.fixture(scope="module")
def texts():
    return varied_texts(30)


def test_default_prompt_name_applies_as_st_encode(run, tmp_path, testdata, texts):
    model = model_with_prompts(testdata, tmp_path / "m", default_prompt_name="title")
    st = SentenceTransformer(str(model), device="cpu")
    assert st.default_prompt_name == "title"
    ours = encode(run, tmp_path, model, texts)
    diff = max_diff(ours, st.encode(texts, convert_to_numpy=True))
    print(f"default prompt: max |diff| = {diff:.3e}")
    assert diff <= TOLERANCE
    # The prompt matters: without it the embeddings are others.
    assert max_diff(ours, st.encode(texts, prompt="", convert_to_numpy=True)) > 1e-3
    # An explicit --prompt, even an empty one, wins over the default, as ST's prompt= does.
    assert max_diff(encode(run, tmp_path, model, texts, "--prompt", ""),
                    st.encode(texts, prompt="", convert_to_numpy=True)) <= TOLERANCE


@pytest.mark.parametrize("name", ["query", "document", "title", "empty"])
def test_prompt_name_applies_as_st_prompt_name(run, tmp_path, testdata, texts, name):
    model = model_with_prompts(testdata, tmp_path / "m")
    st = SentenceTransformer(str(model), device="cpu")
    ours = encode(run, tmp_path, model, texts, "--prompt-name", name)
    diff = max_diff(ours, st.encode(texts, prompt_name=name, convert_to_numpy=True))
    print(f"--prompt-name {name}: max |diff| = {diff:.3e}")
    assert diff <= TOLERANCE
    if name == "query":
        assert max_diff(ours, st.encode_query(texts, convert_to_numpy=True)) <= TOLERANCE
    if name == "document":
        assert max_diff(ours, st.encode_document(texts, convert_to_numpy=True)) <= TOLERANCE


def test_prompt_name_errors(run, tmp_path, testdata):
    model = model_with_prompts(testdata, tmp_path / "m")
    (tmp_path / "t.txt").write_text("hello\n")
    args = ["encode", "--model", model, "--input", tmp_path / "t.txt", "--output", tmp_path / "o.npy"]
    result = run(*args, "--prompt-name", "qery", check=False)
    assert result.returncode != 0 and "'qery'" in result.stderr
    assert "document, empty, query, title" in result.stderr
    result = run(*args, "--prompt", "q: ", "--prompt-name", "query", check=False)
    assert result.returncode != 0 and "--prompt-name" in result.stderr
    assert not (tmp_path / "o.npy").exists()


def test_convert_keeps_the_prompts(run, tmp_path, testdata, texts):
    model = model_with_prompts(testdata, tmp_path / "m", default_prompt_name="title")
    run("convert", "--model", model, "--output", tmp_path / "converted")
    original = SentenceTransformer(str(model), device="cpu")
    converted = SentenceTransformer(str(tmp_path / "converted"), device="cpu")
    assert converted.prompts == original.prompts and converted.default_prompt_name == "title"
    assert max_diff(encode(run, tmp_path, tmp_path / "converted", texts),
                    original.encode(texts, convert_to_numpy=True)) <= TOLERANCE


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    return make_pairs(tmp_path_factory.mktemp("pairs"), rows=64, test_rows=16)


def st_results(model, pairs, dims, **prompt_kwargs):
    """sentence-transformers' InformationRetrievalEvaluator per dim, as test_evaluate_parity runs it."""
    train = [json.loads(line) for line in (pairs / "train.jsonl").read_text().splitlines()]
    test = [json.loads(line) for line in (pairs / "test.jsonl").read_text().splitlines()]
    corpus = {str(r["id"]): r["positive"] for r in train + test}
    queries = {str(r["id"]): r["anchor"] for r in test}
    st = SentenceTransformer(str(model), device="cpu")
    results = {}
    for d in dims:
        ev = InformationRetrievalEvaluator(queries=queries, corpus=corpus, relevant_docs={q: {q} for q in queries},
                                           name=f"dim_{d}", truncate_dim=d, write_csv=False, **prompt_kwargs)
        results.update(ev(st))
    return results, st, list(queries.values()), list(corpus.values())


@pytest.mark.parametrize("flags, st_kwargs", [
    ((), {}),  # the model's "query" and "document" prompts, through encode_query / encode_document
    (("--query-prompt-name", "title", "--corpus-prompt", "text: "), {"query_prompt_name": "title",
                                                                     "corpus_prompt": "text: "}),
], ids=["model-prompts", "named-and-explicit"])
def test_evaluate_matches_st_evaluator(run, tmp_path, testdata, pairs, flags, st_kwargs):
    model = model_with_prompts(testdata, tmp_path / "m", default_prompt_name="title")
    dims = [64, 32]
    run("evaluate", "--model", model, "--train", pairs / "train.jsonl", "--test", pairs / "test.jsonl",
        "--dims", ",".join(map(str, dims)), "--output", tmp_path / "r.json", "--save-embeddings", tmp_path / "emb", *flags)
    ours = json.loads((tmp_path / "r.json").read_text())
    expected, st, queries, corpus = st_results(model, pairs, dims, **st_kwargs)
    worst = max(abs(ours[k] - v) for k, v in expected.items())
    print(f"evaluate with prompts {flags}: {len(expected)} metrics, max |diff| = {worst:.3e}")
    assert len(expected) == len(dims) * 15 and worst <= 1e-4
    # The vectors themselves: queries as encode_query, the corpus as encode_document.
    query_vectors = st.encode_query(queries, convert_to_numpy=True, prompt_name=st_kwargs.get("query_prompt_name"))
    corpus_vectors = st.encode_document(corpus, convert_to_numpy=True, prompt=st_kwargs.get("corpus_prompt"))
    assert max_diff(np.load(tmp_path / "emb" / "queries.npy"), query_vectors) <= TOLERANCE
    assert max_diff(np.load(tmp_path / "emb" / "corpus.npy"), corpus_vectors) <= TOLERANCE
    # The prompts matter here: the bare model's query vectors are others.
    assert max_diff(np.load(tmp_path / "emb" / "queries.npy"), st.encode(queries, prompt="")) > 1e-3


@pytest.mark.parametrize("folder", ["mean", "cls", "max", "mean_sqrt_len_tokens", "weightedmean", "lasttoken", "qwen3",
                                    "qwen3_chat"])
def test_include_prompt_false_leaves_the_prompt_out_of_pooling(run, tmp_path, testdata, texts, folder):
    """Pooling with include_prompt false, as ST masks the prompt: [CLS] and the prompt's tokens
    are left out of every mode, the other tokens keep their position weights (weightedmean)."""
    model = tmp_path / "m"
    shutil.copytree(testdata / "models" / folder, model)
    pooling = model / "1_Pooling" / "config.json"
    config = json.loads(pooling.read_text())
    config["include_prompt"] = False
    pooling.write_text(json.dumps(config))
    st = SentenceTransformer(str(model), device="cpu")
    assert st[1].include_prompt is False
    prompt = "Represent this sentence for searching relevant passages: "
    ours = encode(run, tmp_path, model, texts, "--prompt", prompt)
    expected = st.encode(texts, prompt=prompt, convert_to_numpy=True)
    diff = max_diff(ours, expected)
    print(f"{folder}, include_prompt false: max |diff| = {diff:.3e}")
    assert diff <= TOLERANCE
    # Leaving the prompt out changes the embeddings (for every mode but lasttoken, whose last token
    # is never part of the prompt).
    if st[1].pooling_mode != "lasttoken":
        included = SentenceTransformer(str(testdata / "models" / folder), device="cpu")
        assert max_diff(ours, included.encode(texts, prompt=prompt, convert_to_numpy=True)) > 1e-4


# A chat template that reads the variable "task", as task-aware embedders ship (query augmentation
# tokens after a query): sentence-transformers passes task="query" from encode_query and
# task="document" from encode_document, and nothing from encode (nor in training).
TASK_TAIL = ("{%- if task == 'query' %}{{- '<|im_start|>query\\n' }}"
             "{%- elif task == 'document' %}{{- 'document<|im_end|>\\n' }}{%- endif %}")


@pytest.fixture(scope="module")
def task_chat_model(testdata, tmp_path_factory):
    """The tiny qwen3_chat model (ChatML, last-token pooling, a "query" prompt) with TASK_TAIL
    appended to its chat template."""
    folder = tmp_path_factory.mktemp("task-chat") / "m"
    shutil.copytree(testdata / "models" / "qwen3_chat", folder)
    template = folder / "chat_template.jinja"
    template.write_text(template.read_text(encoding="utf-8") + TASK_TAIL, encoding="utf-8")
    st = SentenceTransformer(str(folder), device="cpu")
    assert st[0]._chat_template_declares_task()
    return folder, st


@pytest.fixture(scope="module")
def task_texts(texts):
    # Long ones too: cut at max_seq_length, they get the task's tail restored.
    return texts + [" ".join(["token"] * n) for n in (150, 400)]


@pytest.mark.parametrize("task", ["query", "document", None])
def test_chat_template_reading_task_gets_it_as_st_encode_query_and_document(run, tmp_path, task_chat_model,
                                                                          task_texts, task):
    folder, st = task_chat_model
    flags = ["--task", task] if task else []
    ours = encode(run, tmp_path, folder, task_texts, *flags)
    oracle = {"query": st.encode_query, "document": st.encode_document, None: st.encode}[task]
    diff = max_diff(ours, oracle(task_texts, convert_to_numpy=True))
    print(f"task-reading chat template, --task {task}: max |diff| = {diff:.3e}")
    assert diff <= TOLERANCE
    # The ids, cut ones included: the task's tail is rendered and restored as ST does.
    (tmp_path / "long.txt").write_text(task_texts[-1] + "\n" + task_texts[0] + "\n")
    run("tokenize", "--model", folder, "--input", tmp_path / "long.txt", "--output", tmp_path / "ids.jsonl", *flags)
    ids = [json.loads(line)["input_ids"] for line in (tmp_path / "ids.jsonl").read_text().splitlines()]
    for text, got in zip([task_texts[-1], task_texts[0]], ids):
        expected = st[0].preprocess([text], task=task)["input_ids"][0].tolist()
        assert got == expected
    assert len(ids[0]) == st.max_seq_length
    # The task matters: rendered with another one (same prompt), the embeddings are others.
    if task:
        other = st.encode(task_texts, prompt=st.prompts[task] or None, convert_to_numpy=True)
        assert max_diff(ours, other) > 1e-3


def test_evaluate_and_mine_pass_the_task_to_the_chat_template(run, tmp_path, task_chat_model, pairs):
    """evaluate: queries as encode_query, the corpus as encode_document (InformationRetrievalEvaluator);
    mine: the same (mine_hard_negatives)."""
    folder, st = task_chat_model
    dims = [64, 32]
    run("evaluate", "--model", folder, "--train", pairs / "train.jsonl", "--test", pairs / "test.jsonl",
        "--dims", ",".join(map(str, dims)), "--output", tmp_path / "r.json", "--save-embeddings", tmp_path / "emb")
    ours = json.loads((tmp_path / "r.json").read_text())
    expected, _, queries, corpus = st_results(folder, pairs, dims)
    worst = max(abs(ours[k] - v) for k, v in expected.items())
    print(f"evaluate, task-reading chat template: max |diff| = {worst:.3e}")
    assert worst <= 1e-4
    assert max_diff(np.load(tmp_path / "emb" / "queries.npy"), st.encode_query(queries)) <= TOLERANCE
    assert max_diff(np.load(tmp_path / "emb" / "corpus.npy"), st.encode_document(corpus)) <= TOLERANCE

    from datasets import Dataset
    from sentence_transformers.util import mine_hard_negatives
    rows = [json.loads(line) for line in (pairs / "train.jsonl").read_text().splitlines()]
    dataset = Dataset.from_dict({"anchor": [r["anchor"] for r in rows], "positive": [r["positive"] for r in rows]})
    mined = [dict(r) for r in mine_hard_negatives(dataset, st, num_negatives=2, output_format="n-tuple",
                                                 output_scores=True, verbose=False)]
    run("mine", "--model", folder, "--input", pairs / "train.jsonl", "--output", tmp_path / "mined.jsonl",
        "--num_negatives", 2, "--output_format", "n-tuple", "--output_scores")
    ours = [json.loads(line) for line in (tmp_path / "mined.jsonl").read_text().splitlines()]
    assert [(r["anchor"], r["negative_1"], r["negative_2"]) for r in ours] == \
        [(r["anchor"], r["negative_1"], r["negative_2"]) for r in mined]
    assert max(abs(a - b) for o, m in zip(ours, mined) for a, b in zip(o["scores"], m["scores"])) <= 1e-5
