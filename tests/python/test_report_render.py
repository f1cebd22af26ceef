"""report.html renders in a real browser and says what the inputs say.

The GoogleTest Report.WritesExampleReport writes an example report (and the inputs it was made
from) to $EMBEDTUNE_REPORT_OUT; this test runs it, recomputes the comparison and storage tables
from the inputs independently, checks the HTML and its SVG charts, and takes a screenshot with
headless Chromium (Debian's `chromium`) that must show the charts' colours."""
import html.parser
import json
import math
import os
import pathlib
import re
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET
import zlib

import pytest

WIDTH, HEIGHT = 1280, 4200
# The report's Okabe-Ito series colours: NDCG@10, MRR@10, recall@10 / loss, learning rate; orange
# is drawn only by the quality-against-storage (frontier) chart, for binary+rescore.
SERIES_COLOURS = {"blue": (0x00, 0x72, 0xB2), "vermillion": (0xD5, 0x5E, 0x00), "green": (0x00, 0x9E, 0x73),
                  "orange (frontier)": (0xE6, 0x9F, 0x00)}


@pytest.fixture(scope="module")
def report(embedtune_bin, tmp_path_factory):
    """(report.html path, its text, the inputs JSON) from the GoogleTest example."""
    gtest = pathlib.Path(embedtune_bin).parent / "tests" / "embedtune_pipeline_tests"
    if not gtest.exists():
        pytest.fail(f"{gtest} does not exist: build the embedtune_pipeline_tests target first")
    out = tmp_path_factory.mktemp("report") / "report.html"
    env = dict(os.environ, EMBEDTUNE_REPORT_OUT=str(out))
    result = subprocess.run([str(gtest), "--gtest_filter=Report.WritesExampleReport"], env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert out.exists(), f"{gtest} did not write {out}:\n{result.stdout}"
    inputs = json.loads((out.parent / "report_inputs.json").read_text(encoding="utf-8"))
    return out, out.read_text(encoding="utf-8"), inputs


class Tables(html.parser.HTMLParser):
    """Cell texts of every <table id=...>'s body rows, the <title>, and every tag/attribute seen."""

    def __init__(self):
        super().__init__()
        self.tables, self.tags, self.attributes = {}, set(), set()
        self.title, self._in_title = "", False
        self._table = self._row = self._cell = None
        self._in_body = False

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attributes.update(name for name, _ in attrs)
        attrs = dict(attrs)
        if tag == "title" and not self.title:
            self._in_title = True
        elif tag == "table":
            self._table = self.tables.setdefault(attrs.get("id", ""), [])
        elif tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self._row = []
        elif tag == "td" and self._row is not None:
            self._cell = ""

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False
        elif tag == "td" and self._cell is not None:
            self._row.append(self._cell.strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self._table.append(self._row)
            self._row = None
        elif tag == "tbody":
            self._in_body = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        if self._cell is not None:
            self._cell += data


def parse(text):
    parser = Tables()
    parser.feed(text)
    return parser


def ndcg_by_dim(metrics):
    """dim -> dim_{d}_cosine_ndcg@10 (an eval_ prefix allowed; the unprefixed key wins)."""
    out = {}
    for key, value in metrics:
        m = re.fullmatch(r"(eval_)?dim_(\d+)_cosine_ndcg@10", key)
        if m and (int(m.group(2)) not in out or not m.group(1)):
            out[int(m.group(2))] = value
    return out


def test_comparison_table_matches_inputs(report):
    _, text, inputs = report
    base, tuned = ndcg_by_dim(inputs["baseline"]), ndcg_by_dim(inputs["finetuned"])
    dims = sorted(set(base) & set(tuned), reverse=True)
    assert dims == [384, 256, 128, 64]
    full = dims[0]
    expected = [[str(d), f"{base[d]:.4f}", f"{tuned[d]:.4f}", f"{100 * (tuned[d] - base[d]) / base[d]:+.1f}%",
                 f"{100 * base[d] / base[full]:.1f}%", f"{100 * tuned[d] / tuned[full]:.1f}%"] for d in dims]
    assert parse(text).tables["comparison"] == expected


def test_storage_evaluations_and_title(report):
    _, text, inputs = report
    page = parse(text)
    mib = 1024 * 1024
    expected = []
    for d in [384, 256, 128, 64]:
        f32, i8, b = 4 * d, d, math.ceil(d / 8)
        ratio = f"{384 / d:.2f}".rstrip("0").rstrip(".")
        expected.append([str(d), str(f32), str(i8), str(b), f"{f32 * 1e6 / mib:.1f}", f"{i8 * 1e6 / mib:.1f}",
                         f"{b * 1e6 / mib:.1f}", f"{ratio}x"])
    assert page.tables["storage"] == expected

    evals = [e for e in inputs["log_history"] if "eval_dim_384_cosine_ndcg@10" in e]
    rows = page.tables["evaluations"]
    assert len(rows) == len(evals)
    for row, entry in zip(rows, evals):
        step = entry["step"]
        assert row[1].split()[0] == str(step)
        assert ("★ best" in row[1]) == (step == inputs["best_step"])
        assert row[2:6] == [f"{entry[f'eval_dim_{d}_cosine_ndcg@10']:.4f}" for d in (384, 256, 128, 64)]

    assert page.title == inputs["title"] + " — embedtune report"
    assert "script" not in page.tags and "img" not in page.tags and "link" not in page.tags
    assert not [a for a in page.attributes if a.startswith("on") or a in ("src", "href")]
    timings = page.tables["timings"]
    assert [r[0] for r in timings] == [name for name, _ in inputs["timings"]] + ["total"]
    assert timings[-1][1] == f"{sum(s for _, s in inputs['timings']):.1f}"


def test_frontier_table_and_smallest_settings(report):
    """Every (dim, precision) point with its bytes and scores, fewest bytes first, and the smallest
    settings keeping 99% / 95% of each model's full-size float32 NDCG@10, recomputed here."""
    _, text, inputs = report
    order = ["float32", "int8", "binary", "int8+rescore", "binary+rescore"]

    def points(metrics):
        out = {}
        for key, value in metrics:
            m = re.fullmatch(r"dim_(\d+)_(cosine|int8|binary|int8\+rescore|binary\+rescore)_ndcg@10", key)
            if m:
                out[(int(m.group(1)), "float32" if m.group(2) == "cosine" else m.group(2))] = value
        return out

    base, tuned = points(inputs["baseline"]), points(inputs["finetuned"])
    size = {"float32": 4, "int8": 1, "int8+rescore": 1}
    nbytes = {s: (s[0] * size[s[1]] if s[1] in size else math.ceil(s[0] / 8)) for s in base}
    settings = sorted(base, key=lambda s: (nbytes[s], -s[0], order.index(s[1])))
    assert len(settings) == 4 * 5
    full_b, full_t = base[(384, "float32")], tuned[(384, "float32")]
    expected = [[str(d), p, str(nbytes[(d, p)]), f"{base[(d, p)]:.4f}", f"{tuned[(d, p)]:.4f}",
                 f"{100 * base[(d, p)] / full_b:.1f}%", f"{100 * tuned[(d, p)] / full_t:.1f}%"] for d, p in settings]
    assert parse(text).tables["frontier"] == expected
    for share in (0.99, 0.95):
        for name, scores, full in (("baseline", base, full_b), ("fine-tuned", tuned, full_t)):
            ok = [s for s in settings if scores[s] >= share * full]
            smallest = min(nbytes[s] for s in ok)
            best = max((s for s in ok if nbytes[s] == smallest), key=lambda s: scores[s])
            line = (f"Smallest setting keeping {share * 100:.0f}% of the {name} model's 384-d float32 NDCG@10: "
                    f"<strong>{best[0]} dims, {best[1]}</strong> ({smallest} bytes, {scores[best]:.4f})")
            assert line in text, line


def test_every_chart_is_well_formed_svg(report):
    _, text, _ = report
    fragments = re.findall(r"<svg\b.*?</svg>", text, flags=re.S)
    assert len(fragments) == 5
    titles = []
    for svg in fragments:
        root = ET.fromstring(svg)  # raises on malformed XML
        assert root.tag == "{http://www.w3.org/2000/svg}svg"
        titles.append(root.find("{http://www.w3.org/2000/svg}title").text)
        lines = root.findall(".//{http://www.w3.org/2000/svg}polyline")
        assert lines, f"chart {titles[-1]!r} draws no line"
    assert titles == ["Retrieval quality against embedding dimension", "Training loss", "Learning rate",
                      "NDCG@10 during training", "NDCG@10 against bytes per vector"]


def read_png(path):
    """(width, height, rows of RGB tuples) of an 8-bit RGB or RGBA PNG, decoded with zlib."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour_type, _, _, interlace = header
    assert depth == 8 and colour_type in (2, 6) and interlace == 0, header
    bpp = 3 if colour_type == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    previous = bytearray(stride)
    rows = []
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        if kind == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif kind == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, previous))
        elif kind == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + previous[i]) >> 1)) & 255
        elif kind == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b, c = previous[i], previous[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append([tuple(line[i:i + 3]) for i in range(0, stride, bpp)])
        previous = line
    return width, height, rows


def test_renders_in_headless_chromium(report, tmp_path):
    path, _, _ = report
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not pathlib.Path(chromium).exists():
        pytest.fail("chromium is not installed: install Debian's `chromium` package (scripts/setup.sh)")
    shot = tmp_path / "shot.png"
    result = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
         f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={shot}", f"--window-size={WIDTH},{HEIGHT}",
         path.as_uri()],
        capture_output=True, text=True, timeout=180, env=dict(os.environ, HOME=str(tmp_path)))
    assert result.returncode == 0, result.stderr[-2000:]
    assert shot.exists(), f"chromium wrote no screenshot:\n{result.stderr[-2000:]}"
    width, height, rows = read_png(shot)
    assert (width, height) == (WIDTH, HEIGHT)
    counts, non_white = {}, 0
    for row in rows:
        for pixel in row:
            counts[pixel] = counts.get(pixel, 0) + 1
    non_white = sum(n for pixel, n in counts.items() if min(pixel) < 235)
    assert non_white > 0.03 * width * height, f"only {non_white} non-white pixels: is the page blank?"
    assert len(counts) > 100, f"only {len(counts)} distinct colours"
    for name, rgb in SERIES_COLOURS.items():
        near = sum(n for pixel, n in counts.items() if max(abs(p - q) for p, q in zip(pixel, rgb)) <= 8)
        assert near > 200, f"the {name} series colour {rgb} shows on only {near} pixels"
