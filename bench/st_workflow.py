"""The sentence-transformers side of bench_workflow.py: the reference notebook's whole workflow
(baseline evaluation, Matryoshka fine-tuning with SentenceTransformerTrainer, evaluation of the
fine-tuned model) driven by an embedtune recipe, on the splits an `embedtune run` already prepared.
With a `mine:` section, hard negatives are first mined from the prepared train split with the base
model (util.mine_hard_negatives, the same settings) and training reads the mined rows, as `run`
does; the evaluation corpus stays the prepared train + test. The inner loss follows the recipe's
training.inner_loss (MultipleNegativesRankingLoss, CachedMultipleNegativesRankingLoss or
GISTEmbedLoss with training.guide_model).

Usage: st_workflow.py RECIPE --run-dir DIR --model PATH [--set KEY=VALUE ...]
  RECIPE   the same YAML recipe `embedtune run` read (recipes/demo.yaml); --set applies the same
           dotted overrides (training.learning_rate=3e-5, dims=384,128, evaluation.batch_size=32)
  DIR      an embedtune run folder: DIR/data/train.jsonl and DIR/data/test.jsonl are used as they are
Prints one JSON line: wall seconds per stage (baseline, train, finetuned) and, per dim, NDCG@10 of
the base and the fine-tuned model, plus every evaluator metric for both.

Stage boundaries follow embedtune's timings.json: mine (with a mine: section) = load the model +
mine; baseline = load the model + evaluate; train =
build the trainer + train (its per-epoch evaluations included) + save the model; finetuned = load
the saved model + evaluate. Sentence-transformers 6.2 (the pinned oracle).
"""
import argparse
import dataclasses
import json
import pathlib
import shutil
import sys
import tempfile
import time

import yaml

# Keys of the recipe's training: section that are embedtune's, not SentenceTransformerTrainingArguments
# fields; they configure the model and the loss instead (mirrors src/training/training_arguments.h).
LOSS_KEYS = {"loss", "matryoshka_weights", "n_dims_per_step", "scale", "similarity_fct", "train_columns",
             "inner_loss", "mini_batch_size", "guide_model", "temperature", "margin_strategy", "margin",
             "contrast_anchors", "contrast_positives", "gather_across_devices"}
MODEL_KEYS = {"max_seq_length", "device"}
DERIVED_KEYS = {"model", "train", "eval", "eval_corpus", "output_dir", "matryoshka_dims"}
# The recipe's mine: keys, as mine_hard_negatives spells its parameters (src/mining/mine_settings.h).
# The run names the columns and keeps the positives out itself (src/pipeline/recipe.h).
MINE_KEYS = {"range_min": int, "range_max": int, "max_score": float, "min_score": float,
             "absolute_margin": float, "relative_margin": float, "num_negatives": int,
             "sampling_strategy": str, "query_prompt_name": str, "query_prompt": str,
             "corpus_prompt_name": str, "corpus_prompt": str, "output_format": str,
             "output_scores": bool, "batch_size": int, "faiss_batch_size": int, "cache_folder": str}
# An embedtune checkpoint-resume option; a fresh benchmark run never resumes.
IGNORED_KEYS = {"resume_from_checkpoint"}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipe")
    parser.add_argument("--run-dir", required=True, help="embedtune run folder holding data/train.jsonl, data/test.jsonl")
    parser.add_argument("--model", required=True, help="model folder (the recipe's model: is replaced by it)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="recipe override (repeatable)")
    return parser.parse_args(argv)


def load_recipe(path: str, sets: list[str]) -> dict:
    """The recipe as a nested dict with every --set KEY=VALUE applied (dotted keys, '-' read as '_').
    Values given on the command line are read as YAML scalars; a comma list becomes a list."""
    recipe = yaml.safe_load(pathlib.Path(path).read_text(encoding="utf-8"))
    if not isinstance(recipe, dict):
        sys.exit(f"{path}: a recipe is a YAML mapping of keys (model, output, data, dims, ...)")
    for assignment in sets:
        if "=" not in assignment:
            sys.exit(f"--set: expected KEY=VALUE (e.g. training.learning_rate=3e-5), found '{assignment}'")
        key, text = assignment.split("=", 1)
        parts = key.strip().replace("-", "_").split(".")
        value = [yaml.safe_load(t) for t in text.strip("[] ").split(",")] if "," in text else yaml.safe_load(text)
        node = recipe
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return recipe


def coerce(value, default, key: str):
    """`value` (from YAML or --set) converted to the type of the field's default, as embedtune's
    typed TrainingArguments would read it (PyYAML reads '5e-05' as a string, for instance)."""
    if value is None or default is None or isinstance(default, (list, dict)):
        return value
    try:
        if isinstance(default, bool):
            if isinstance(value, str):
                return {"true": True, "yes": True, "1": True, "on": True}.get(value.lower(), False)
            return bool(value)
        if isinstance(default, int) and not isinstance(value, bool):
            return int(value)
        if isinstance(default, float):
            return float(value)
    except (TypeError, ValueError):
        sys.exit(f"recipe: training.{key}: expected a value like {default!r}, found {value!r}")
    return value if not hasattr(default, "value") else str(value)


def training_arguments(training: dict, output_dir: str, device: str = "cpu"):
    """SentenceTransformerTrainingArguments from the recipe's training: keys (the same names)."""
    from sentence_transformers import SentenceTransformerTrainingArguments

    fields = {f.name: f for f in dataclasses.fields(SentenceTransformerTrainingArguments)}
    kwargs = {}
    for key, value in training.items():
        if key in LOSS_KEYS | MODEL_KEYS | DERIVED_KEYS | IGNORED_KEYS:
            continue
        if key not in fields:
            sys.exit(f"recipe: training.{key} is not a SentenceTransformerTrainingArguments field")
        field = fields[key]
        default = field.default if field.default is not dataclasses.MISSING else None
        kwargs[key] = coerce(value, default, key)
    kwargs.update(output_dir=output_dir, report_to="none", disable_tqdm=True)
    if device == "cpu":
        kwargs["use_cpu"] = True  # as embedtune's device: cpu; transformers refuses bf16 on CPU without it
    return SentenceTransformerTrainingArguments(**kwargs)


def read_jsonl(path: pathlib.Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def build_evaluator(train: list[dict], test: list[dict], dims: list[int], batch_size: int, prompts: dict):
    """The notebook's evaluator: corpus = every positive (train + test), queries = the test anchors,
    one InformationRetrievalEvaluator per dim. Ids are strings, as embedtune reads them, so exact
    score ties break in the same (str) order on both sides."""
    from sentence_transformers.sentence_transformer.evaluation import InformationRetrievalEvaluator, SequentialEvaluator
    from sentence_transformers.util import cos_sim

    corpus = {str(r["id"]): r["positive"] for r in train + test}
    queries = {str(r["id"]): r["anchor"] for r in test}
    relevant = {q: {q} for q in queries}
    return SequentialEvaluator([
        InformationRetrievalEvaluator(queries=queries, corpus=corpus, relevant_docs=relevant, name=f"dim_{d}",
                                      truncate_dim=d, score_functions={"cosine": cos_sim}, batch_size=batch_size,
                                      query_prompt=prompts.get("query") or None,
                                      corpus_prompt=prompts.get("corpus") or None)
        for d in dims])


def as_bool(value) -> bool:
    if isinstance(value, str):
        return value.lower() in ("true", "yes", "1", "on")
    return bool(value)


def build_loss(model, training: dict, dims: list[int], device: str = "cpu"):
    """MatryoshkaLoss(inner_loss) with the recipe's dims, honouring embedtune's loss keys (loss,
    inner_loss, scale, similarity_fct, matryoshka_weights, n_dims_per_step, mini_batch_size,
    guide_model, temperature, margin_strategy, margin, contrast_anchors, contrast_positives)."""
    from sentence_transformers import SentenceTransformer, util
    from sentence_transformers.sentence_transformer.losses import (CachedMultipleNegativesRankingLoss, GISTEmbedLoss,
                                                                   MatryoshkaLoss, MultipleNegativesRankingLoss)

    similarity = {"cos_sim": util.cos_sim, "cosine": util.cos_sim, "dot_score": util.dot_score,
                  "dot": util.dot_score}[training.get("similarity_fct", "cos_sim")]
    loss_name = training.get("loss", "MatryoshkaLoss")
    inner_name = training.get("inner_loss", "MultipleNegativesRankingLoss") if loss_name == "MatryoshkaLoss" else loss_name
    if inner_name == "MultipleNegativesRankingLoss":
        inner = MultipleNegativesRankingLoss(model, scale=float(training.get("scale", 20.0)), similarity_fct=similarity)
    elif inner_name == "CachedMultipleNegativesRankingLoss":
        inner = CachedMultipleNegativesRankingLoss(model, scale=float(training.get("scale", 20.0)),
                                                   similarity_fct=similarity,
                                                   mini_batch_size=int(training.get("mini_batch_size", 32)))
    elif inner_name == "GISTEmbedLoss":
        if not training.get("guide_model"):
            sys.exit("recipe: training.guide_model: GISTEmbedLoss needs a guide model folder")
        guide = SentenceTransformer(str(training["guide_model"]), device=device)
        inner = GISTEmbedLoss(model, guide, temperature=float(training.get("temperature", 0.01)),
                              margin_strategy=str(training.get("margin_strategy", "absolute")),
                              margin=float(training.get("margin", 0.0)),
                              contrast_anchors=as_bool(training.get("contrast_anchors", True)),
                              contrast_positives=as_bool(training.get("contrast_positives", True)))
    else:
        sys.exit(f"recipe: training.inner_loss: {inner_name} is not offered by this benchmark")
    if loss_name != "MatryoshkaLoss":
        return inner
    weights = training.get("matryoshka_weights")
    if isinstance(weights, str):
        weights = [float(w) for w in weights.strip("[]").split(",")]
    return MatryoshkaLoss(model, inner, matryoshka_dims=dims, matryoshka_weights=weights or None,
                          n_dims_per_step=int(training.get("n_dims_per_step", -1)))


def mine_settings(recipe: dict) -> dict | None:
    """mine_hard_negatives keyword arguments from the recipe's mine: section, or None when the run
    does not mine (mine.enabled false, or no other mine key set). Empty prompts count as not given,
    as embedtune reads them; null numbers are None."""
    mine = dict(recipe.get("mine") or {})
    enabled = mine.pop("enabled", None)
    enabled = bool(mine) if enabled is None else as_bool(enabled)
    if not enabled:
        return None
    kwargs = {}
    for key, value in mine.items():
        if key == "seed":
            continue
        if key not in MINE_KEYS:
            sys.exit(f"recipe: mine.{key} is not a mine setting this benchmark maps")
        if value is None or (isinstance(value, str) and value.lower() in ("", "null", "none")):
            continue  # None, ST's default for every optional parameter
        kind = MINE_KEYS[key]
        kwargs[key] = as_bool(value) if kind is bool else kind(value)
    if kwargs.get("output_format", "triplet") not in ("triplet", "n-tuple"):
        sys.exit("recipe: mine.output_format: the run trains on what it mines, so triplet or n-tuple")
    return kwargs


def ndcg_by_dim(results: dict, dims: list[int]) -> dict:
    return {str(d): float(results[f"dim_{d}_cosine_ndcg@10"]) for d in dims}


def main(argv=None) -> None:
    args = parse_args(argv)
    recipe = load_recipe(args.recipe, args.set)
    dims = recipe.get("dims")
    dims = [int(d) for d in (dims.split(",") if isinstance(dims, str) else dims)]
    dims.sort(reverse=True)  # Matryoshka dims large to small, as the notebook and embedtune order them
    evaluation = recipe.get("evaluation") or {}
    eval_batch_size = int(evaluation.get("batch_size", 32))
    prompts = {"query": evaluation.get("query_prompt"), "corpus": evaluation.get("corpus_prompt")}
    training = dict(recipe.get("training") or {})
    max_seq_length = int(training.get("max_seq_length", 0) or 0)
    columns = training.get("train_columns") or ["anchor", "positive"]
    if isinstance(columns, str):
        columns = [c.strip() for c in columns.strip("[]").split(",")]

    mining = mine_settings(recipe)
    run_dir = pathlib.Path(args.run_dir)
    train_rows = read_jsonl(run_dir / "data" / "train.jsonl")
    test_rows = read_jsonl(run_dir / "data" / "test.jsonl")

    import torch
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer

    device = training.get("device") or "cpu"
    evaluator = build_evaluator(train_rows, test_rows, dims, eval_batch_size, prompts)
    timings, out = {}, {"threads": torch.get_num_threads()}

    def load(path):
        model = SentenceTransformer(path, device=device)
        # embedtune cuts texts at training.max_seq_length in every stage (src/pipeline/workflow.cc).
        if max_seq_length > 0:
            model.max_seq_length = max_seq_length
        return model

    # 1b. Hard negatives for the training pairs, mined with the base model (as `run` does).
    train_dataset = None
    if mining is not None:
        import random

        from sentence_transformers.util import mine_hard_negatives

        start = time.perf_counter()
        model = load(args.model)
        random.seed(int((recipe.get("mine") or {}).get("seed", 42)))  # random sampling draws from Python's random
        pairs = Dataset.from_dict({"anchor": [r["anchor"] for r in train_rows],
                                   "positive": [r["positive"] for r in train_rows]})
        train_dataset = mine_hard_negatives(pairs, model, anchor_column_name="anchor",
                                            positive_column_name="positive", **mining)
        timings["mine"] = time.perf_counter() - start
        out["mined_rows"] = len(train_dataset)
        out["mined_columns"] = train_dataset.column_names
        del model

    # 2. Baseline.
    start = time.perf_counter()
    model = load(args.model)
    baseline = evaluator(model)
    timings["baseline"] = time.perf_counter() - start

    # 3./4. Loss and fine-tuning (the model is reloaded, as the notebook does before training).
    tmp = tempfile.mkdtemp(prefix="st_workflow_")
    try:
        start = time.perf_counter()
        model = load(args.model)
        train_loss = build_loss(model, training, dims, device)
        if train_dataset is None:
            train_dataset = Dataset.from_list([{c: r[c] for c in columns} for r in train_rows]).select_columns(columns)
        trainer = SentenceTransformerTrainer(model=model, args=training_arguments(training, tmp, device),
                                             train_dataset=train_dataset, loss=train_loss, evaluator=evaluator)
        train_output = trainer.train()
        trainer.save_model()
        timings["train"] = time.perf_counter() - start
        out["train_steps"] = train_output.global_step
        out["train_loss"] = train_output.training_loss
        out["best_model_checkpoint"] = pathlib.Path(trainer.state.best_model_checkpoint or "").name or None

        # 5. The fine-tuned model, loaded back from the output folder.
        start = time.perf_counter()
        finetuned = evaluator(load(tmp))
        timings["finetuned"] = time.perf_counter() - start
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    out.update({
        "timings": timings,
        "total_s": sum(timings.values()),
        "baseline_ndcg@10": ndcg_by_dim(baseline, dims),
        "finetuned_ndcg@10": ndcg_by_dim(finetuned, dims),
        "baseline": {k: float(v) for k, v in baseline.items()},
        "finetuned": {k: float(v) for k, v in finetuned.items()},
    })
    print(json.dumps(out))


if __name__ == "__main__":
    main()
