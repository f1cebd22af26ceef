#!/usr/bin/env python3
"""Builds the default demo dataset: (question, context) pairs from the Python documentation.

Reads the reST sources Debian's python3.11-doc installs (/usr/share/doc/python3.11/html/_sources)
and writes JSON Lines rows {"question", "context", "source", "doc"} where source is
  faq       a FAQ heading ending in '?' (faq/*.rst.txt) and the answer under it,
  glossary  a glossary term (glossary.rst.txt) and its definition,
  section   a heading path such as "Built-in Types > Numeric Types — int, float, complex" and
            the section's own text (up to its first subsection).
Markup is reduced to plain text: roles (:func:`foo` -> foo), ``literals``, hyperlinks, emphasis,
substitutions, comments, directives (index, toctree, versionadded, ... are dropped; notes,
warnings and API descriptions keep their text), heading underlines and table borders. Code
blocks are kept only when short (we retrieve prose; a few lines of code help a question about a
snippet), longer ones are dropped. Texts shorter than --min-chars are skipped, longer than
--max-chars are cut at a word boundary. The output is deterministic (sorted walk, stable order).

The documentation text is third-party: run this at build or test time, never commit its output.
Standard library only.
"""

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
from pathlib import Path

DEFAULT_SOURCES = "/usr/share/doc/python3.11/html/_sources"
DEFAULT_OUTPUT = "data/python-docs-qa.jsonl"

# Folders whose sections become rows; whatsnew (change logs), distutils and install (legacy) and
# includes (fragments) are left out as noise for retrieval.
SECTION_DIRS = ("tutorial", "library", "reference", "howto", "using", "extending", "c-api",
                "installing", "distributing", "faq")

SUBSTITUTIONS = {"version": "3.11", "release": "3.11"}

# Directives whose whole block is dropped (metadata, navigation, change notes, includes).
DROP = {
    "index", "toctree", "contents", "highlight", "highlightlang", "sectionauthor", "moduleauthor",
    "module", "currentmodule", "testsetup", "testcleanup", "image", "figure", "raw",
    "tabularcolumns", "include", "literalinclude", "productionlist", "rubric", "availability",
    "audit-event", "audit-event-table", "versionadded", "versionchanged", "deprecated",
    "deprecated-removed", "seealso", "csv-table", "program", "default-role", "role",
    "limited-api-list", "miscnews", "c:namespace", "c:namespace-push", "c:namespace-pop",
    "glossary", "epigraph",
}
# Directives whose content is code.
CODE = {"code-block", "sourcecode", "code", "doctest", "testcode", "testoutput", "parsed-literal"}
# Directives that describe an API object: the signature becomes a line, then the description.
OBJECT = {
    "function", "method", "class", "attribute", "data", "exception", "decorator",
    "decoratormethod", "classmethod", "staticmethod", "abstractmethod", "coroutinefunction",
    "coroutinemethod", "awaitablefunction", "awaitablemethod", "describe", "envvar", "cmdoption",
    "option", "opcode", "pdbcommand", "2to3fixer", "object", "monitoring-event",
}
# Directives whose argument is a title worth keeping as a line.
TITLED = {"topic", "sidebar", "admonition", "centered"}

MAX_CODE_LINES = 4
ROLE_RE = re.compile(r":(?:[a-zA-Z0-9_-]+:)?([a-zA-Z0-9_-]+):`((?:[^`\\]|\\.)+)`")
LITERAL_RE = re.compile(r"``(.+?)``")
LINK_RE = re.compile(r"`([^`<]*?)\s*<([^`>]*)>`__?")
REF_RE = re.compile(r"`([^`]+)`__?")
INTERPRETED_RE = re.compile(r"`([^`]+)`")
STRONG_RE = re.compile(r"(?<![\w*\\])\*\*(?=\S)(.+?)(?<=\S)\*\*(?![\w*])")
EMPH_RE = re.compile(r"(?<![\w*\\])\*(?=[^\s*])(.+?)(?<=[^\s*\\])\*(?![\w*])")
SUBST_RE = re.compile(r"(?<![\w|])\|([\w][\w -]*?)\|(?:__?)?(?![\w|])")
FOOTNOTE_REF_RE = re.compile(r"\s?\[(?:\d+|#\w*|\*)\]_")
UNDERLINE_RE = re.compile(r"^([!-/:-@\[-`{-~])\1{2,}\s*$")
BULLET_RE = re.compile(r"^([*+-]|#\.|\d+\.|\(?[a-zA-Z0-9]\)|[a-z]\.)\s+")
DIRECTIVE_RE = re.compile(r"^\.\.\s+([\w:-]+)::\s*(.*)$")


def is_underline(line):
    return bool(UNDERLINE_RE.match(line))


# ---------------------------------------------------------------------------------------------
# Inline markup
# ---------------------------------------------------------------------------------------------

class Inline:
    """Turns inline reST into plain text; `labels` maps :ref: targets to their headings."""

    def __init__(self, labels, doc_titles):
        self.labels = labels
        self.doc_titles = doc_titles

    def role(self, name, content):
        content = content.replace("\\`", "`")
        match = re.match(r"^(.*?)\s*<([^<>]+)>$", content, re.S)
        if match and match.group(1):  # explicit title: :ref:`the title <target>`
            return match.group(1)
        target = match.group(2) if match else content
        target = target.lstrip("!")
        if name == "pep":
            return "PEP " + target.split("#")[0]
        if name == "rfc":
            return "RFC " + target.split("#")[0]
        if name == "ref":
            return self.labels.get(target.lower(), target.replace("-", " ").replace("_", " "))
        if name == "doc":
            return self.doc_titles.get(target.strip("/"), target.rsplit("/", 1)[-1])
        if name == "menuselection":
            return target.replace("-->", ">")
        if target.startswith("~"):
            return target[1:].rsplit(".", 1)[-1]
        return target

    def __call__(self, text):
        saved = []

        def protect(value):
            saved.append(value)
            return "\x00%d\x00" % (len(saved) - 1)

        text = LITERAL_RE.sub(lambda m: protect(m.group(1)), text)
        text = ROLE_RE.sub(lambda m: protect(self.role(m.group(1), m.group(2))), text)
        text = LINK_RE.sub(lambda m: protect(m.group(1) or m.group(2)), text)
        text = REF_RE.sub(lambda m: protect(m.group(1)), text)
        text = INTERPRETED_RE.sub(lambda m: protect(m.group(1)), text)
        text = FOOTNOTE_REF_RE.sub("", text)
        text = STRONG_RE.sub(r"\1", text)
        text = EMPH_RE.sub(r"\1", text)
        text = SUBST_RE.sub(lambda m: SUBSTITUTIONS.get(m.group(1), ""), text)
        text = text.replace("\\ ", "")
        text = re.sub(r"\\([^\w\s])", r"\1", text)
        text = text.replace(" --- ", " — ").replace(" -- ", " – ")
        text = re.sub(r"\x00(\d+)\x00", lambda m: saved[int(m.group(1))], text)
        text = re.sub(r"\x00(\d+)\x00", lambda m: saved[int(m.group(1))], text)
        return text


# ---------------------------------------------------------------------------------------------
# Block structure
# ---------------------------------------------------------------------------------------------

def indent_of(line):
    return len(line) - len(line.lstrip(" "))


def dedent(lines):
    width = min((indent_of(l) for l in lines if l.strip()), default=0)
    return [l[width:] if l.strip() else "" for l in lines]


def take_indented(lines, start, base):
    """Lines from `start` that are blank or indented deeper than `base`; returns (block, end)."""
    end = start
    while end < len(lines) and (not lines[end].strip() or indent_of(lines[end]) > base):
        end += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return lines[start:end], end


GRID_BORDER_RE = re.compile(r"\+[-=+:]+\+")
SIMPLE_BORDER_RE = re.compile(r"={2,}( +={2,})*")


def column_spans(border, marker):
    """[(start, end)] of the runs of `marker` characters in a simple-table border."""
    return [(m.start(), m.end()) for m in re.finditer(re.escape(marker) + "+", border)]


def grid_table_rows(lines):
    """Rows (lists of cell texts) of a grid table; a cell's lines are joined with spaces."""
    border = lines[0].rstrip()
    cuts = [i for i, c in enumerate(border) if c == "+"]
    rows, current = [], None
    for line in lines[1:]:
        if GRID_BORDER_RE.fullmatch(line.strip()):
            if current:
                rows.append(current)
            current = None
            continue
        current = current or [[] for _ in cuts[:-1]]
        for k in range(len(cuts) - 1):
            piece = line[cuts[k] + 1: cuts[k + 1]] if len(line) > cuts[k] else ""
            current[k].append(piece.strip().strip("|").strip())
    if current:
        rows.append(current)
    return [[" ".join(p for p in cell if p) for cell in row] for row in rows]


def simple_table_rows(lines):
    """Rows of a simple table (borders of '=' runs); a line whose first column is blank continues
    the row above."""
    spans = column_spans(lines[0].rstrip(), "=")
    rows = []
    for line in lines[1:]:
        stripped = line.strip()
        if SIMPLE_BORDER_RE.fullmatch(stripped) or re.fullmatch(r"-{2,}( +-{2,})*", stripped):
            continue
        cells = []
        for k, (start, end) in enumerate(spans):
            stop = spans[k + 1][0] if k + 1 < len(spans) else len(line)
            cells.append(line[start:stop].strip() if k + 1 < len(spans) else line[start:].strip())
        if rows and not cells[0]:
            rows[-1] = [(a + " " + b).strip() for a, b in zip(rows[-1], cells)]
        else:
            rows.append(cells)
    return rows


class Cleaner:
    """Turns a block of reST lines into plain paragraphs (a list of strings)."""

    def __init__(self, inline):
        self.inline = inline

    def prose(self, lines):
        text = " ".join(l.strip() for l in lines)
        text = self.inline(text)
        return re.sub(r"\s+", " ", text).strip()

    def code(self, lines):
        # Rows of punctuation (test-runner rules, ASCII art) would read as reST underlines.
        body = [LITERAL_RE.sub(r"\1", l.rstrip()) for l in dedent(lines) if not is_underline(l.strip())]
        while body and not body[0]:
            body.pop(0)
        if not body or sum(1 for l in body if l) > MAX_CODE_LINES:
            return []
        return ["\n".join(body)]

    def directive(self, name, args, block):
        """Paragraphs for `.. name:: args` whose indented block (options and content) is given."""
        name = name.lower()
        body = dedent(block)
        extra_args = []
        while body and body[0].strip() and not body[0].startswith(":"):
            extra_args.append(body.pop(0).strip())  # signatures continued on more lines
        while body and re.match(r"^:[\w-]+:", body[0]):
            body.pop(0)  # directive options
        if name in DROP:
            return []
        if name in CODE:
            return self.code(body)
        out = []
        if name in OBJECT or (":" in name and name != "c:namespace"):
            for signature in [args] + extra_args:
                if signature:
                    out.append(self.inline(signature))
        elif name in TITLED and args:
            out.append(self.prose([args]))
        return out + self.clean(body)

    def clean(self, lines):
        out = []
        para = []
        literal_next = False

        def flush():
            nonlocal para, literal_next
            if not para:
                return
            text = self.prose(para) if not para[0].lstrip().startswith(">>>") else None
            if text is None:  # a doctest block
                out.extend(self.code(para))
            else:
                if text.endswith("::"):
                    literal_next = True
                    text = text[:-2].rstrip()
                    text = text + ":" if text and not text.endswith(" ") and para[-1].rstrip() != "::" and not para[-1].rstrip().endswith(" ::") else text.rstrip()
                if text:
                    out.append(text)
            para = []

        i = 0
        while i < len(lines):
            line = lines[i]
            stripped = line.strip()
            if not stripped:
                flush()
                i += 1
                continue
            ind = indent_of(line)
            if stripped.startswith(".. ") or stripped == "..":
                flush()
                literal_next = False
                block, end = take_indented(lines, i + 1, ind)
                match = DIRECTIVE_RE.match(stripped)
                if match:
                    out.extend(self.directive(match.group(1), match.group(2).strip(), block))
                # Otherwise a comment, a target (.. _x:), a footnote or a substitution: dropped.
                i = end
                continue
            if para and ind > indent_of(para[0]) and not BULLET_RE.match(para[0].lstrip()):
                # A definition list: the term, then its indented definition.
                flush()
            if not para and ind > 0:
                block, end = take_indented(lines, i, 0)
                block = [lines[i]] + block[1:] if block else [lines[i]]
                if literal_next:
                    out.extend(self.code(block))
                else:
                    out.extend(self.clean(dedent(block)))
                literal_next = False
                i = max(end, i + 1)
                continue
            literal_next = False
            if not para and (GRID_BORDER_RE.fullmatch(stripped) or SIMPLE_BORDER_RE.fullmatch(stripped)):
                end = i + 1
                if stripped.startswith("+"):
                    while end < len(lines) and lines[end].strip()[:1] in ("+", "|"):
                        end += 1
                    rows = grid_table_rows([l[ind:] for l in lines[i:end]])
                else:
                    # A simple table ends at a border followed by a blank line (the header
                    # separator is followed by more rows).
                    while end < len(lines):
                        end += 1
                        if SIMPLE_BORDER_RE.fullmatch(lines[end - 1].strip()) and (
                                end >= len(lines) or not lines[end].strip()):
                            break
                    rows = simple_table_rows([l[ind:] for l in lines[i:end]])
                for row in rows:
                    cells = [re.sub(r"^\.\. [\w:-]+::\s*", "", c) for c in row]
                    text = self.prose([" | ".join(c for c in cells if c)])
                    if text:
                        out.append(text)
                i = max(end, i + 1)
                continue
            if is_underline(stripped):
                flush()
                i += 1
                continue
            bullet = BULLET_RE.match(stripped)
            if bullet and not para:
                width = ind + bullet.end()
                block, end = take_indented(lines, i + 1, ind)
                item = [" " * width + stripped[bullet.end():]] + block
                paras = self.clean(dedent(item))
                if paras:
                    out.append("- " + paras[0])
                    out.extend(paras[1:])
                i = max(end, i + 1)
                continue
            para.append(line)
            i += 1
        flush()
        return out


# ---------------------------------------------------------------------------------------------
# Documents, sections, rows
# ---------------------------------------------------------------------------------------------

def find_headings(lines):
    """[(line index of title, end index after underline, style, raw title)] in file order."""
    headings = []
    i = 0
    while i + 1 < len(lines):
        title = lines[i]
        under = lines[i + 1].rstrip()
        over = i > 0 and is_underline(lines[i - 1].rstrip()) and lines[i - 1].strip()[0] == (under.strip()[:1] or "?")
        if (title.strip() and is_underline(under) and not under.startswith(" ")
                and (not title.startswith(" ") or over) and len(under) >= len(title.strip())
                and not is_underline(title.strip())
                and (i == 0 or not lines[i - 1].strip() or over or lines[i - 1].startswith(".. "))):
            start = i - 1 if over else i
            headings.append((start, i + 2, (under[0], bool(over)), title.strip()))
            i += 2
            continue
        i += 1
    return headings


def read_doc(path):
    return path.read_text(encoding="utf-8").splitlines()


def labels_and_titles(root, files):
    """Maps ".. _label:" targets to the heading that follows them, and docs to their titles."""
    labels, titles = {}, {}
    plain = Inline({}, {})
    for path in files:
        lines = read_doc(path)
        rel = path.relative_to(root).as_posix()
        headings = find_headings(lines)
        if headings:
            titles[rel[: -len(".rst.txt")]] = clean_title(plain, headings[0][3])
        starts = {h[0]: h[3] for h in headings}
        pending = []
        for index, line in enumerate(lines):
            m = re.match(r"^\.\. _([^:]+):\s*$", line)
            if m:
                pending.append(m.group(1).lower())
            elif line.strip():
                if index in starts:
                    for label in pending:
                        labels[label] = clean_title(plain, starts[index])
                pending = []
    return labels, titles


def clean_title(inline, raw):
    return re.sub(r"\s+", " ", inline(raw)).strip()


def truncate(text, max_chars):
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars]
    space = max(cut.rfind(" "), cut.rfind("\n"))
    if space > max_chars // 2:
        cut = cut[:space]
    return cut.rstrip()


def doc_rows(root, path, cleaner, args):
    rel = path.relative_to(root).as_posix()
    doc = rel[: -len(".txt")]
    lines = read_doc(path)
    headings = find_headings(lines)
    styles = []
    stack = []  # (level, title)
    rows = []
    is_faq = rel.startswith("faq/")
    for k, (start, body_start, style, raw) in enumerate(headings):
        if style not in styles:
            styles.append(style)
        level = styles.index(style)
        title = clean_title(cleaner.inline, raw)
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, title))
        body_end = headings[k + 1][0] if k + 1 < len(headings) else len(lines)
        paragraphs = cleaner.clean(lines[body_start:body_end])
        context = truncate("\n".join(paragraphs).strip(), args.max_chars)
        if len(context) < args.min_chars or not title:
            continue
        if is_faq and title.endswith("?"):
            rows.append({"question": title, "context": context, "source": "faq", "doc": doc})
        elif not is_faq or len(stack) > 1:
            question = " > ".join(t for _, t in stack)
            rows.append({"question": question, "context": context, "source": "section", "doc": doc})
    return rows


def glossary_rows(root, cleaner, args):
    path = root / "glossary.rst.txt"
    lines = read_doc(path)
    start = next(i for i, l in enumerate(lines) if l.startswith(".. glossary::"))
    block, _ = take_indented(lines, start + 1, 0)
    block = dedent(block)
    rows = []
    i = 0
    while i < len(block):
        line = block[i]
        if not line.strip() or indent_of(line) > 0:
            i += 1
            continue
        terms = []
        while i < len(block) and block[i].strip() and indent_of(block[i]) == 0:
            terms.append(clean_title(cleaner.inline, block[i]))
            i += 1
        definition, i = take_indented(block, i, 0)
        context = truncate("\n".join(cleaner.clean(dedent(definition))).strip(), args.max_chars)
        if len(context) >= args.min_chars:
            for term in terms:
                rows.append({"question": term, "context": context, "source": "glossary",
                             "doc": "glossary.rst"})
    return rows


def build_rows(args):
    root = Path(args.sources)
    if not (root / "glossary.rst.txt").is_file():
        sys.exit(f"build_docs_dataset: {root}: expected the python3.11-doc reST sources "
                 "(glossary.rst.txt), found none; install python3.11-doc or pass --sources")
    files = sorted(p for p in root.rglob("*.rst.txt") if p.is_file())
    labels, titles = labels_and_titles(root, files)
    cleaner = Cleaner(Inline(labels, titles))
    rows = []
    for path in files:
        rel = path.relative_to(root).as_posix()
        if rel.split("/", 1)[0] in SECTION_DIRS and "/" in rel:
            rows.extend(doc_rows(root, path, cleaner, args))
    rows.extend(glossary_rows(root, cleaner, args))
    seen, unique = set(), []
    for row in rows:
        key = (row["question"], row["context"])
        if key not in seen:
            seen.add(key)
            unique.append(row)
    if args.max_rows is not None and len(unique) > args.max_rows:
        # An even stride over the whole list keeps every source type and folder represented.
        n = len(unique)
        unique = [unique[(i * n) // args.max_rows] for i in range(args.max_rows)]
    return unique


def write_atomic(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            for row in rows:
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
            out.flush()
            os.fsync(out.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def describe(name, values):
    return (f"  {name:<9} chars: min {min(values)}  mean {statistics.mean(values):.1f}  "
            f"median {statistics.median(values):.1f}  max {max(values)}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", default=DEFAULT_SOURCES, help="python3.11-doc _sources folder")
    parser.add_argument("--output", default=DEFAULT_OUTPUT, help="JSON Lines file to write")
    parser.add_argument("--max-rows", type=int, default=None, help="keep at most this many rows")
    parser.add_argument("--min-chars", type=int, default=40, help="skip shorter contexts")
    parser.add_argument("--max-chars", type=int, default=2000, help="cut longer contexts")
    args = parser.parse_args(argv)
    rows = build_rows(args)
    output = Path(args.output)
    write_atomic(output, rows)
    counts = {}
    for row in rows:
        counts[row["source"]] = counts.get(row["source"], 0) + 1
    print(f"wrote {len(rows)} rows to {output} ({output.stat().st_size} bytes): " +
          ", ".join(f"{k} {counts[k]}" for k in sorted(counts)))
    if rows:
        print(describe("question", [len(r["question"]) for r in rows]))
        print(describe("context", [len(r["context"]) for r in rows]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
