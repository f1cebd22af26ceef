// report.html of a workflow run: baseline vs fine-tuned per Matryoshka dimension, training curves,
// storage per vector, settings and timings, as one self-contained HTML5 page (inline CSS and SVG).
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

namespace embedtune::pipeline {

struct ReportInputs {
  std::string title;  // e.g. "all-MiniLM-L6-v2 on python-docs-qa"
  std::vector<std::pair<std::string, double>>
      baseline;  // results of the baseline (dim_128_cosine_ndcg@10, ...)
  std::vector<std::pair<std::string, double>> finetuned;  // the same keys for the fine-tuned model
  // trainer_state.json "log_history": training rows {"epoch", "step", "loss", "learning_rate",
  // "grad_norm"}, evaluation rows {"epoch", "step", "eval_dim_384_cosine_ndcg@10", ...,
  // "eval_loss"?} and the closing summary row {"train_runtime", "train_loss", ...}. null or [] for
  // no training.
  nlohmann::json log_history = nlohmann::json::array();
  nlohmann::json settings = nlohmann::json::object();   // the run's recipe, shown as a table
  std::vector<std::pair<std::string, double>> timings;  // stage name -> seconds, in run order
  int64_t best_step = -1;                               // the best checkpoint's step, -1 if none
  // mining::summary_json of the run's mine stage; null when the run mined nothing.
  nlohmann::json mining = nullptr;
};

// The whole report as one HTML5 document: no JavaScript, no external resource, all text escaped.
// Sections: summary; comparison table (evaluation::compare_results, cells formatted exactly as
// `embedtune compare` prints them); NDCG@10 / MRR@10 / recall@10 against dimension (log2 axis),
// baseline dashed; training loss and learning rate against step; evaluation metrics per logged
// evaluation with the best step's row marked; storage per vector (float32, int8, binary) per
// dimension and per million vectors; hard negatives (the mined scores' distribution) when mined;
// settings; timings. Parts whose inputs are missing (no
// common dimension, an empty log_history) are replaced by a note saying why. Never throws for
// bad content; same inputs -> same bytes (no clock, no locale, no hash order).
std::string render_report_html(const ReportInputs& inputs);

// Writes render_report_html(inputs) to `path` atomically (io::write_file_atomic). The parent folder
// must exist. Throws Error naming `path` when the write fails.
void write_report(const std::filesystem::path& path, const ReportInputs& inputs);

}  // namespace embedtune::pipeline
