// Baseline vs fine-tuned NDCG@10 per Matryoshka dimension, as Markdown or plain text.
#include "evaluation/compare.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <regex>

#include "io/error.h"

namespace embedtune::evaluation {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// dim -> value of "dim_{d}_cosine_ndcg@10" (or "eval_dim_..."); an unprefixed key wins.
std::map<int64_t, double> ndcg_by_dim(const MetricList& metrics, const std::string& source) {
  static const std::regex key(R"(^(eval_)?dim_(\d{1,9})_cosine_ndcg@10$)");
  std::map<int64_t, double> out;
  std::map<int64_t, bool> prefixed;
  for (const auto& [k, v] : metrics) {
    std::smatch m;
    if (!std::regex_match(k, m, key)) continue;
    const int64_t d = std::stoll(m[2].str());
    const bool is_prefixed = m[1].matched;
    if (out.count(d) == 0 || (prefixed[d] && !is_prefixed)) {
      out[d] = v;
      prefixed[d] = is_prefixed;
    }
  }
  if (out.empty()) {
    fail(
        "{}: no \"dim_<d>_cosine_ndcg@10\" key; expected the results of a Matryoshka evaluation "
        "(embedtune evaluate writes them)",
        source);
  }
  return out;
}

double ratio(double a, double b) { return b == 0.0 ? kNaN : a / b; }

std::string score(double v) { return std::isnan(v) ? "n/a" : fmt::format("{:.4f}", v); }
std::string signed_percent(double v) {
  return std::isnan(v) ? "n/a" : fmt::format("{:+.1f}%", 100.0 * v);
}
std::string percent(double v) { return std::isnan(v) ? "n/a" : fmt::format("{:.1f}%", 100.0 * v); }

std::vector<std::vector<std::string>> cells(const Comparison& c) {
  std::vector<std::vector<std::string>> rows;
  rows.push_back(
      {"Dimension", "Baseline", "Fine-tuned", "Improvement", "Baseline kept", "Fine-tuned kept"});
  for (const auto& r : c.rows) {
    rows.push_back({std::to_string(r.dim), score(r.baseline), score(r.finetuned),
                    signed_percent(r.improvement), percent(r.baseline_share),
                    percent(r.finetuned_share)});
  }
  return rows;
}

std::string notes(const Comparison& c) {
  std::string out =
      fmt::format("Metric: {}. \"kept\": share of the model's own full-size ({}) score.\n",
                  c.metric, c.rows.empty() ? 0 : c.rows.front().dim);
  if (!c.only_in_baseline.empty()) {
    out += fmt::format("Only in the baseline (not compared): {}\n",
                       fmt::join(c.only_in_baseline, ", "));
  }
  if (!c.only_in_finetuned.empty()) {
    out += fmt::format("Only in the fine-tuned results (not compared): {}\n",
                       fmt::join(c.only_in_finetuned, ", "));
  }
  return out;
}

}  // namespace

Comparison compare_results(const MetricList& baseline, const MetricList& finetuned,
                           const std::string& baseline_name, const std::string& finetuned_name) {
  const auto base = ndcg_by_dim(baseline, baseline_name);
  const auto tuned = ndcg_by_dim(finetuned, finetuned_name);
  Comparison c;
  for (const auto& [d, v] : base) {
    if (tuned.count(d) == 0) c.only_in_baseline.push_back(d);
  }
  for (const auto& [d, v] : tuned) {
    if (base.count(d) == 0) c.only_in_finetuned.push_back(d);
  }
  std::vector<int64_t> dims;
  for (const auto& [d, v] : base) {
    if (tuned.count(d) > 0) dims.push_back(d);
  }
  if (dims.empty()) {
    fail(
        "{} and {}: no dimension in common (baseline has {}, fine-tuned has {}); evaluate both "
        "at the same Matryoshka dimensions",
        baseline_name, finetuned_name, fmt::join(c.only_in_baseline, ", "),
        fmt::join(c.only_in_finetuned, ", "));
  }
  std::sort(dims.rbegin(), dims.rend());
  const double base_full = base.at(dims.front());
  const double tuned_full = tuned.at(dims.front());
  for (int64_t d : dims) {
    DimComparison r;
    r.dim = d;
    r.baseline = base.at(d);
    r.finetuned = tuned.at(d);
    r.improvement = r.baseline == 0.0 ? kNaN : (r.finetuned - r.baseline) / r.baseline;
    r.baseline_share = ratio(r.baseline, base_full);
    r.finetuned_share = ratio(r.finetuned, tuned_full);
    c.rows.push_back(r);
  }
  return c;
}

Comparison compare_result_files(const std::filesystem::path& baseline,
                                const std::filesystem::path& finetuned) {
  return compare_results(read_results_json(baseline), read_results_json(finetuned),
                         baseline.string(), finetuned.string());
}

std::string render_markdown(const Comparison& comparison) {
  const auto rows = cells(comparison);
  std::string out = "| " + fmt::format("{}", fmt::join(rows[0], " | ")) + " |\n|";
  for (size_t i = 0; i < rows[0].size(); ++i) out += "---:|";
  out += "\n";
  for (size_t r = 1; r < rows.size(); ++r)
    out += "| " + fmt::format("{}", fmt::join(rows[r], " | ")) + " |\n";
  return out + "\n" + notes(comparison);
}

std::string render_text(const Comparison& comparison) {
  const auto rows = cells(comparison);
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) {
      out += (i == 0 ? "" : "  ") + fmt::format("{:>{}}", row[i], width[i]);
    }
    out += "\n";
  }
  return out + notes(comparison);
}

}  // namespace embedtune::evaluation
