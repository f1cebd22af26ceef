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

// One storage setting (dimension, precision) of the quality/size frontier.
struct FrontierPoint {
  int64_t dim = 0;
  std::string precision;  // "float32", "int8", "binary", "int8+rescore", "binary+rescore"
  int64_t bytes = 0;      // per stored vector: float32 4 d, int8 d, binary ceil(d / 8)
  double baseline = 0.0;  // NDCG@10; NaN when that side lacks the point
  double finetuned = 0.0;
  double baseline_share = 0.0;  // of the model's own full-size float32 NDCG@10; NaN if unknown
  double finetuned_share = 0.0;
};

struct Frontier {
  std::vector<FrontierPoint> points;  // fewest bytes first; equal bytes: larger dim first
  int64_t full_dim = 0;               // the largest dimension, whose float32 score is 100%
  bool quantized = false;             // some point has a precision other than float32
};

// Every (dim, precision) with a "dim_{d}_{precision}_ndcg@10" key in either result (float32 as
// "dim_{d}_cosine_ndcg@10"; an "eval_" prefix accepted). Storage bytes: a "+rescore" precision
// stores what its base precision stores (the float32 query is never stored). Throws Error (naming
// the source) when a side has no float32 score at the largest dimension.
Frontier compute_frontier(const MetricList& baseline, const MetricList& finetuned,
                          const std::string& baseline_name, const std::string& finetuned_name);

// The point with the fewest bytes whose share of the model's full-size float32 NDCG@10 is at
// least `share` (on equal bytes, the higher score); nullptr when none is.
const FrontierPoint* smallest_keeping(const Frontier& frontier, double share, bool finetuned);

// Markdown: "| Dimension | Precision | Bytes | Baseline | Fine-tuned | Baseline kept | Fine-tuned
// kept |" per point, then the smallest settings keeping 99% and 95% for each model.
std::string render_frontier_markdown(const Frontier& frontier);

// A Markdown table: | Dimension | Baseline | Fine-tuned | Improvement | Baseline kept | Fine-tuned
// kept | scores with 4 decimals, improvement as a signed percentage with 1 decimal ("+7.4%"),
// shares of the full-size score as percentages with 1 decimal; "n/a" for NaN. Ends with a newline.
std::string render_markdown(const Comparison& comparison);

// The same table as aligned plain text.
std::string render_text(const Comparison& comparison);

}  // namespace embedtune::evaluation
