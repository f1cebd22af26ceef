// The parts of a checkpoint that are plain JSON (trainer_state.json, rng_state.json, resume.json),
// read and checked without LibTorch, so that the same code is fuzzed under the sanitizers.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace embedtune::training {

// transformers.TrainerState, the fields a run needs to continue and to report. Written with
// sorted keys and 2-space indent, as TrainerState.save_to_json.
struct TrainerState {
  double epoch = 0;  // epochs done, fractional: epoch + (micro-batch + 1) / micro-batches per epoch
  int64_t global_step = 0;
  int64_t max_steps = 0;
  int64_t logging_steps = 500, eval_steps = 500, save_steps = 500;
  int64_t train_batch_size = 0;
  int64_t num_train_epochs = 0;
  int64_t num_input_tokens_seen = 0;
  double total_flos = 0;
  nlohmann::json log_history = nlohmann::json::array();  // objects, each with "step"
  std::optional<double> best_metric;
  std::optional<int64_t> best_global_step;
  std::optional<std::string> best_model_checkpoint;

  nlohmann::json to_json() const;
  // Throws Error naming `origin` and the field when a required field is missing or mistyped.
  static TrainerState from_json(const nlohmann::json& json, const std::string& origin);
};

// rng_state.json: the generators' states as bytes and text, and where the sampler stands.
struct RngStateFile {
  std::vector<uint8_t> torch_cpu;                  // at::Generator::get_state() bytes
  std::optional<std::vector<uint8_t>> torch_cuda;  // the current CUDA device's, when saved
  std::string mt19937_64;                          // operator<< text of the trainer's engine
  int64_t epoch = 0;                               // sampler epoch of the next micro-batch
  int64_t micro_batch = 0;                         // its index within the epoch

  nlohmann::json to_json() const;
  // Throws Error naming `origin` and the field for a missing or mistyped field, a state that is
  // not hexadecimal, an engine state that does not parse, or a negative position.
  static RngStateFile from_json(const nlohmann::json& json, const std::string& origin);
};

// What a checkpoint folder holds besides tensors: trainer_state.json, rng_state.json,
// scheduler.json and resume.json, each read and checked. Throws Error naming the file.
struct CheckpointState {
  TrainerState state;
  RngStateFile rng;
  nlohmann::json scheduler;
  nlohmann::json resume;  // an object
};
CheckpointState read_checkpoint_state(const std::filesystem::path& checkpoint_dir);

// Lowercase hexadecimal of `bytes`, and back (throws Error naming `origin` when not hex).
std::string to_hex(const std::vector<uint8_t>& bytes);
std::vector<uint8_t> from_hex(const std::string& hex, const std::string& origin);

}  // namespace embedtune::training
