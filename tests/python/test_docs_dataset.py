"""tools/build_docs_dataset.py: deterministic, markup-free (question, context) rows from the docs.

Reads the python3.11-doc sources installed on the machine at test time (never committed).
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

SOURCE_DIR = Path(os.environ.get("EMBEDTUNE_SOURCE_DIR", Path(__file__).resolve().parents[2]))
BUILDER = SOURCE_DIR / "tools" / "build_docs_dataset.py"
DOCS = Path("/usr/share/doc/python3.11/html/_sources")

# Markup that must not survive cleaning.
LEFTOVERS = {
    "role": re.compile(r":[\w-]+:`"),
    "inline literal": re.compile(r"``"),
    "directive": re.compile(r"(?m)^\.\. ([\w:-]+::|_[^\n]*:\s*$|\[[^\]\n]*\]|\|[^|\n]+\|)"),
    "heading underline": re.compile(r"(?m)^([=\-~^*#\"+`'])\1{3,}\s*$"),
    "substitution": re.compile(r"(?<![\w|])\|[A-Za-z][\w -]*\|(?![\w|])"),
}


def build(tmp_path, name, *extra):
    assert DOCS.joinpath("glossary.rst.txt").is_file(), (
        f"{DOCS}: the python3.11-doc sources are needed (apt-get install python3.11-doc)")
    out = tmp_path / name / "python-docs-qa.jsonl"
    result = subprocess.run([sys.executable, str(BUILDER), "--output", str(out), *extra],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    return out, result.stdout


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("docs")
    first, stdout = build(tmp, "a")
    second, _ = build(tmp, "b")
    return first, second, stdout


@pytest.fixture(scope="module")
def rows(built):
    return [json.loads(line) for line in built[0].read_text(encoding="utf-8").splitlines()]


def test_two_builds_are_byte_identical(built):
    first, second, _ = built
    assert first.read_bytes() == second.read_bytes()


def test_prints_size_and_length_stats(built):
    stdout = built[2]
    assert re.search(r"wrote \d+ rows", stdout)
    assert "question  chars: min" in stdout and "context   chars: min" in stdout


def test_enough_rows_of_every_source(rows):
    assert len(rows) >= 1000
    assert {row["source"] for row in rows} == {"faq", "section", "glossary"}
    for row in rows:
        assert set(row) == {"question", "context", "source", "doc"}


def test_no_empty_texts(rows):
    for row in rows:
        assert row["question"].strip(), row
        assert len(row["context"].strip()) >= 40, row
        assert len(row["context"]) <= 2000, row


def test_faq_questions_end_with_question_mark(rows):
    faq = [row for row in rows if row["source"] == "faq"]
    assert faq
    assert all(row["question"].endswith("?") for row in faq)
    assert all(row["doc"].startswith("faq/") for row in faq)


def test_no_markup_left(rows):
    for name, pattern in LEFTOVERS.items():
        hits = [row for row in rows
                if pattern.search(row["question"]) or pattern.search(row["context"])]
        assert not hits, f"{name} left in {len(hits)} rows, e.g. {hits[0]['doc']}: " \
                         f"{hits[0]['question']!r}"


def test_known_rows(rows):
    by_question = {row["question"]: row for row in rows}
    # A heading path with the em dash Sphinx renders for '---'.
    assert "Built-in Types > Numeric Types — int, float, complex" in by_question
    glossary = by_question["abstract base class"]
    assert glossary["source"] == "glossary"
    # :term:`duck-typing` and :func:`hasattr` reduced to their text.
    assert "complement duck-typing by providing a way to define interfaces" in glossary["context"]
    assert "hasattr" in glossary["context"]
    assert by_question["What is Python?"]["source"] == "faq"


def test_max_rows_keeps_every_source(tmp_path):
    out, _ = build(tmp_path, "small", "--max-rows", "300")
    small = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(small) == 300
    assert {row["source"] for row in small} == {"faq", "section", "glossary"}
