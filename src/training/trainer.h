// Trainer: the training loop of sentence-transformers 6.2's SentenceTransformerTrainer (on
// transformers 5.24's Trainer) for (anchor, positive[, negative]) pairs with MatryoshkaLoss:
// gradient accumulation, clipping, AdamW with a warm-up schedule, evaluation, checkpoints with
// rotation and best-model tracking, exact resume, a final model folder with a model card.
//
// Letters: B rows per micro-batch, D the model's embedding dimension.
#pragma once

#include <ATen/Tensor.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "evaluation/information_retrieval_evaluator.h"
#include "training/checkpoint.h"
#include "training/training_arguments.h"

namespace embedtune {
class SentenceTransformer;
}

namespace embedtune::training {

// Hooks for callers and tests, called on the training thread.
struct TrainerCallbacks {
  // After each micro-batch's loss is computed (before scaling and backward); may replace it.
  std::function<void(at::Tensor& loss, int64_t global_step)> on_loss;
  // After each optimizer step; return true to stop as SIGINT would (checkpoint, then return).
  std::function<bool(const TrainerState& state)> on_step_end;
  // Every log_history entry as it is added (training logs, evaluations, the closing summary).
  std::function<void(const nlohmann::json& entry)> on_log;
};

struct TrainerOptions {
  // The evaluator's k lists, score functions and chunk size (the batch size and prompts come
  // from the arguments), as `embedtune evaluate` and a run's baseline use them.
  evaluation::IrEvaluatorConfig eval_config;
  bool eval_bf16 = false;        // encode for evaluation in bf16 autocast (CUDA); fp32 otherwise
  bool progress_bar = false;     // redraw a progress bar on stderr (a terminal)
  bool log_lines = true;         // one plain line per log entry on stderr
  bool handle_signals = true;    // SIGINT/SIGTERM: finish the step, checkpoint, return
  bool save_final_model = true;  // write the final model and README.md into output_dir
};

struct TrainOutput {
  int64_t global_step = 0;
  int64_t steps_run = 0;     // optimizer steps this call ran (0: resumed at the last step)
  double training_loss = 0;  // mean of the logged losses over this call's steps
  nlohmann::json metrics;    // the closing summary entry
  std::vector<std::pair<std::string, double>> final_eval;  // last evaluation (eval_ keys), if any
  bool final_eval_is_saved_model = false;  // final_eval evaluated the weights saved in output_dir
  bool interrupted = false;                // stopped by a signal or on_step_end
  int stop_signal = 0;                     // the signal that stopped it (0: none)
  std::filesystem::path checkpoint;        // the checkpoint written when interrupted
  // False on ranks 1..W-1 under torchrun: rank 0 wrote the model and reports the result.
  bool is_main = true;
};

class Trainer {
 public:
  // Validates `args`, loads the model (moved to args.device) and the data, tokenizes every
  // training text once, and checks that the loss settings fit the model (dims <= D). Throws
  // Error naming the file or key for anything wrong, before any training starts.
  Trainer(TrainingArguments args, TrainerOptions options = {}, TrainerCallbacks callbacks = {});
  ~Trainer();
  Trainer(const Trainer&) = delete;
  Trainer& operator=(const Trainer&) = delete;

  // Runs training to the end (or to an interruption) from scratch or from
  // args.resume_from_checkpoint. Throws Error when the loss or gradient norm stops being finite
  // (naming the step; checkpoints already written are left as they are).
  TrainOutput train();

  // Evaluates the current model on the eval set as `embedtune evaluate` does (the same function,
  // batch size, prompts and evaluator settings): metrics with the "eval_" prefix, in ST's order.
  // Throws Error when no eval file was given.
  std::vector<std::pair<std::string, double>> evaluate();

  const TrainingArguments& args() const { return args_; }
  SentenceTransformer& model();
  const TrainerState& state() const { return state_; }
  int64_t num_train_rows() const;

  // Asks a running train() to stop after the current step (async-signal-safe).
  static void request_stop(int signal_number);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  TrainingArguments args_;
  TrainerState state_;
};

}  // namespace embedtune::training
