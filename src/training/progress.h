// Training progress on stderr: a redrawn bar on a terminal (step, epoch, loss, lr, samples/s,
// ETA) and one plain line per log entry; and log entries appended to output_dir/log.jsonl.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "io/progress.h"

namespace embedtune::training {

class ProgressReporter {
 public:
  // `total_steps` optimizer steps in all, `start_step` already done (resume), `rows_per_step`
  // training rows per optimizer step (for samples/s). `log_file` empty: no log.jsonl.
  ProgressReporter(bool bar, bool lines, int64_t total_steps, int64_t start_step,
                   int64_t rows_per_step, std::filesystem::path log_file);
  ~ProgressReporter();

  // After each optimizer step: redraws the bar (when enabled).
  void step(int64_t global_step, double epoch, double loss, double learning_rate);
  // A log_history entry: a line on stderr (when enabled) and a line in log.jsonl.
  void log(const nlohmann::json& entry);
  // Ends the bar's line.
  void finish();

  // A training-log entry as one readable line: a training row (step/total, epoch, loss, lr,
  // grad norm), an evaluation (NDCG@10 per dimension) or the closing summary.
  static std::string format_line(const nlohmann::json& entry, int64_t total_steps);

 private:
  io::StatusLine bar_;
  bool lines_;
  int64_t total_steps_, start_step_, rows_per_step_;
  std::filesystem::path log_file_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace embedtune::training
