// Baseline vs fine-tuned retrieval scores per Matryoshka dimension: the table the fine-tuning
// blog post ends with (NDCG@10 per dimension, relative improvement), plus how much of its
// full-size score each model keeps at each smaller dimension.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "evaluation/results_io.h"

namespace embedtune::evaluation {

struct DimComparison {
  int64_t dim = 0;
  double baseline = 0.0;
  double finetuned = 0.0;
  double improvement = 0.0;     // (finetuned - baseline) / baseline; NaN when baseline == 0
  double baseline_share = 0.0;  // baseline at dim / baseline at the largest dim; NaN when that is 0
  double finetuned_share = 0.0;  // the same for the fine-tuned model
};

struct Comparison {
  std::string metric = "cosine_ndcg@10";
  std::vector<DimComparison> rows;  // dims present in both, largest first
  std::vector<int64_t>
      only_in_baseline;  // dims one file has and the other lacks (reported, not compared)
  std::vector<int64_t> only_in_finetuned;
};

// Compares the "dim_{d}_cosine_ndcg@10" values (an "eval_" prefix is accepted, as the trainer
// logs them) of two results. `baseline_name`/`finetuned_name` name the sources in errors.
// Throws Error when either side has no such key, or the two share no dimension.
Comparison compare_results(const MetricList& baseline, const MetricList& finetuned,
                           const std::string& baseline_name, const std::string& finetuned_name);

// compare_results on two results JSON files (read_results_json); errors name the files.
Comparison compare_result_files(const std::filesystem::path& baseline,
                                const std::filesystem::path& finetuned);

// A Markdown table: | Dimension | Baseline | Fine-tuned | Improvement | Baseline kept | Fine-tuned
// kept | scores with 4 decimals, improvement as a signed percentage with 1 decimal ("+7.4%"),
// shares of the full-size score as percentages with 1 decimal; "n/a" for NaN. Ends with a newline.
std::string render_markdown(const Comparison& comparison);

// The same table as aligned plain text.
std::string render_text(const Comparison& comparison);

}  // namespace embedtune::evaluation
