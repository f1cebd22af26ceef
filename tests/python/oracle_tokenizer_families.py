"""Oracle for the non-BERT tokenizer families of src/tokenizer: tokenizer.json files trained here
with `tokenizers` / sentencepiece on text that is NOT the test text (the top-level modules of the
Python standard library, /usr/lib/python3.11/*.py), wrapped in the transformers class of each
family, and the ids transformers (what sentence-transformers calls) gives for the test texts.

Usage: oracle_tokenizer_families.py OUTDIR  (run by make_testdata.py, OUTDIR = $EMBEDTUNE_TESTDATA/tokenizer_families)

Writes into OUTDIR:
  texts/<set>.jsonl        the test texts, one JSON string per line: docs (every line of the
                           python3.11-doc sources; never committed), golden (tests/data/
                           tokenizer_golden.jsonl), docs_truncation (every 8th docs line: the
                           docs are checked in full untruncated, on this sample truncated), fuzz (seeded random bytes decoded as UTF-8
                           with replacement, random code points, random mixes), added (texts with
                           the family's special tokens inside)
  variants/<name>/         tokenizer folders (tokenizer.json, and tokenizer_config.json for the
                           variants read as transformers' class):
    xlmr        SentencePiece unigram (nmt_nfkc charsmap) as XLMRobertaTokenizer saves it, the file
                in the hub's layout (Precompiled + Replace normalizer, Metaspace pre-tokenizer);
                reference: AutoTokenizer (transformers rebuilds the pipeline)
    xlmr_file   the same tokenizer.json alone; reference: tokenizers.Tokenizer.from_file
    roberta     byte-level BPE as RobertaTokenizer saves it; reference: AutoTokenizer
    roberta_file the same tokenizer.json alone; reference: tokenizers
    qwen2       byte-level BPE behind the Qwen2 Split regex, NFC, "$A <|endoftext|>" template (as
                Qwen3-Embedding); reference: AutoTokenizer (Qwen2Tokenizer)
    qwen2_file  the same tokenizer.json alone; reference: tokenizers
    mpnet       WordPiece with MPNet's <s> $A </s> as MPNetTokenizer saves it, laid out as
                microsoft/mpnet-base (<s> <pad> </s> <unk> = 0..3, unknown token [UNK], <mask> last);
                reference: AutoTokenizer
    mix_*       tokenizer.json files that combine the remaining components and options (NFD/NFKC/
                NFKD, StripAccents, Lowercase, Strip, Replace, Prepend, Whitespace, Digits,
                Punctuation, Split with a string and inverted, every split behaviour, Metaspace
                "first" without split, BPE prefix/suffix/unk fusing/byte fallback/ignore_merges,
                Unigram byte fallback, added tokens with single_word/lstrip/rstrip/normalized,
                BertProcessing and Sequence post-processors); reference: tokenizers
  expected/<variant>.<set>.<max_length>.txt   one line of space-separated ids per text (0 = no truncation)
  manifest.json            the list of cases above

Importable: oracle_models.py builds its test models' tokenizers with the same helpers, one per
family (make_xlmr, make_roberta, make_mpnet, make_modernbert: (folder, training text) -> folder),
on training_lines().
"""
import io
import json
import os
import pathlib
import random
import shutil
import sys
import tempfile

os.environ.setdefault("TOKENIZERS_PARALLELISM", "true")
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers  # noqa: E402

here = pathlib.Path(__file__).resolve().parent
source_dir = pathlib.Path(os.environ.get("EMBEDTUNE_SOURCE_DIR", here.parent.parent))
docs_root = pathlib.Path("/usr/share/doc/python3.11/html/_sources")
train_root = pathlib.Path("/usr/lib/python3.11")
# Truncation (max_length 16 and 128) is checked on every 8th docs line: 36,000 lines cover it,
# and the full 288,000 three times over took most of this oracle's 400 s.
TRUNCATION_STRIDE = 8


def training_lines():
    """The text every family is trained on (also oracle_models.py's test models): the non-blank
    lines of the standard library's top-level modules, then a few non-ASCII lines."""
    train_files = sorted(train_root.glob("*.py"))
    if not train_files:
        sys.exit(f"oracle_tokenizer_families: no *.py under {train_root} to train on")
    lines = []
    for f in train_files:
        lines.extend(line for line in f.read_text(encoding="utf-8", errors="replace").split("\n") if line.strip())
    # A few non-ASCII lines so the vocabularies know some accents, CJK and symbols (still not test text).
    lines += ["naïve café résumé Ångström Straße œuvre façade", "日本語のテキスト 中文文本 한국어",
              "Привет мир Ελληνικά العربية עברית", "emoji 😀🎉 ✓ → ± × ÷ € £ ¥"] * 20
    return lines


def random_fuzz():
    texts = []
    for _ in range(300):  # random bytes, decoded as tokenizers' callers would get them
        n = rng.randint(0, 40)
        texts.append(bytes(rng.randrange(256) for _ in range(n)).decode("utf-8", errors="replace"))
    for _ in range(300):  # random code points anywhere in Unicode (no surrogates)
        n = rng.randint(0, 20)
        cps = []
        while len(cps) < n:
            cp = rng.randrange(0x110000) if rng.random() < 0.5 else rng.randrange(0x3000)
            if not 0xD800 <= cp <= 0xDFFF:
                cps.append(cp)
        texts.append("".join(map(chr, cps)))
    pool = list("abcXYZ019 _-.,;:'\"!?()[]{}<>/\\|@#$%^&*+=~`\t\n\r\u00a0\u3000\u2028") + \
        ["é", "e\u0301", "ß", "İ", "ﬁ", "①", "Ⅻ", "½", "ｆｕｌｌ", "日本", "😀", "👍🏽", "\u200d", "\ufeff",
         "\u0000", "\x7f", "\u00ad", "Ǆ", "ﬃ", "㍿", "™", "  ", "'s", "'ll", "▁", "Ġ"]
    for _ in range(400):  # random mixes of the characters tokenizers treat specially
        texts.append("".join(rng.choice(pool) for _ in range(rng.randint(0, 30))))
    return texts


def with_added(tokens):
    """Texts with the family's special tokens inside, at the edges and next to spaces."""
    texts = []
    for t in tokens:
        texts += [t, f"{t}{t}", f" {t} ", f"a{t}b", f"hello {t} world", f"{t}hello", f"hello{t}",
                  f"x  {t}  y", f"\t{t}\n", f"{t.upper()} {t.lower()}"]
    sample = rng.sample(docs, 300)
    for line in sample:  # a doc line with a token put at a random char position
        pos = rng.randint(0, len(line))
        texts.append(line[:pos] + rng.choice(tokens) + line[pos:])
    return texts


def write_set(name, texts):
    if name in written_sets:
        return
    with open(texts_dir / f"{name}.jsonl", "w", encoding="utf-8") as f:
        for t in texts:
            f.write(json.dumps(t, ensure_ascii=False) + "\n")
    written_sets.add(name)


def write_expected(variant, set_name, max_length, ids_list):
    name = f"{variant}.{set_name}.{max_length}.txt"
    with open(expected_dir / name, "w", encoding="ascii") as f:
        for ids in ids_list:
            f.write(" ".join(map(str, ids)) + "\n")
    manifest.append({"variant": variant, "dir": f"variants/{variant}", "set": set_name,
                     "texts": f"texts/{set_name}.jsonl", "max_length": max_length,
                     "expected": f"expected/{name}", "count": len(ids_list)})


def for_length(set_name, texts, max_length):
    """The set a max_length is checked on: the docs lines in full untruncated, every
    TRUNCATION_STRIDE-th of them (the set docs_truncation) truncated; the other sets in full."""
    if max_length and set_name == "docs":
        return "docs_truncation", texts[::TRUNCATION_STRIDE]
    return set_name, texts


def run_transformers(variant, folder, sets):
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(str(folder))
    (out / f"{variant}.effective.json").write_text(tok._tokenizer.to_str(pretty=True), encoding="utf-8")
    for set_name, all_texts in sets.items():
        for max_length in (0, 16, 128):
            name, texts = for_length(set_name, all_texts, max_length)
            write_set(name, texts)
            if max_length:
                ids = tok(texts, add_special_tokens=True, truncation=True, max_length=max_length)["input_ids"]
            else:
                ids = tok(texts, add_special_tokens=True, truncation=False)["input_ids"]
            write_expected(variant, name, max_length, ids)


def run_tokenizers(variant, folder, sets):
    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tok.no_padding()
    for set_name, all_texts in sets.items():
        for max_length in (0, 16):
            name, texts = for_length(set_name, all_texts, max_length)
            write_set(name, texts)
            if max_length:
                tok.enable_truncation(max_length)
            else:
                tok.no_truncation()
            write_expected(variant, name, max_length, [e.ids for e in tok.encode_batch(texts)])


def file_only_variant(name, source_folder):
    d = variants_dir / name
    d.mkdir(exist_ok=True)
    (d / "tokenizer.json").write_bytes((source_folder / "tokenizer.json").read_bytes())
    return d


# --- deterministic training -------------------------------------------------------------------
# tokenizers' BpeTrainer (and WordPieceTrainer, which wraps it) numbers each prefixed or suffixed
# alphabet form ("##a", "a</w>") as it first meets it while walking the word counts, a HashMap in
# random order; merges of equal count are then ranked by those ids, so each run trained a different
# vocabulary (the MPNet test model's differed in 2 tokens and 926 ids between two machines). Special
# tokens are numbered first, in the order given: listing every such form as a special token fixes
# their ids, and the training is the same on every run. The forms stay plain vocabulary entries:
# `drop_added` takes them out of the tokenizer's added tokens again.
def affixed_alphabet(tok, training, prefix=None, suffix=None):
    """Every "##c" / "c</w>" / "##c</w>" form the trainer can make from the characters of `training`
    as `tok` normalizes and pre-tokenizes it, sorted."""
    chars = set()
    for line in training:
        text = tok.normalizer.normalize_str(line) if tok.normalizer else line
        for word, _ in tok.pre_tokenizer.pre_tokenize_str(text):
            chars.update(word)
    forms = set()
    for c in chars:
        if prefix:
            forms.add(prefix + c)
        if suffix:
            forms.add(c + suffix)
        if prefix and suffix:
            forms.add(prefix + c + suffix)
    return sorted(forms)


def drop_added(tok, contents):
    """`tok` without the added tokens in `contents` (they stay in its model's vocabulary)."""
    doc, contents = json.loads(tok.to_str()), set(contents)
    doc["added_tokens"] = [t for t in doc["added_tokens"] if t["content"] not in contents]
    return Tokenizer.from_str(json.dumps(doc))


# --- XLM-R: SentencePiece unigram ------------------------------------------------------------
def make_xlmr(d, training):
    """XLMRobertaTokenizer in folder `d`: a SentencePiece unigram of 6,000 pieces trained on `training`."""
    import sentencepiece as spm
    from transformers import XLMRobertaTokenizer
    spm_dir = pathlib.Path(tempfile.mkdtemp())
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(training), model_writer=model, vocab_size=6000, model_type="unigram",
        character_coverage=0.9995, num_threads=1, seed_sentencepiece_size=100000,
        input_sentence_size=0, shuffle_input_sentence=False, minloglevel=2)
    (spm_dir / "sentencepiece.bpe.model").write_bytes(model.getvalue())
    XLMRobertaTokenizer.from_pretrained(str(spm_dir)).save_pretrained(str(d))
    shutil.rmtree(spm_dir)
    # The hub's XLM-R layout (as older transformers converted it): Precompiled then collapse runs
    # of spaces; Metaspace alone as the pre-tokenizer, in its legacy add_prefix_space form.
    doc = json.loads((d / "tokenizer.json").read_text(encoding="utf-8"))
    charsmap = doc["normalizer"]["precompiled_charsmap"] if doc["normalizer"]["type"] == "Precompiled" else \
        next(n for n in doc["normalizer"]["normalizers"] if n["type"] == "Precompiled")["precompiled_charsmap"]
    doc["normalizer"] = {"type": "Sequence", "normalizers": [
        {"type": "Precompiled", "precompiled_charsmap": charsmap},
        {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": " "}]}
    doc["pre_tokenizer"] = {"type": "Metaspace", "replacement": "▁", "add_prefix_space": True,
                            "prepend_scheme": "always"}
    (d / "tokenizer.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    for f in ("sentencepiece.bpe.model",):
        (d / f).unlink(missing_ok=True)
    return d


# --- RoBERTa: byte-level BPE -----------------------------------------------------------------
specials_roberta = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]


def make_roberta(d, training):
    """RobertaTokenizer in folder `d`: byte-level BPE of 8,000 tokens trained on `training`."""
    from transformers import RobertaTokenizer
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(vocab_size=8000, special_tokens=specials_roberta,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(training, trainer)
    state = json.loads(tok.to_str())
    vocab, merges = state["model"]["vocab"], [tuple(m) if isinstance(m, list) else tuple(m.split(" "))
                                              for m in state["model"]["merges"]]
    RobertaTokenizer(vocab=vocab, merges=merges).save_pretrained(str(d))
    return d


# --- Qwen2 / Qwen3: byte-level BPE behind the Unicode-class Split regex -----------------------
QWEN_REGEX = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""


def make_qwen2(d, training):
    from transformers import Qwen2Tokenizer
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    trainer = trainers.BpeTrainer(vocab_size=8000, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(training, trainer)
    state = json.loads(tok.to_str())
    vocab, merges = state["model"]["vocab"], [tuple(m) if isinstance(m, list) else tuple(m.split(" "))
                                              for m in state["model"]["merges"]]
    qt = Qwen2Tokenizer(vocab=vocab, merges=merges, additional_special_tokens=["<|im_start|>", "<|im_end|>"])
    qt.save_pretrained(str(d))
    # Qwen3-Embedding's template: the text then <|endoftext|> (its last-token pooling reads it).
    doc = json.loads((d / "tokenizer.json").read_text(encoding="utf-8"))
    eot = next(t["id"] for t in doc["added_tokens"] if t["content"] == "<|endoftext|>")
    doc["post_processor"] = {"type": "TemplateProcessing",
                             "single": [{"Sequence": {"id": "A", "type_id": 0}},
                                        {"SpecialToken": {"id": "<|endoftext|>", "type_id": 0}}],
                             "pair": [{"Sequence": {"id": "A", "type_id": 0}},
                                      {"Sequence": {"id": "B", "type_id": 1}},
                                      {"SpecialToken": {"id": "<|endoftext|>", "type_id": 1}}],
                             "special_tokens": {"<|endoftext|>": {"id": "<|endoftext|>", "ids": [eot],
                                                                  "tokens": ["<|endoftext|>"]}}}
    (d / "tokenizer.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    return d


# --- MPNet: WordPiece with <s> $A </s> ---------------------------------------------------------
def make_mpnet(d, training):
    """MPNetTokenizer in folder `d`: WordPiece of 6,000 tokens trained on `training`, laid out as
    microsoft/mpnet-base's vocabulary: <s> <pad> </s> <unk> at 0..3 (<unk> a plain entry: the
    tokenizer's unknown token is [UNK], further on), <mask> last."""
    from transformers import MPNetTokenizer
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(vocab_size=6000, show_progress=False,
                                        special_tokens=["<s>", "<pad>", "</s>", "<unk>", "[UNK]"]
                                        + affixed_alphabet(tok, training, prefix="##"))
    tok.train_from_iterator(training, trainer)
    vocab = json.loads(tok.to_str())["model"]["vocab"]
    vocab["<mask>"] = len(vocab)
    MPNetTokenizer(vocab=vocab).save_pretrained(str(d))
    return d


# --- ModernBERT: byte-level BPE as answerdotai/ModernBERT-base -------------------------------
MODERNBERT_SPECIALS = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"]


def make_modernbert(d, training):
    """PreTrainedTokenizerFast in folder `d` as answerdotai/ModernBERT-base's (OLMo's byte-level BPE):
    NFC, ByteLevel without a prefix space, <|endoftext|> and <|padding|> first in the vocabulary,
    [UNK] [CLS] [SEP] [PAD] [MASK] added after it ([MASK] takes the space before it), and
    "[CLS] $A [SEP]" / "[CLS] $A [SEP] $B [SEP]". 8,000 tokens trained on `training`."""
    from tokenizers import AddedToken
    from transformers import PreTrainedTokenizerFast
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=8000, special_tokens=["<|endoftext|>", "<|padding|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(training, trainer)
    tok.add_special_tokens([AddedToken(t, lstrip=t == "[MASK]", normalized=False) for t in MODERNBERT_SPECIALS])
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS]:0 $A:0 [SEP]:0", pair="[CLS]:0 $A:0 [SEP]:0 $B:0 [SEP]:0",
        special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))])
    PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", cls_token="[CLS]", sep_token="[SEP]",
                            pad_token="[PAD]", mask_token="[MASK]", clean_up_tokenization_spaces=True,
                            model_max_length=8192,
                            model_input_names=["input_ids", "attention_mask"]).save_pretrained(str(d))
    config = json.loads((d / "tokenizer_config.json").read_text(encoding="utf-8"))
    config["tokenizer_class"] = "PreTrainedTokenizerFast"  # as the hub's file names it
    (d / "tokenizer_config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    return d


# --- the remaining components, combined (reference: tokenizers itself) -------------------------
from tokenizers import AddedToken  # noqa: E402


def byte_tokens():
    return [f"<0x{b:02X}>" for b in range(256)]


def make_mix_bpe():
    tok = Tokenizer(models.BPE(unk_token="[UNK]", fuse_unk=True, continuing_subword_prefix="##",
                               end_of_word_suffix="</w>"))
    tok.normalizer = normalizers.Sequence([
        normalizers.NFKD(), normalizers.StripAccents(), normalizers.Lowercase(),
        normalizers.Strip(left=True, right=True), normalizers.Replace("``", '"')])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Whitespace(), pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.Punctuation(behavior="contiguous")])
    forms = affixed_alphabet(tok, training, prefix="##", suffix="</w>")
    trainer = trainers.BpeTrainer(vocab_size=3000, special_tokens=["[UNK]", "[CLS]", "[SEP]"] + forms,
                                  limit_alphabet=60, continuing_subword_prefix="##", end_of_word_suffix="</w>",
                                  show_progress=False)
    tok.train_from_iterator(training, trainer)
    tok = drop_added(tok, forms)
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=True),
        processors.TemplateProcessing(single="[CLS] $A [SEP]", special_tokens=[
            ("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))])])
    return tok, ["[CLS]", "[SEP]", "[UNK]"]


def make_mix_bpe_bytes():
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.Sequence([normalizers.NFC(), normalizers.Replace(Regex(r"\s+"), " "),
                                           normalizers.Prepend(" ")])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(" ", behavior="merged_with_previous"),
        pre_tokenizers.Punctuation(behavior="merged_with_next"),
        pre_tokenizers.Split(Regex("[0-9]+"), behavior="removed", invert=True),
        pre_tokenizers.Split(Regex("[aeiou]"), behavior="merged_with_previous")])
    trainer = trainers.BpeTrainer(vocab_size=2000, special_tokens=["<s>", "</s>"], limit_alphabet=50,
                                  show_progress=False)
    tok.train_from_iterator(training, trainer)
    doc = json.loads(tok.to_str())
    vocab = doc["model"]["vocab"]
    for t in byte_tokens():
        vocab.setdefault(t, len(vocab) + 2)
    doc["model"].update(byte_fallback=True, ignore_merges=True)
    tok = Tokenizer.from_str(json.dumps(doc))
    tok.post_processor = processors.BertProcessing(("</s>", tok.token_to_id("</s>")), ("<s>", tok.token_to_id("<s>")))
    return tok, ["<s>", "</s>"]


def make_mix_unigram():
    # tokenizers' UnigramTrainer gives a different vocabulary on every run (it walks its word counts,
    # a HashMap, in random order and sums floats in that order), so sentencepiece trains the pieces,
    # single-threaded (deterministic), on the text as this tokenizer normalizes it; the pieces and
    # scores become a tokenizers Unigram model, <unk> <s> </s> at 0..2 as the trainer laid them out.
    import sentencepiece as spm
    normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    model = io.BytesIO()
    # A fifth of the lines is plenty for a 3,000-piece vocabulary.
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter([normalizer.normalize_str(line) for line in training[::5]]), model_writer=model,
        vocab_size=3000, model_type="unigram", max_sentencepiece_length=12, character_coverage=1.0,
        normalization_rule_name="identity", remove_extra_whitespaces=False, num_threads=1,
        input_sentence_size=0, shuffle_input_sentence=False, minloglevel=2)
    sp = spm.SentencePieceProcessor(model_proto=model.getvalue())
    pieces = [(sp.id_to_piece(i), 0.0 if sp.is_control(i) or sp.is_unknown(i) else sp.get_score(i))
              for i in range(sp.get_piece_size())]
    assert [p for p, _ in pieces[:3]] == ["<unk>", "<s>", "</s>"], pieces[:3]
    tok = Tokenizer(models.Unigram(pieces, unk_id=0))
    tok.normalizer = normalizer
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=False)
    tok.add_special_tokens(["<unk>", "<s>", "</s>"])
    doc = json.loads(tok.to_str())
    doc["model"]["vocab"] += [[t, -30.0] for t in byte_tokens()]
    doc["model"]["byte_fallback"] = True
    tok = Tokenizer.from_str(json.dumps(doc))
    tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", special_tokens=[
        ("<s>", tok.token_to_id("<s>")), ("</s>", tok.token_to_id("</s>"))])
    tok.add_tokens([AddedToken("python", single_word=True, normalized=True),
                    AddedToken("Data Model", normalized=True)])
    tok.add_special_tokens([AddedToken("[SEP]", lstrip=True, rstrip=True, normalized=False)])
    return tok, ["<s>", "</s>", "python", "Data Model", "[SEP]"]


def make_mix_wordpiece():
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]", max_input_chars_per_word=30))
    tok.normalizer = normalizers.Sequence([normalizers.NFD(), normalizers.StripAccents(), normalizers.Lowercase()])
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    forms = affixed_alphabet(tok, training, prefix="##")
    trainer = trainers.WordPieceTrainer(vocab_size=3000, special_tokens=["[UNK]", "[CLS]", "[SEP]"] + forms,
                                        show_progress=False)
    tok.train_from_iterator(training, trainer)
    tok = drop_added(tok, forms)
    tok.post_processor = processors.BertProcessing(("[SEP]", tok.token_to_id("[SEP]")),
                                                   ("[CLS]", tok.token_to_id("[CLS]")))
    return tok, ["[CLS]", "[SEP]", "[UNK]"]


if __name__ == "__main__":
    out = pathlib.Path(sys.argv[1]).resolve()
    doc_files = sorted(docs_root.rglob("*.txt"))
    if not doc_files:
        sys.exit(f"oracle_tokenizer_families: no *.txt under {docs_root}; install python3.11-doc")
    docs = []
    for f in doc_files:
        lines = f.read_bytes().decode("utf-8").split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        docs.extend(lines)
    golden = [json.loads(line)["text"] for line in
              (source_dir / "tests/data/tokenizer_golden.jsonl").read_text(encoding="utf-8").splitlines()]
    training = training_lines()
    rng = random.Random(20261201)
    texts_dir = out / "texts"
    texts_dir.mkdir(parents=True, exist_ok=True)
    variants_dir = out / "variants"
    variants_dir.mkdir(exist_ok=True)
    expected_dir = out / "expected"
    expected_dir.mkdir(exist_ok=True)
    fuzz = random_fuzz()
    base_sets = {"docs": docs, "golden": golden, "fuzz": fuzz}
    manifest = []
    written_sets = set()
    families = [
        ("xlmr", make_xlmr, ["<s>", "</s>", "<pad>", "<unk>", "<mask>"]),
        ("roberta", make_roberta, specials_roberta),
        ("qwen2", make_qwen2, ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]),
        ("mpnet", make_mpnet, ["<s>", "</s>", "<pad>", "<unk>", "[UNK]", "<mask>"]),
    ]
    for name, make, specials in families:
        folder = make(variants_dir / name, training)
        sets = dict(base_sets)
        sets[f"added_{name}"] = with_added(specials)
        run_transformers(name, folder, sets)
        if name != "mpnet":
            run_tokenizers(f"{name}_file", file_only_variant(f"{name}_file", folder), sets)
    for name, make in (("mix_bpe", make_mix_bpe), ("mix_bpe_bytes", make_mix_bpe_bytes),
                       ("mix_unigram", make_mix_unigram), ("mix_wordpiece", make_mix_wordpiece)):
        tok, specials = make()
        d = variants_dir / name
        d.mkdir(exist_ok=True)
        tok.save(str(d / "tokenizer.json"))
        sets = dict(base_sets)
        sets[f"added_{name}"] = with_added(specials)
        run_tokenizers(name, d, sets)

    (out / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    print(f"oracle_tokenizer_families: {len(docs)} docs lines, {len(fuzz)} fuzz texts, "
          f"{len(manifest)} expected files in {out}")
