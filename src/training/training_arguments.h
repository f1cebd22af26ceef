// TrainingArguments: every setting of a training run, listed once (name, default, help) in
// for_each(); YAML loading, `--key value` parsing, --help, printing and validation all walk that
// one list (the shape of gemma.cpp's ArgsBase), through io/settings.h. Names and defaults mirror
// transformers 5.24's TrainingArguments and sentence-transformers 6.2's
// SentenceTransformerTrainingArguments.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "io/settings.h"

namespace embedtune::evaluation {
struct IrEvaluatorConfig;
}

namespace embedtune::training {

struct TrainingArguments {
  // Inputs.
  std::string model, train, eval, eval_corpus, query_prompt, query_prompt_name, corpus_prompt,
      corpus_prompt_name, device;
  int64_t max_seq_length;
  std::string output_dir;
  // Schedule.
  double num_train_epochs;
  int64_t max_steps, per_device_train_batch_size, per_device_eval_batch_size,
      gradient_accumulation_steps;
  // Optimizer and learning rate.
  double learning_rate, weight_decay, adam_beta1, adam_beta2, adam_epsilon, max_grad_norm;
  std::string lr_scheduler_type;
  double warmup_ratio;
  int64_t warmup_steps;
  std::string optim;
  bool bf16, tf32;
  std::string column_forwards;
  bool cuda_graphs;
  // Batches.
  std::string batch_sampler;
  bool dataloader_drop_last;
  std::vector<std::string> train_columns;
  // Loss.
  std::string loss, inner_loss;
  int64_t mini_batch_size;
  std::string guide_model, margin_strategy;
  double temperature, margin;
  bool contrast_anchors, contrast_positives;
  std::vector<int64_t> matryoshka_dims;
  std::vector<double> matryoshka_weights;
  int64_t n_dims_per_step;
  double scale;
  std::string similarity_fct;
  bool gather_across_devices;
  // Several processes (torchrun, srun).
  int64_t ddp_timeout;
  // Evaluation, logging, checkpoints.
  std::string eval_strategy, save_strategy;
  int64_t eval_steps, save_steps, logging_steps, save_total_limit;
  bool load_best_model_at_end, eval_on_start;
  std::string metric_for_best_model;
  std::optional<bool> greater_is_better;
  int64_t seed;
  std::string resume_from_checkpoint;
  // Publishing the final model on the Hugging Face Hub.
  bool push_to_hub, hub_private_repo;
  std::string hub_model_id;

  // All fields at their defaults.
  TrainingArguments();

  // The one list of fields. `visit(field, name, default, help)` is called once per field, in
  // this order; `field` is a reference to the member (const for a const object).
  template <class Self, class Visitor>
  static void for_each(Self& self, Visitor&& visit) {
    visit(self.model, "model", std::string(),
          "Model folder to fine-tune (sentence-transformers or Hugging Face layout)");
    visit(self.train, "train", std::string(),
          "Training rows: prepare's train.jsonl ({\"id\", \"anchor\", \"positive\"[, "
          "\"negative\"]}) or mine's triplets / n-tuples");
    visit(self.eval, "eval", std::string(),
          "Evaluation queries: prepare's test.jsonl (corpus = train + test positives); empty: no "
          "evaluation");
    visit(self.eval_corpus, "eval_corpus", std::string(),
          "prepare's train.jsonl whose positives join the evaluation corpus when train is a mined "
          "file (empty: train itself)");
    visit(self.query_prompt, "query_prompt", std::string(),
          "Prepended to every evaluation query (InformationRetrievalEvaluator's query_prompt; "
          "empty: the model's \"query\" prompt)");
    visit(self.query_prompt_name, "query_prompt_name", std::string(),
          "Name of the model's prompt for evaluation queries, instead of query_prompt");
    visit(self.corpus_prompt, "corpus_prompt", std::string(),
          "Prepended to every evaluation document (InformationRetrievalEvaluator's "
          "corpus_prompt; empty: the model's \"document\" prompt)");
    visit(self.corpus_prompt_name, "corpus_prompt_name", std::string(),
          "Name of the model's prompt for evaluation documents, instead of corpus_prompt");
    visit(self.device, "device", std::string("cpu"), "cpu, cuda or cuda:N");
    visit(self.max_seq_length, "max_seq_length", int64_t{0},
          "Cut texts at this many tokens (0: the model's own)");
    visit(self.output_dir, "output_dir", std::string(),
          "Folder for checkpoints, logs and the final model");
    visit(self.num_train_epochs, "num_train_epochs", 3.0,
          "Epochs (a fraction ends mid-epoch); ignored when max_steps > 0");
    visit(self.max_steps, "max_steps", int64_t{-1},
          "Optimizer steps in all; > 0 overrides num_train_epochs");
    visit(self.per_device_train_batch_size, "per_device_train_batch_size", int64_t{8},
          "Pairs per micro-batch (in-batch negatives come from these)");
    visit(self.per_device_eval_batch_size, "per_device_eval_batch_size", int64_t{8},
          "Texts per batch when encoding for evaluation");
    visit(self.gradient_accumulation_steps, "gradient_accumulation_steps", int64_t{1},
          "Micro-batches per optimizer step (adds no negatives)");
    visit(self.learning_rate, "learning_rate", 5e-5, "Peak learning rate of AdamW");
    visit(self.weight_decay, "weight_decay", 0.0,
          "AdamW weight decay (not applied to biases and LayerNorm weights)");
    visit(self.adam_beta1, "adam_beta1", 0.9, "AdamW beta1");
    visit(self.adam_beta2, "adam_beta2", 0.999, "AdamW beta2");
    visit(self.adam_epsilon, "adam_epsilon", 1e-8, "AdamW epsilon");
    visit(self.max_grad_norm, "max_grad_norm", 1.0,
          "Clip the global gradient norm to this (0: no clipping)");
    visit(self.lr_scheduler_type, "lr_scheduler_type", std::string("linear"),
          "linear, cosine, constant or constant_with_warmup");
    visit(self.warmup_ratio, "warmup_ratio", 0.0,
          "Warm-up over ceil(ratio * total steps) steps, in [0, 1]; used when warmup_steps is 0");
    visit(self.warmup_steps, "warmup_steps", int64_t{0},
          "Warm-up steps (overrides warmup_ratio when > 0)");
    visit(self.optim, "optim", std::string("adamw_torch_fused"),
          "adamw_torch_fused or adamw_torch (the same AdamW here)");
    visit(self.bf16, "bf16", false,
          "bf16 autocast for forward passes (CUDA only; ignored on the CPU)");
    visit(self.tf32, "tf32", false,
          "TF32 matrix multiplications while training on CUDA (never on the CPU)");
    visit(self.column_forwards, "column_forwards", std::string("auto"),
          "separate (the anchors in one forward, the other columns in another, as "
          "sentence-transformers), together (every column in one forward: fewer, larger kernels), "
          "or auto (together on CUDA, separate on the CPU, where dropout then matches "
          "sentence-transformers')");
    visit(self.cuda_graphs, "cuda_graphs", false,
          "Capture each step's forward, loss and backward as a CUDA graph per packed token count "
          "(in steps of max_seq_length) and replay it: far less host work a step (CUDA only; one "
          "whole step per graph, so not with gradient accumulation, several processes, the "
          "cached or GIST losses, n_dims_per_step or column_forwards: separate)");
    visit(self.batch_sampler, "batch_sampler", std::string("batch_sampler"),
          "batch_sampler (random batches) or no_duplicates (no repeated text within a batch)");
    visit(self.dataloader_drop_last, "dataloader_drop_last", false,
          "Drop the last, shorter batch of each epoch");
    visit(self.train_columns, "train_columns", std::vector<std::string>{},
          "train.jsonl fields in loss order: anchor, positive, negatives... (empty: anchor, "
          "positive[, negative])");
    visit(self.loss, "loss", std::string("MatryoshkaLoss"),
          "MatryoshkaLoss (over inner_loss), MultipleNegativesRankingLoss, "
          "CachedMultipleNegativesRankingLoss, GISTEmbedLoss or CachedGISTEmbedLoss");
    visit(self.inner_loss, "inner_loss", std::string("MultipleNegativesRankingLoss"),
          "The loss inside MatryoshkaLoss: MultipleNegativesRankingLoss, "
          "CachedMultipleNegativesRankingLoss, GISTEmbedLoss or CachedGISTEmbedLoss");
    visit(self.mini_batch_size, "mini_batch_size", int64_t{32},
          "CachedMultipleNegativesRankingLoss, CachedGISTEmbedLoss: rows per forward pass (bounds "
          "memory; the loss is still over the whole batch)");
    visit(self.guide_model, "guide_model", std::string(),
          "GISTEmbedLoss: the guide model folder (e.g. the base model) that flags false negatives");
    visit(self.temperature, "temperature", 0.01, "GISTEmbedLoss: scores are cosine / temperature");
    visit(self.margin_strategy, "margin_strategy", std::string("absolute"),
          "GISTEmbedLoss: absolute or relative false-negative margin");
    visit(self.margin, "margin", 0.0,
          "GISTEmbedLoss: drop candidates the guide scores above positive - margin (relative: "
          "- |positive| * margin)");
    visit(self.contrast_anchors, "contrast_anchors", true,
          "GISTEmbedLoss: anchor-anchor pairs join the softmax");
    visit(self.contrast_positives, "contrast_positives", true,
          "GISTEmbedLoss: positive-positive pairs join the softmax");
    visit(self.matryoshka_dims, "matryoshka_dims", std::vector<int64_t>{},
          "Matryoshka dimensions, also the evaluated ones (empty: the model's dimension and its "
          "halvings down to 64, as evaluate; 768, 512, 256, 128, 64 for a 768-d model)");
    visit(self.matryoshka_weights, "matryoshka_weights", std::vector<double>{},
          "One weight per dimension (empty: all 1)");
    visit(self.n_dims_per_step, "n_dims_per_step", int64_t{-1},
          "Dimensions sampled per step (-1: all)");
    visit(self.scale, "scale", 20.0, "MultipleNegativesRankingLoss scale (inverse temperature)");
    visit(self.similarity_fct, "similarity_fct", std::string("cos_sim"), "cos_sim or dot_score");
    visit(self.gather_across_devices, "gather_across_devices", false,
          "Under torchrun: score each rank's anchors against every rank's candidates (more "
          "in-batch negatives)");
    visit(self.ddp_timeout, "ddp_timeout", int64_t{1800},
          "Under torchrun: seconds a rank waits for the others before the run ends with an error");
    visit(self.eval_strategy, "eval_strategy", std::string("no"),
          "When to evaluate: no, steps or epoch");
    visit(self.save_strategy, "save_strategy", std::string("steps"),
          "When to write a checkpoint: no, steps or epoch");
    visit(self.eval_steps, "eval_steps", int64_t{0}, "Evaluate every N steps (0: logging_steps)");
    visit(self.save_steps, "save_steps", int64_t{500}, "Checkpoint every N steps");
    visit(self.logging_steps, "logging_steps", int64_t{500},
          "Log loss, grad norm and learning rate every N steps");
    visit(self.save_total_limit, "save_total_limit", int64_t{0},
          "Keep at most N checkpoints, plus the best (0: keep all)");
    visit(self.eval_on_start, "eval_on_start", false,
          "Evaluate once before the first step (the baseline; not a best-model candidate)");
    visit(self.load_best_model_at_end, "load_best_model_at_end", false,
          "Finish with the checkpoint that scored best on metric_for_best_model");
    visit(self.metric_for_best_model, "metric_for_best_model", std::string(),
          "Evaluation key, e.g. eval_dim_128_cosine_ndcg@10");
    visit(self.greater_is_better, "greater_is_better", std::optional<bool>(),
          "Whether a larger metric is better (default: true unless the key ends in 'loss')");
    visit(self.seed, "seed", int64_t{42},
          "Seed of weights' dropout, batch order and dimension sampling");
    visit(self.resume_from_checkpoint, "resume_from_checkpoint", std::string(),
          "Checkpoint folder to continue from, or 'last' for the newest in output_dir");
    visit(self.push_to_hub, "push_to_hub", false,
          "Upload the final model to the Hugging Face Hub when training ends (needs HF_TOKEN "
          "or `hf auth login`)");
    visit(self.hub_model_id, "hub_model_id", std::string(),
          "Hub repository for push_to_hub: org/name, or name under the token's user (default: "
          "output_dir's folder name)");
    visit(self.hub_private_repo, "hub_private_repo", false,
          "push_to_hub creates the repository private");
  }

  // The field names in for_each order.
  static const std::vector<std::string>& keys();

  // Sets `key` (underscores or dashes) from text as written on a command line: numbers,
  // true/false (yes/no, 1/0), lists as "a,b,c" or "[a, b, c]". `origin` prefixes errors
  // ("command line"). Throws Error naming the key, the expected type and the text found, or,
  // for an unknown key, the nearest valid key.
  void set(std::string_view key, std::string_view text, std::string_view origin = "command line");

  // Sets every key of a YAML mapping file. Throws Error "FILE:LINE: ..." for unreadable or
  // malformed YAML, a document that is not a mapping, an unknown key (naming the nearest
  // valid one) or a value of the wrong type.
  void load_yaml(const std::filesystem::path& path);

  // Applies `--key value`, `--key=value` and bare `--flag` (bool true) arguments in order.
  // Throws Error for a token that is not an option or an option without a value.
  void apply_command_line(const std::vector<std::string>& tokens);

  // Checks every value and the combinations that must agree; fills derived defaults (eval_steps
  // from logging_steps, greater_is_better from the metric name, the "eval_" prefix of
  // metric_for_best_model). Throws Error naming the key, what was expected, what was found and
  // the fix. Does not look at files or the model. With `need_paths` false, an empty model, train
  // or output_dir is accepted (`--print-config` of a recipe still being written).
  void validate(bool need_paths = true);

  // "key: value" lines in for_each order (YAML that load_yaml reads back).
  std::string to_yaml() const;
  // (key, value as text) of every field whose value differs from its default.
  std::vector<std::pair<std::string, std::string>> non_defaults() const;
  // (key, value as text) of every field.
  std::vector<std::pair<std::string, std::string>> all_values() const;
  // Option lines for --help: "  --key VALUE  help (default: d)".
  static std::string help_text();

  // The evaluation keys the trainer will log (with "eval_") with the evaluator's default
  // settings, or with `config`'s k lists and score functions, for metric_for_best_model.
  std::vector<std::string> eval_metric_keys() const;
  std::vector<std::string> eval_metric_keys(const evaluation::IrEvaluatorConfig& config) const;
};

}  // namespace embedtune::training
