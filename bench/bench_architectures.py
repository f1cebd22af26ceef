"""Encode and training throughput per architecture: bench_encode.py and bench_train.py run on a
random-weight model of each model type embedtune supports, all of one size (6 layers, hidden 384,
12 query heads, intermediate 1536: all-MiniLM-L6-v2's shape), built with transformers' own config
and model classes. BERT-family models use all-MiniLM-L6-v2's WordPiece tokenizer; Qwen3 uses the
Qwen2Tokenizer the test oracle trains (make test writes it under build/testdata) with 4 key/value
heads and last-token pooling, as Qwen3-Embedding.

Usage: bench_architectures.py --bin build/embedtune [--texts 1000] [--steps 10] [--only qwen3,...]
Prints one JSON object: per architecture the encode and train results of the two scripts.
"""
import argparse
import json
import pathlib
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import benchlib  # noqa: E402

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--bin", required=True)
parser.add_argument("--texts", type=int, default=1000)
parser.add_argument("--steps", type=int, default=10)
parser.add_argument("--only", default="", help="comma-separated model types (default: all)")
args = parser.parse_args()
here = pathlib.Path(__file__).resolve().parent
qwen_tokenizer = pathlib.Path(args.bin).resolve().parent / "testdata" / "models" / "qwen3"

MAKE_MODEL = r'''
import sys, shutil, pathlib, torch
from sentence_transformers import SentenceTransformer
from sentence_transformers.sentence_transformer.modules import Pooling
from sentence_transformers.base.modules import Normalize, Transformer
import transformers as t
kind, out, bert_tok, qwen_tok = sys.argv[1], pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3]), pathlib.Path(sys.argv[4])
size = dict(hidden_size=384, num_hidden_layers=6, num_attention_heads=12, intermediate_size=1536)
torch.manual_seed(0)
if kind == "qwen3":
    tok_dir = qwen_tok
    vocab = len(t.AutoTokenizer.from_pretrained(str(qwen_tok)))
    model = t.Qwen3Model(t.Qwen3Config(vocab_size=vocab, num_key_value_heads=4, head_dim=32,
                                       max_position_embeddings=512, attention_dropout=0.0, **size))
else:
    tok_dir = bert_tok
    config = {"bert": (t.BertConfig, t.BertModel, {}),
              "xlm-roberta": (t.XLMRobertaConfig, t.XLMRobertaModel, dict(max_position_embeddings=514, type_vocab_size=1, pad_token_id=1)),
              "mpnet": (t.MPNetConfig, t.MPNetModel, dict(max_position_embeddings=514)),
              "modernbert": (t.ModernBertConfig, t.ModernBertModel, dict(pad_token_id=0, cls_token_id=101, sep_token_id=102,
                                                                          bos_token_id=101, eos_token_id=102))}[kind]
    model = config[1](config[0](vocab_size=30522, **size, **config[2]))
hf = out.with_name(out.name + "_hf")
model.save_pretrained(hf, safe_serialization=True)
for f in ["tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json"]:
    if (tok_dir / f).exists():
        shutil.copy(tok_dir / f, hf / f)
transformer = Transformer(str(hf), max_seq_length=256)
pooling = Pooling(transformer.get_embedding_dimension(), pooling_mode="lasttoken" if kind == "qwen3" else "mean")
SentenceTransformer(modules=[transformer, pooling, Normalize()], device="cpu").save(str(out))
shutil.rmtree(hf)
'''

kinds = ["bert", "xlm-roberta", "mpnet", "modernbert", "qwen3"]
if args.only:
    kinds = [k for k in kinds if k in args.only.split(",")]
if "qwen3" in kinds and not (qwen_tokenizer / "tokenizer.json").exists():
    sys.exit(f"bench_architectures: {qwen_tokenizer}/tokenizer.json missing: run make test (make_testdata) first")
results = {"benchmark": "architectures", "machine": benchlib.machine(), "threads": benchlib.threads(),
           "texts": args.texts, "steps": args.steps, "models": {}}
with tempfile.TemporaryDirectory() as tmp:
    for kind in kinds:
        model = pathlib.Path(tmp) / kind
        subprocess.run([benchlib.PYTHON, "-c", MAKE_MODEL, kind, str(model), str(benchlib.default_model()),
                        str(qwen_tokenizer)], check=True, capture_output=True)
        entry = {}
        for name, cmd in [("encode", [str(here / "bench_encode.py"), "--texts", str(args.texts)]),
                          ("train", [str(here / "bench_train.py"), "--steps", str(args.steps)])]:
            run = subprocess.run([benchlib.PYTHON, *cmd, "--bin", args.bin, "--model", str(model)],
                                 capture_output=True, text=True)
            if run.returncode != 0:
                sys.exit(f"bench_architectures: {kind} {name} failed:\n{run.stderr[-3000:]}")
            entry[name] = json.loads(run.stdout)
        results["models"][kind] = entry
        e, r = entry["encode"], entry["train"]
        print(f"{kind}: encode {e['embedtune']['texts_per_s']:.1f} vs {e['sentence_transformers']['texts_per_s']:.1f} "
              f"texts/s ({e['speedup']:.2f}x, max |diff| {e['max_abs_diff']:.1e}); train "
              f"{r['embedtune']['samples_per_s']:.2f} vs {r['sentence_transformers']['samples_per_s']:.2f} samples/s "
              f"({r['speedup']:.2f}x)", file=sys.stderr, flush=True)
print(json.dumps(results, indent=2))
