"""Parquet datasets and `split: datasets`, against pyarrow and Hugging Face datasets (the oracles).

- `embedtune prepare` on Parquet files (pyarrow-written: several row groups, snappy / zstd / gzip /
  no compression, string and large_string columns, nulls, an extra int column) writes exactly the
  files it writes for the same rows as JSON Lines;
- the rows our Arrow-based reader yields are the rows pyarrow reads, and with `--split datasets`
  prepare's train and test are exactly datasets' `Dataset.train_test_split(test_size, seed)`;
- `mine` and `encode` read a .parquet input as they read the same rows in JSON Lines, and `run`
  prepares a recipe's Parquet dataset;
- damaged and non-Parquet files, missing columns and nulls in a text column give one-line errors
  (the README's bad-input table has them too: tests/python/test_bad_input.py).
"""
import json
import pathlib

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datasets import Dataset

TEXTS = ["plain words", "caf\u00e9 cr\u00e8me", "\u6f22\u5b57\u3068\u304b\u306a", "emoji \U0001f600 here",
         'quotes "double" and \\ backslash', "tab\tand\nnewline", "  padded  ", "x" * 300]


def make_rows(n: int, nulls: bool = False) -> list[dict]:
    """Rows with a question, a context and an extra int column; with `nulls`, some text is null."""
    rows = []
    for i in range(n):
        question = f"q{i}: {TEXTS[i % len(TEXTS)]}?"
        context = f"c{i}: {TEXTS[(i * 3 + 1) % len(TEXTS)]}."
        if nulls and i % 11 == 3:
            question = None
        if nulls and i % 13 == 5:
            context = None
        rows.append({"question": question, "context": context, "n": i * 7 - 20})
    return rows


def write_jsonl(path: pathlib.Path, rows: list[dict]) -> pathlib.Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def write_parquet(path: pathlib.Path, rows: list[dict], compression="snappy", string_type=pa.string(),
                  row_group_size=None) -> pathlib.Path:
    schema = pa.schema([("question", string_type), ("context", string_type), ("n", pa.int64())])
    table = pa.Table.from_pylist(rows, schema=schema)
    pq.write_table(table, path, compression=compression, row_group_size=row_group_size)
    return path


def prepare(run, data: pathlib.Path, out: pathlib.Path, *extra) -> dict[str, str]:
    run("prepare", "--input", data, "--output", out, *extra)
    return {name: (out / name).read_text(encoding="utf-8") for name in ["train.jsonl", "test.jsonl", "summary.json"]}


def comparable_summary(text: str, data: pathlib.Path) -> dict:
    summary = json.loads(text)
    assert summary.pop("input") == str(data)
    summary.pop("format")
    summary["skipped_examples"] = [m.replace(str(data), "FILE") for m in summary["skipped_examples"]]
    return summary


@pytest.mark.parametrize("compression, string_type, row_group_size", [
    ("snappy", pa.string(), 7),
    ("zstd", pa.large_string(), 10),
    ("gzip", pa.string(), None),
    ("none", pa.large_string(), 1),
])
def test_prepare_writes_the_same_files_for_parquet_as_for_json_lines(run, tmp_path, compression, string_type,
                                                                      row_group_size):
    rows = make_rows(60, nulls=True)
    jsonl = write_jsonl(tmp_path / "d.jsonl", rows)
    parquet = write_parquet(tmp_path / "d.parquet", rows, compression, string_type, row_group_size)
    meta = pq.ParquetFile(parquet).metadata
    assert meta.num_row_groups == (1 if row_group_size is None else -(-60 // row_group_size))
    assert meta.row_group(0).column(0).compression == ("UNCOMPRESSED" if compression == "none" else compression.upper())
    skipped = sum(1 for r in rows if r["question"] is None or r["context"] is None)
    for split in ["portable", "datasets"]:
        args = ["--skip-invalid", "--test-size", "0.2", "--seed", "7", "--split", split]
        expected = prepare(run, jsonl, tmp_path / f"from-jsonl-{split}", *args)
        ours = prepare(run, parquet, tmp_path / f"from-parquet-{split}", *args)
        assert ours["train.jsonl"] == expected["train.jsonl"]
        assert ours["test.jsonl"] == expected["test.jsonl"]
        summary = json.loads(ours["summary.json"])
        assert summary["format"] == "parquet" and summary["rows_skipped_invalid"] == skipped
        assert comparable_summary(ours["summary.json"], parquet) == comparable_summary(expected["summary.json"], jsonl)


def read_split(folder: pathlib.Path, name: str) -> list[dict]:
    return [json.loads(line) for line in (folder / name).read_text(encoding="utf-8").splitlines()]


def test_rows_read_are_pyarrows_and_the_split_is_datasets(run, tmp_path):
    """Ids from the file's own int column, texts of every kind; prepare with --split datasets gives
    the rows datasets' train_test_split gives on the table pyarrow reads."""
    rows = [{"id": 1000 + 3 * i, **r} for i, r in enumerate(make_rows(45))]
    parquet = tmp_path / "d.parquet"
    table = pa.Table.from_pylist(rows, schema=pa.schema([("id", pa.int64()), ("question", pa.large_string()),
                                                         ("context", pa.string()), ("n", pa.int32())]))
    pq.write_table(table, parquet, row_group_size=8, compression="zstd")
    run("prepare", "--input", parquet, "--output", tmp_path / "out", "--split", "datasets", "--test-size", "0.2",
        "--seed", "42")
    oracle = Dataset(pq.read_table(parquet)).rename_columns({"question": "anchor", "context": "positive"})
    split = oracle.train_test_split(test_size=0.2, seed=42)
    for name in ["train", "test"]:
        expected = [{"id": r["id"], "anchor": r["anchor"], "positive": r["positive"]} for r in split[name]]
        assert read_split(tmp_path / "out", f"{name}.jsonl") == expected


# (rows, test_size, seed): fractions and counts, 2 to 1,003 rows, seeds from 0 to 2^63 - 1 (one of
# them past 2^32, which numpy's SeedSequence takes as two 32-bit words).
SPLITS = [(2, 1, 0), (5, 0.2, 42), (10, 3, 2**32 + 5), (37, 0.1, 2**63 - 1), (37, 0.1, 1), (1003, 0.1, 42),
          (1003, 250, 0), (1003, 0.25, 2**32 + 5)]


@pytest.fixture(scope="module")
def id_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ids")
    files = {}
    for n in sorted({n for n, _, _ in SPLITS}):
        rows = [{"question": f"question {i}", "context": f"context {i}"} for i in range(n)]
        files[n] = write_jsonl(folder / f"rows{n}.jsonl", rows)
    return files


@pytest.mark.parametrize("n, test_size, seed", SPLITS)
def test_split_datasets_matches_train_test_split(run, tmp_path, id_files, n, test_size, seed):
    run("prepare", "--input", id_files[n], "--output", tmp_path, "--split", "datasets", "--test-size", test_size,
        "--seed", seed)
    split = Dataset.from_dict({"id": list(range(n))}).train_test_split(test_size=test_size, seed=seed)
    for name in ["train", "test"]:
        assert [r["id"] for r in read_split(tmp_path, f"{name}.jsonl")] == split[name]["id"], name
    assert json.loads((tmp_path / "summary.json").read_text())["split"] == "datasets"


def test_the_default_split_stays_the_portable_one(run, tmp_path, id_files):
    default = prepare(run, id_files[37], tmp_path / "default")
    portable = prepare(run, id_files[37], tmp_path / "portable", "--split", "portable")
    assert default == portable and json.loads(default["summary.json"])["split"] == "portable"
    datasets = prepare(run, id_files[37], tmp_path / "datasets", "--split", "datasets")
    assert datasets["test.jsonl"] != default["test.jsonl"]


def test_value_types_come_through_as_pyarrow_reads_them(run, tmp_path):
    """Ints of every width, floats, bools, nulls, dictionaries, lists and structs beside the texts:
    prepare keeps only its columns, so read them back through an "id" column of each kind."""
    n = 6
    base = {"question": [f"q{i}" for i in range(n)], "context": [f"c{i}" for i in range(n)]}
    extras = {
        "u8": pa.array(range(n), pa.uint8()), "i16": pa.array([-i for i in range(n)], pa.int16()),
        "u64": pa.array([2**63 + i for i in range(n)], pa.uint64()), "f32": pa.array([0.5 * i for i in range(n)], pa.float32()),
        "flag": pa.array([i % 2 == 0 for i in range(n)]), "nothing": pa.nulls(n),
        "cat": pa.array(["a", "b", "c", "d", "e", "f"]).dictionary_encode(),
        "tags": pa.array([[f"t{i}", None] for i in range(n)], pa.list_(pa.string())),
        "meta": pa.array([{"k": i, "v": f"s{i}"} for i in range(n)]),
    }
    table = pa.table({**{k: pa.array(v) for k, v in base.items()}, **extras})
    parquet = tmp_path / "types.parquet"
    pq.write_table(table, parquet)
    # Each string-or-integer column can be the id column, and comes out as pyarrow reads it.
    for column in ["u8", "i16", "u64", "cat"]:
        renamed = table.rename_columns(["id" if c == column else c for c in table.column_names])
        path = tmp_path / f"{column}.parquet"
        pq.write_table(renamed, path)
        run("prepare", "--input", path, "--output", tmp_path / column, "--test-size", "2", "--split", "datasets")
        got = sorted(r["id"] for name in ["train.jsonl", "test.jsonl"] for r in read_split(tmp_path / column, name))
        assert got == sorted(pq.read_table(path).column("id").to_pylist()), column
    # A struct is read as a JSON object, so as a text column it is named as one.
    result = run("prepare", "--input", parquet, "--output", tmp_path / "meta", "--anchor-column", "meta", check=False)
    assert result.returncode != 0 and 'column "meta": expected a string, found an object' in result.stderr


@pytest.fixture
def tiny_model(testdata):
    return testdata / "models" / "mean"


def test_encode_and_mine_read_parquet_as_json_lines(run, tmp_path, tiny_model):
    rows = [{"anchor": f"where is the {w} number {i}?", "positive": f"The {w} {i} is here."}
            for i, w in enumerate(["river", "stone", "cloud", "lamp", "garden", "engine"] * 4)]
    jsonl = write_jsonl(tmp_path / "pairs.jsonl", rows)
    parquet = tmp_path / "pairs.parquet"
    pq.write_table(pa.Table.from_pylist(rows), parquet, row_group_size=5)
    for path, stem in [(jsonl, "j"), (parquet, "p")]:
        run("encode", "--model", tiny_model, "--input", path, "--field", "anchor", "--output", tmp_path / f"{stem}.npy")
        run("mine", "--model", tiny_model, "--input", path, "--output", tmp_path / f"{stem}.mined.jsonl",
            "--num_negatives", "2")
    assert np.load(tmp_path / "j.npy").shape == (24, 64)
    assert np.array_equal(np.load(tmp_path / "j.npy"), np.load(tmp_path / "p.npy"))
    assert (tmp_path / "j.mined.jsonl").read_text() == (tmp_path / "p.mined.jsonl").read_text()


def test_run_prepares_a_parquet_dataset(run, tmp_path, tiny_model):
    rows = make_rows(40)
    parquet = write_parquet(tmp_path / "d.parquet", rows, row_group_size=16)
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(f"model: {tiny_model}\noutput: {tmp_path / 'out'}\ndims: [16]\n"
                      f"data:\n  input: {parquet}\n  test_size: 8\n  split: datasets\n"
                      "training:\n  max_steps: 1\n  per_device_train_batch_size: 8\n")
    run("run", recipe)
    expected = prepare(run, write_jsonl(tmp_path / "d.jsonl", rows), tmp_path / "p", "--test-size", "8",
                       "--split", "datasets")
    for name in ["train.jsonl", "test.jsonl"]:
        assert (tmp_path / "out" / "data" / name).read_text(encoding="utf-8") == expected[name]


# Errors: one line naming the file, what was expected and what to do.

def error_of(run, *args) -> str:
    result = run(*args, check=False)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("embedtune: error: "), result.stderr
    return lines[0][len("embedtune: error: "):]


def test_damaged_and_foreign_files(run, tmp_path):
    good = write_parquet(tmp_path / "good.parquet", make_rows(30), row_group_size=10)
    data = good.read_bytes()
    (tmp_path / "cut.parquet").write_bytes(data[: len(data) // 2])
    message = error_of(run, "prepare", "--input", tmp_path / "cut.parquet", "--output", tmp_path / "o")
    assert f"{tmp_path / 'cut.parquet'}: expected a readable Parquet file, found a damaged one" in message
    assert "write the file again" in message
    # A page's bytes scrambled after an intact footer: the damage shows while reading a row group.
    scrambled = bytearray(data)
    for k in range(8, 200):
        scrambled[k] ^= 0x5A
    (tmp_path / "scrambled.parquet").write_bytes(bytes(scrambled))
    message = error_of(run, "prepare", "--input", tmp_path / "scrambled.parquet", "--output", tmp_path / "o")
    assert "scrambled.parquet" in message
    (tmp_path / "csv.parquet").write_text("question,context\nq,c\n")
    message = error_of(run, "prepare", "--input", tmp_path / "csv.parquet", "--output", tmp_path / "o")
    assert "csv.parquet: expected a Parquet file" in message
    assert not (tmp_path / "o").exists()


def test_missing_column_null_text_and_unsupported_types(run, tmp_path):
    parquet = write_parquet(tmp_path / "d.parquet", make_rows(8, nulls=True))
    message = error_of(run, "prepare", "--input", parquet, "--output", tmp_path / "o", "--positive-column", "answer")
    assert message == (f'{parquet}: expected a column "answer" in the Parquet file, found columns "context", "n", '
                       f'"question"; pass --positive-column NAME to use another column')
    message = error_of(run, "prepare", "--input", parquet, "--output", tmp_path / "o")
    assert message == (f'{parquet}:4: column "question": expected a string, found null; '
                       "fix the row or pass --skip-invalid")
    message = error_of(run, "mine", "--model", "unused", "--input", parquet, "--output", tmp_path / "m.jsonl",
                       "--anchor_column_name", "question", "--positive_column_name", "context")
    assert f"{parquet}:4:" in message and "question" in message
    binary = tmp_path / "b.parquet"
    pq.write_table(pa.table({"question": ["q"], "context": ["c"], "blob": pa.array([b"\x00"], pa.binary())}), binary)
    message = error_of(run, "prepare", "--input", binary, "--output", tmp_path / "o")
    assert message.startswith(f'{binary}: column "blob": expected text, numbers, booleans, lists or structs, '
                              "found Arrow type binary")
    message = error_of(run, "prepare", "--input", parquet, "--output", tmp_path / "o", "--split", "numpy")
    assert message.startswith("prepare: --split: expected portable")
