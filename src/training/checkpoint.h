// Checkpoints of a training run: trainer_state.json (transformers' TrainerState), optimizer,
// scheduler and RNG state beside a loadable model folder, written atomically; finding, resuming
// from and rotating checkpoint-<step> folders as transformers 5.24 does.
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace embedtune {
class SentenceTransformer;
}

#include "training/checkpoint_state.h"

namespace embedtune::training {

// Everything random that decides what comes next: LibTorch's generators (dropout), the trainer's
// own mt19937_64 (Matryoshka dimension sampling), and where the sampler stands.
struct RngState {
  at::Tensor torch_cpu;  // uint8, at::Generator::get_state() of the default CPU generator
  at::Tensor
      torch_cuda;  // uint8, of the current CUDA device's default generator (undefined on CPU)
  std::string mt19937_64;   // operator<< text of the trainer's engine
  int64_t epoch = 0;        // sampler epoch the next micro-batch comes from
  int64_t micro_batch = 0;  // index of that micro-batch within the epoch

  // Captures the default generators' states (CUDA only when `cuda`) and `engine`.
  static RngState capture(const std::mt19937_64& engine, bool cuda);
  // Sets the default generators and `engine` back to this state.
  void restore(std::mt19937_64& engine) const;

  // The rng_state.json form (hexadecimal bytes), and back.
  RngStateFile to_file() const;
  static RngState from_file(const RngStateFile& file);
};

// What a checkpoint holds besides the model.
struct CheckpointContents {
  std::vector<std::pair<std::string, at::Tensor>> optimizer;  // AdamW::state(), any device
  nlohmann::json scheduler;                                   // scheduler.json
  RngState rng;
  TrainerState state;
  // resume.json: what a resumed run must share with the run that wrote the checkpoint for
  // the result to be the same (the settings that change it, the training data's checksum).
  nlohmann::json resume = nlohmann::json::object();
  // Several processes: the generators of ranks 1..W-1 (`rng` is rank 0's), written as
  // rng_state_<rank>.json, as transformers writes rng_state_<rank>.pth, so each rank resumes
  // drawing the dropout masks it would have drawn.
  std::vector<RngState> other_ranks_rng;
};

inline constexpr const char* kCheckpointPrefix = "checkpoint";
inline constexpr const char* kTrainerStateName = "trainer_state.json";
inline constexpr const char* kOptimizerName = "optimizer.safetensors";
inline constexpr const char* kSchedulerName = "scheduler.json";
inline constexpr const char* kRngStateName = "rng_state.json";
inline constexpr const char* kResumeName = "resume.json";

// "checkpoint-<step>".
std::string checkpoint_folder_name(int64_t global_step);

// Writes output_dir/checkpoint-<step>/: the model folder (SentenceTransformer::save) plus
// optimizer.safetensors, scheduler.json, rng_state.json, trainer_state.json, resume.json and,
// last, manifest.json (every file's size and checksum). The folder is built under a temporary
// name and renamed into place, so a crash leaves either no checkpoint or a whole one. An
// existing folder of that name is replaced. Returns its path. Throws Error (one line: which
// checkpoint, why, that the earlier ones are intact) on a failed write, leaving nothing behind.
std::filesystem::path save_checkpoint(const std::filesystem::path& output_dir,
                                      const SentenceTransformer& model,
                                      const CheckpointContents& contents);

// Reads what save_checkpoint wrote besides the model (tensors on the CPU), after checking every
// file against manifest.json. Throws Error naming the file for anything missing, damaged or
// malformed, with the hint to pick another checkpoint.
// `rank` > 0: `rng` is that rank's generator state (rng_state_<rank>.json; an Error when the
// checkpoint has none, i.e. it was written by fewer processes).
CheckpointContents load_checkpoint(const std::filesystem::path& checkpoint_dir, int rank = 0);

// "" when `checkpoint_dir` matches its manifest, else why not (one line naming the file).
std::string checkpoint_damage(const std::filesystem::path& checkpoint_dir);

// checkpoint-<N> folders of `output_dir`, oldest first by step number (transformers'
// sort_checkpoints without mtime).
std::vector<std::filesystem::path> sorted_checkpoints(const std::filesystem::path& output_dir);

// resume_from_checkpoint given as a path (not "last"): `name` when it is a folder, else an Error
// that lists `output_dir`'s checkpoints to choose from.
std::filesystem::path named_checkpoint(const std::string& name,
                                       const std::filesystem::path& output_dir);

// The newest checkpoint of `output_dir` (damaged or not); throws Error when there is none.
std::filesystem::path last_checkpoint(const std::filesystem::path& output_dir);

// The newest checkpoint of `output_dir` that matches its manifest. Damaged ones are skipped,
// each reported to `skipped` (its path and why). Throws Error when there is none, naming why
// the newest was not usable.
std::filesystem::path last_intact_checkpoint(
    const std::filesystem::path& output_dir,
    const std::function<void(const std::filesystem::path&, const std::string&)>& skipped);

// Deletes the oldest checkpoints until at most `save_total_limit` remain, never the newest one
// and never `best_model_checkpoint` (transformers' rotate_checkpoints). No-op for a limit <= 0.
// Returns the folders deleted.
std::vector<std::filesystem::path> rotate_checkpoints(
    const std::filesystem::path& output_dir, int64_t save_total_limit,
    const std::optional<std::string>& best_model_checkpoint);

}  // namespace embedtune::training
