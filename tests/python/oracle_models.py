"""Makes tiny random BERT models, offline, as sentence-transformers folders and plain HF folders.

Usage: oracle_models.py OUTDIR. Each model uses the real all-MiniLM-L6-v2 tokenizer files and a
random BertModel (transformers, fixed seed) small enough for fast tests. Folders:
  mean/        Transformer -> Pooling(mean) -> Normalize   (sentence-transformers layout)
  cls/         Transformer -> Pooling(cls) -> Normalize
  max/, mean_sqrt_len_tokens/, weightedmean/, lasttoken/   other pooling modes, no Normalize
  plain_hf/    a Hugging Face folder only (no modules.json): ST loads it with mean pooling
"""
import os
import pathlib
import shutil
import sys

import torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.modules import Pooling
from sentence_transformers.base.modules import Normalize, Transformer
from transformers import BertConfig, BertModel

out = pathlib.Path(sys.argv[1])
source = pathlib.Path(os.environ["EMBEDTUNE_DEFAULT_MODEL"])
TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"]


def make_hf_folder(folder: pathlib.Path, seed: int) -> None:
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=30522, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=128, max_position_embeddings=128, hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.1,
    )
    model = BertModel(config)
    # Larger than default init so that outputs differ clearly between tokens and layers.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm" not in name:
                p.normal_(0.0, 0.2)
    model.save_pretrained(folder, safe_serialization=True)
    for name in TOKENIZER_FILES:
        shutil.copy(source / name, folder / name)


def make_st_folder(folder: pathlib.Path, mode: str, normalize: bool, seed: int) -> None:
    hf = folder.with_name(folder.name + "_hf")
    make_hf_folder(hf, seed)
    transformer = Transformer(str(hf), max_seq_length=100)
    modules = [transformer, Pooling(transformer.get_embedding_dimension(), pooling_mode=mode)]
    if normalize:
        modules.append(Normalize())
    SentenceTransformer(modules=modules, device="cpu").save(str(folder))
    shutil.rmtree(hf)


make_st_folder(out / "mean", "mean", True, 1)
make_st_folder(out / "cls", "cls", True, 2)
for i, mode in enumerate(["max", "mean_sqrt_len_tokens", "weightedmean", "lasttoken"]):
    make_st_folder(out / mode, mode, False, 3 + i)
make_hf_folder(out / "plain_hf", 9)
print(f"oracle_models: wrote tiny models under {out}")
