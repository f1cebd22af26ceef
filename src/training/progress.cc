// ProgressReporter: stderr output and log.jsonl appends.
#include "training/progress.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <vector>

#include "io/error.h"
#include "io/plural.h"

namespace embedtune::training {

ProgressReporter::ProgressReporter(bool bar, bool lines, int64_t total_steps, int64_t start_step,
                                   int64_t rows_per_step, std::filesystem::path log_file)
    : bar_(bar),
      lines_(lines),
      total_steps_(total_steps),
      start_step_(start_step),
      rows_per_step_(rows_per_step),
      log_file_(std::move(log_file)),
      start_(std::chrono::steady_clock::now()) {}

ProgressReporter::~ProgressReporter() { finish(); }

void ProgressReporter::step(int64_t global_step, double epoch, double loss, double learning_rate) {
  if (!bar_.enabled()) return;
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const int64_t done = global_step - start_step_;
  const double per_step = done > 0 ? elapsed / done : 0;
  const double samples_per_s = elapsed > 0 ? done * rows_per_step_ / elapsed : 0;
  constexpr int kWidth = 24;
  const int filled = total_steps_ > 0 ? static_cast<int>(kWidth * global_step / total_steps_) : 0;
  std::string bar(filled, '#');
  bar.resize(kWidth, '.');
  bar_.draw(
      fmt::format("train [{}] {}/{} epoch {:.2f} loss {:.4f} lr {:.3g} {:.1f} samples/s ETA {}",
                  bar, global_step, total_steps_, epoch, loss, learning_rate, samples_per_s,
                  io::format_duration(per_step * (total_steps_ - global_step))));
}

std::string ProgressReporter::format_line(const nlohmann::json& entry, int64_t total_steps) {
  auto number = [&](const char* key) { return entry.value(key, 0.0); };
  const int64_t step = entry.value("step", int64_t{0});
  if (entry.contains("train_runtime")) {
    return fmt::format("train: finished {} in {} ({:.1f} samples/s), mean loss {:.4f}",
                       io::counted(step, "step"), io::format_duration(number("train_runtime")),
                       number("train_samples_per_second"), number("train_loss"));
  }
  if (entry.contains("loss")) {
    return fmt::format("step {}/{}  epoch {:.2f}  loss {:.4f}  lr {:.3g}  grad_norm {:.3g}", step,
                       total_steps, number("epoch"), number("loss"), number("learning_rate"),
                       number("grad_norm"));
  }
  // An evaluation: NDCG@10 (cosine) per Matryoshka dimension, largest first.
  std::string line = fmt::format("eval step {}  epoch {:.2f}  ndcg@10:", step, number("epoch"));
  const std::string prefix = "eval_dim_", suffix = "_cosine_ndcg@10";
  std::vector<std::pair<int64_t, double>> dims;
  for (const auto& [key, value] : entry.items()) {
    if (key.rfind(prefix, 0) == 0 && key.size() > prefix.size() + suffix.size() &&
        key.compare(key.size() - suffix.size(), suffix.size(), suffix) == 0 && value.is_number()) {
      const std::string dim = key.substr(prefix.size(), key.size() - prefix.size() - suffix.size());
      if (dim.find_first_not_of("0123456789") == std::string::npos)
        dims.emplace_back(std::stoll(dim), value.get<double>());
    }
  }
  std::sort(dims.begin(), dims.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  for (const auto& [dim, value] : dims) line += fmt::format(" {}={:.4f}", dim, value);
  if (entry.contains("eval_runtime")) line += fmt::format("  ({:.1f} s)", number("eval_runtime"));
  return line;
}

void ProgressReporter::log(const nlohmann::json& entry) {
  if (lines_) {
    bar_.clear();
    std::fprintf(stderr, "%s\n", format_line(entry, total_steps_).c_str());
    std::fflush(stderr);
  }
  if (!log_file_.empty()) {
    // One write per entry, appended: a reader sees whole lines (JSON Lines).
    std::ofstream out(log_file_, std::ios::app | std::ios::binary);
    out << entry.dump() + "\n";
    out.flush();
    if (!out)
      fail("{}: cannot append the training log; check the folder's permissions and free space",
           log_file_.string());
  }
}

void ProgressReporter::finish() { bar_.finish(); }

}  // namespace embedtune::training
