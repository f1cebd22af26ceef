"""sentence-transformers 6.2's trainer under torchrun (accelerate, Gloo on CPU), for
test_distributed.py: `torchrun --nproc-per-node 2 st_ddp_train.py MODEL TRAIN OUT ARGS_JSON`, or
`python st_ddp_train.py ...` for the trainer in one process.
Rank 0 writes OUT/model.safetensors (the trained transformer's weights), OUT/losses.json and
OUT/marked.safetensors (the elements weight_parity holds to steps * lr, from this run's gradients)."""
import json
import sys

import torch
from datasets import Dataset
from safetensors.torch import save_file
from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer
from sentence_transformers import SentenceTransformerTrainingArguments
from sentence_transformers.sentence_transformer.losses import (CachedMultipleNegativesRankingLoss, MatryoshkaLoss,
                                                               MultipleNegativesRankingLoss)

from weight_parity import rounding_level_callback


def main(model_dir, train, out, settings):
    torch.set_num_threads(1)
    settings = json.loads(settings)
    dims = settings.pop("matryoshka_dims")
    gather = settings.pop("gather_across_devices", False)
    inner = settings.pop("inner_loss", "MultipleNegativesRankingLoss")
    mini_batch_size = settings.pop("mini_batch_size", 32)
    model = SentenceTransformer(model_dir, device="cpu")
    rows = [json.loads(line) for line in open(train, encoding="utf-8")]
    dataset = Dataset.from_dict({c: [r[c] for r in rows] for c in ("anchor", "positive")})
    if inner == "CachedMultipleNegativesRankingLoss":
        inner_loss = CachedMultipleNegativesRankingLoss(model, mini_batch_size=mini_batch_size,
                                                        gather_across_devices=gather)
    else:
        inner_loss = MultipleNegativesRankingLoss(model, gather_across_devices=gather)
    loss = MatryoshkaLoss(model, inner_loss, matryoshka_dims=dims)
    args = SentenceTransformerTrainingArguments(output_dir=out, save_strategy="no", report_to="none",
                                                use_cpu=True, optim="adamw_torch_fused", disable_tqdm=True,
                                                **settings)
    rounding = rounding_level_callback(model[0].auto_model)
    trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=dataset, loss=loss,
                                         callbacks=[rounding])
    trainer.train()
    if trainer.is_world_process_zero():
        state = {k: v.contiguous() for k, v in model[0].auto_model.state_dict().items()}
        save_file(state, f"{out}/model.safetensors")
        save_file({k: v.contiguous() for k, v in rounding.marked.items()}, f"{out}/marked.safetensors")
        losses = [e["loss"] for e in trainer.state.log_history if "loss" in e]
        with open(f"{out}/losses.json", "w") as f:
            json.dump(losses, f)
    if torch.distributed.is_initialized():
        # Every rank leaves together, with the Gloo group torn down first: a rank that reached
        # interpreter exit while rank 0 still wrote its files aborted once in the group's
        # destructor ("terminate called without an active exception", SIGABRT).
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()


if __name__ == "__main__":
    main(*sys.argv[1:])
