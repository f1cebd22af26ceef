"""Makes tiny random models, offline, as sentence-transformers folders and plain HF folders.

Usage: oracle_models.py OUTDIR. Each model is a random one built with transformers' own config and
model classes (fixed seed), small enough for fast tests, with a tokenizer of its family: the BERT
models use the real all-MiniLM-L6-v2 tokenizer files (WordPiece); every other family gets a small
tokenizer of its own kind, trained here on the standard library's sources (not test text) and
saved with transformers' own tokenizer class as the family's real checkpoints have it, and its
config takes that tokenizer's size and special ids (vocab_size, pad, and bos/eos/cls/sep where the
config has them). Folders:
  mean/        BertModel -> Pooling(mean) -> Normalize   (sentence-transformers layout)
  cls/         BertModel -> Pooling(cls) -> Normalize
  max/, mean_sqrt_len_tokens/, weightedmean/, lasttoken/   other pooling modes, no Normalize
  plain_hf/    a Hugging Face folder only (no modules.json): ST loads it with mean pooling
  xlm_roberta/ XLMRobertaModel (pad_token_id 1: positions start at 2) -> mean -> Normalize, with an
               XLMRobertaTokenizer (SentencePiece unigram, Metaspace; <s> <pad> </s> <unk> = 0..3,
               <mask> last; "<s> $A </s>", pairs "<s> $A </s> </s> $B </s>")
  roberta/     RobertaModel -> cls -> Normalize, with a RobertaTokenizer (byte-level BPE without a
               prefix space, trim_offsets; <s> <pad> </s> <unk> = 0..3)
  mpnet/       MPNetModel (relative position buckets) -> mean -> Normalize, with an MPNetTokenizer
               (WordPiece laid out as microsoft/mpnet-base's: <s> <pad> </s> <unk> = 0..3, the unknown
               token [UNK] further on, <mask> last; "<s> $A </s>")
  modernbert/  ModernBertModel (global and sliding-window layers, two rotary thetas) -> mean ->
               Normalize, with a byte-level BPE as answerdotai/ModernBERT-base's (PreTrainedTokenizerFast;
               [UNK] [CLS] [SEP] [PAD] [MASK] added after the vocabulary; "[CLS] $A [SEP]")
  qwen3/       Qwen3Model (2 key/value heads for 4 query heads, causal, q/k RMSNorm) -> lasttoken ->
               Normalize, with a Qwen2Tokenizer (byte-level BPE behind Qwen's Split regex, trained here
               on the standard library's sources, "$A <|endoftext|>", padded on the left) and
               instruction prompts in config_sentence_transformers.json, as Qwen3-Embedding
  qwen3_chat/  the same kind of model with a ChatML chat template (oracle_chat_template.CHATML, in
               chat_template.jinja), saved by sentence-transformers 6.2 from a plain folder, so its
               modality_config has "message": every text is rendered as a user message, a prompt
               as a system message
  qwen3_chat_hf/ a plain Hugging Face Qwen3 folder whose tokenizer_config.json holds the template
               (sentence-transformers infers the "message" modality and mean pooling)
The XLM-R, RoBERTa, MPNet and ModernBERT tokenizers come from oracle_tokenizer_families' helpers
(one per family, the same ones its tokenizer tests use).
"""
import json
import os
import pathlib
import shutil
import sys
import tempfile

import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.modules import Pooling
from sentence_transformers.base.modules import Normalize, Transformer
from tokenizers import Regex, Tokenizer, models, normalizers, pre_tokenizers, trainers
from transformers import (AutoTokenizer, BertConfig, BertModel, ModernBertConfig, ModernBertModel, MPNetConfig, MPNetModel,
                          Qwen2Tokenizer, Qwen3Config, Qwen3Model, RobertaConfig, RobertaModel, XLMRobertaConfig,
                          XLMRobertaModel)

from oracle_chat_template import CHATML
from oracle_tokenizer_families import make_modernbert, make_mpnet, make_roberta, make_xlmr, training_lines

out = pathlib.Path(sys.argv[1])
source = pathlib.Path(os.environ["EMBEDTUNE_DEFAULT_MODEL"])
TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"]

# Each family's own tokenizer, trained once by oracle_tokenizer_families' helper of that family on
# the standard library's sources (not test text): folder, and the tokenizer as transformers loads it.
TOKENIZER_DIR = pathlib.Path(tempfile.mkdtemp(prefix="oracle_models_tokenizers_"))
FAMILY_TOKENIZERS = {}
_training = training_lines()
for _family, _make in (("xlm_roberta", make_xlmr), ("roberta", make_roberta), ("mpnet", make_mpnet),
                       ("modernbert", make_modernbert)):
    _folder = _make(TOKENIZER_DIR / _family, _training)
    FAMILY_TOKENIZERS[_family] = (_folder, AutoTokenizer.from_pretrained(str(_folder)))


def bert(dropout):
    return BertModel(BertConfig(
        vocab_size=30522, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=128, max_position_embeddings=128, hidden_dropout_prob=dropout,
        attention_probs_dropout_prob=dropout,
    ))


def family_ids(family):
    """vocab_size and the special token ids of `family`'s tokenizer, as its config holds them."""
    tok = FAMILY_TOKENIZERS[family][1]
    return dict(vocab_size=len(tok), pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id,
                eos_token_id=tok.eos_token_id)


def xlm_roberta(dropout, config_class=XLMRobertaConfig, model_class=XLMRobertaModel, family="xlm_roberta"):
    # As XLM-R: one token type, padding index 1 (positions 2..), eps 1e-5; a position table of
    # 130 covers max_seq_length 100 after the offset. 4 heads of 32.
    ids = family_ids(family)
    assert ids["pad_token_id"] + 1 + 100 < 130  # positions start after the padding index
    return model_class(config_class(
        hidden_size=128, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=256, max_position_embeddings=130, type_vocab_size=1, **ids,
        layer_norm_eps=1e-5, hidden_dropout_prob=dropout,
        attention_probs_dropout_prob=dropout,
    ))


def roberta(dropout):
    return xlm_roberta(dropout, RobertaConfig, RobertaModel, "roberta")


def mpnet(dropout):
    # As all-mpnet-base-v2 in miniature: 32 relative-position buckets, padding index 1.
    # 3 layers, 6 heads of 16.
    ids = family_ids("mpnet")
    assert ids["pad_token_id"] + 1 + 100 < 130
    return MPNetModel(MPNetConfig(
        **ids, hidden_size=96, num_hidden_layers=3, num_attention_heads=6,
        intermediate_size=192, max_position_embeddings=130, relative_attention_num_buckets=32,
        layer_norm_eps=1e-5, hidden_dropout_prob=dropout, attention_probs_dropout_prob=dropout,
    ))


def modernbert(dropout):
    # Layers 0 and 2 global (theta 160000), 1 and 3 sliding (theta 10000) with a window of 16
    # tokens (8 each side), far shorter than the longest test texts. 4 heads of 32, GeGLU, no
    # biases. The ids of its tokenizer ([PAD], and [CLS]/[SEP] as bos/eos, as ModernBERT-base's config).
    tok = FAMILY_TOKENIZERS["modernbert"][1]
    return ModernBertModel(ModernBertConfig(
        vocab_size=len(tok), hidden_size=128, intermediate_size=192, num_hidden_layers=4,
        num_attention_heads=4, max_position_embeddings=128, local_attention=16,
        global_attn_every_n_layers=2, global_rope_theta=160000.0, local_rope_theta=10000.0,
        pad_token_id=tok.pad_token_id, cls_token_id=tok.cls_token_id, sep_token_id=tok.sep_token_id,
        bos_token_id=tok.cls_token_id, eos_token_id=tok.sep_token_id,
        attention_dropout=dropout, embedding_dropout=dropout, mlp_dropout=dropout,
    ))


QWEN_REGEX = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""


def qwen_tokenizer() -> Qwen2Tokenizer:
    """A small Qwen2Tokenizer as Qwen3-Embedding's: NFC, Qwen's Split regex, byte-level BPE, the
    text then <|endoftext|>, left padding. Trained on the standard library's sources (not test text)."""
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN_REGEX), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    trainer = trainers.BpeTrainer(vocab_size=3000, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    sources = sorted(pathlib.Path("/usr/lib/python3.11").glob("*.py"))[:40]
    tok.train_from_iterator((f.read_text(encoding="utf-8", errors="replace") for f in sources), trainer)
    state = json.loads(tok.to_str())
    merges = [tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in state["model"]["merges"]]
    return Qwen2Tokenizer(vocab=state["model"]["vocab"], merges=merges, padding_side="left",
                          additional_special_tokens=["<|im_start|>", "<|im_end|>"])


def save_qwen_tokenizer(folder: pathlib.Path) -> None:
    QWEN_TOKENIZER.save_pretrained(str(folder))
    # Qwen3-Embedding's post-processor: the text then <|endoftext|> (last-token pooling reads it).
    doc = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    eot = next(t["id"] for t in doc["added_tokens"] if t["content"] == "<|endoftext|>")
    special = {"SpecialToken": {"id": "<|endoftext|>", "type_id": 0}}
    doc["post_processor"] = {
        "type": "TemplateProcessing",
        "single": [{"Sequence": {"id": "A", "type_id": 0}}, special],
        "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}, special],
        "special_tokens": {"<|endoftext|>": {"id": "<|endoftext|>", "ids": [eot], "tokens": ["<|endoftext|>"]}}}
    (folder / "tokenizer.json").write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")


QWEN_TOKENIZER = qwen_tokenizer()


def qwen3(dropout):
    # As Qwen3-Embedding in miniature: grouped-query attention (4 query heads, 2 key/value heads, head_dim
    # 32 set on its own), q/k norm, SwiGLU, rope theta 1e6, no biases; the trained tokenizer's vocabulary.
    return Qwen3Model(Qwen3Config(
        vocab_size=len(QWEN_TOKENIZER), hidden_size=128, intermediate_size=256, num_hidden_layers=3,
        num_attention_heads=4, num_key_value_heads=2, head_dim=32, max_position_embeddings=256,
        rope_theta=1000000.0, rms_norm_eps=1e-6, attention_dropout=dropout,
        pad_token_id=QWEN_TOKENIZER.pad_token_id, eos_token_id=QWEN_TOKENIZER.eos_token_id,
    ))


def make_hf_folder(folder: pathlib.Path, seed: int, architecture=bert, chat_template=None) -> None:
    torch.manual_seed(seed)
    model = architecture(0.1)
    # Larger than default init so that outputs differ clearly between tokens and layers.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm" not in name and not any(part.endswith("norm") for part in name.split(".")):
                p.normal_(0.0, 0.2)
    model.save_pretrained(folder, safe_serialization=True)
    if architecture is qwen3:
        save_qwen_tokenizer(folder)
        if chat_template == "jinja":
            (folder / "chat_template.jinja").write_text(CHATML, encoding="utf-8")
        elif chat_template == "config":
            config = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
            config["chat_template"] = CHATML
            (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
        return
    family = FAMILY_OF.get(architecture)
    if family:
        for f in FAMILY_TOKENIZERS[family][0].iterdir():
            shutil.copy(f, folder / f.name)
        return
    for name in TOKENIZER_FILES:
        shutil.copy(source / name, folder / name)


def make_st_folder(folder: pathlib.Path, mode: str, normalize: bool, seed: int, architecture=bert,
                   prompts=None, chat_template=None) -> None:
    hf = folder.with_name(folder.name + "_tmp_hf")
    make_hf_folder(hf, seed, architecture, chat_template)
    transformer = Transformer(str(hf), max_seq_length=100)
    modules = [transformer, Pooling(transformer.get_embedding_dimension(), pooling_mode=mode)]
    if normalize:
        modules.append(Normalize())
    SentenceTransformer(modules=modules, device="cpu", prompts=prompts).save(str(folder))
    shutil.rmtree(hf)


FAMILY_OF = {xlm_roberta: "xlm_roberta", roberta: "roberta", mpnet: "mpnet", modernbert: "modernbert"}
make_st_folder(out / "mean", "mean", True, 1)
make_st_folder(out / "cls", "cls", True, 2)
for i, mode in enumerate(["max", "mean_sqrt_len_tokens", "weightedmean", "lasttoken"]):
    make_st_folder(out / mode, mode, False, 3 + i)
make_hf_folder(out / "plain_hf", 9)
make_st_folder(out / "xlm_roberta", "mean", True, 10, xlm_roberta)
make_st_folder(out / "roberta", "cls", True, 11, roberta)
make_st_folder(out / "mpnet", "mean", True, 12, mpnet)
make_st_folder(out / "modernbert", "mean", True, 13, modernbert)
make_st_folder(out / "qwen3", "lasttoken", True, 14, qwen3,
               prompts={"query": "Instruct: Given a question about Python, retrieve passages that answer it\nQuery:",
                        "document": ""})
QWEN_PROMPTS = {"query": "Instruct: Given a question about Python, retrieve passages that answer it\nQuery:",
                "document": ""}
make_st_folder(out / "qwen3_chat", "lasttoken", True, 15, qwen3, prompts=QWEN_PROMPTS, chat_template="jinja")
assert "message" in SentenceTransformer(str(out / "qwen3_chat"), device="cpu")[0].modality_config
make_hf_folder(out / "qwen3_chat_hf", 16, qwen3, chat_template="config")
shutil.rmtree(TOKENIZER_DIR)
print(f"oracle_models: wrote tiny models under {out}")
