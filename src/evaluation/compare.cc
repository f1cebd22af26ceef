// Baseline vs fine-tuned NDCG@10 per Matryoshka dimension, as Markdown or plain text.
#include "evaluation/compare.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <regex>
#include <set>

#include "evaluation/ir_evaluator_config.h"
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

std::string precision_of(const std::string& score) { return score == "cosine" ? "float32" : score; }

int64_t storage_bytes(int64_t dim, const std::string& precision) {
  if (precision == "float32") return 4 * dim;
  if (precision.starts_with("int8")) return dim;
  return (dim + 7) / 8;  // binary, as np.packbits pads the last byte
}

// (dim, precision) -> NDCG@10; an unprefixed key wins over an "eval_" one.
std::map<std::pair<int64_t, std::string>, double> ndcg_by_setting(const MetricList& metrics) {
  static const std::regex key(
      R"(^(eval_)?dim_(\d{1,9})_(cosine|int8|binary|int8\+rescore|binary\+rescore)_ndcg@10$)");
  std::map<std::pair<int64_t, std::string>, double> out;
  std::map<std::pair<int64_t, std::string>, bool> prefixed;
  for (const auto& [k, v] : metrics) {
    std::smatch m;
    if (!std::regex_match(k, m, key)) continue;
    const std::pair<int64_t, std::string> setting{std::stoll(m[2].str()), precision_of(m[3].str())};
    if (out.count(setting) == 0 || (prefixed[setting] && !m[1].matched)) {
      out[setting] = v;
      prefixed[setting] = m[1].matched;
    }
  }
  return out;
}

}  // namespace

Frontier compute_frontier(const MetricList& baseline, const MetricList& finetuned,
                          const std::string& baseline_name, const std::string& finetuned_name) {
  const auto base = ndcg_by_setting(baseline);
  const auto tuned = ndcg_by_setting(finetuned);
  Frontier f;
  for (const auto* side : {&base, &tuned}) {
    for (const auto& [setting, v] : *side) {
      if (setting.second == "float32") f.full_dim = std::max(f.full_dim, setting.first);
    }
  }
  auto full = [&](const auto& side, const std::string& name) {
    const auto it = side.find({f.full_dim, "float32"});
    if (it == side.end()) {
      fail(
          "{}: no \"dim_{}_cosine_ndcg@10\" key; the frontier compares every setting with the "
          "full-size float32 score, so evaluate both models at the same dimensions",
          name, f.full_dim);
    }
    return it->second;
  };
  const double base_full = full(base, baseline_name);
  const double tuned_full = full(tuned, finetuned_name);
  std::set<std::pair<int64_t, std::string>> settings;
  for (const auto* side : {&base, &tuned}) {
    for (const auto& [setting, v] : *side) settings.insert(setting);
  }
  for (const auto& [dim, precision] : settings) {
    FrontierPoint p;
    p.dim = dim;
    p.precision = precision;
    p.bytes = storage_bytes(dim, precision);
    const auto b = base.find({dim, precision});
    const auto t = tuned.find({dim, precision});
    p.baseline = b == base.end() ? kNaN : b->second;
    p.finetuned = t == tuned.end() ? kNaN : t->second;
    p.baseline_share = ratio(p.baseline, base_full);
    p.finetuned_share = ratio(p.finetuned, tuned_full);
    f.quantized = f.quantized || precision != "float32";
    f.points.push_back(p);
  }
  const auto& order = known_precisions();
  auto rank = [&](const std::string& p) {
    return std::find(order.begin(), order.end(), p) - order.begin();
  };
  std::sort(f.points.begin(), f.points.end(), [&](const FrontierPoint& a, const FrontierPoint& b) {
    if (a.bytes != b.bytes) return a.bytes < b.bytes;
    if (a.dim != b.dim) return a.dim > b.dim;
    return rank(a.precision) < rank(b.precision);
  });
  return f;
}

const FrontierPoint* smallest_keeping(const Frontier& frontier, double share, bool finetuned) {
  const FrontierPoint* best = nullptr;
  for (const auto& p : frontier.points) {
    const double s = finetuned ? p.finetuned_share : p.baseline_share;
    if (std::isnan(s) || s < share) continue;
    const double v = finetuned ? p.finetuned : p.baseline;
    if (best == nullptr) {
      best = &p;
    } else if (p.bytes == best->bytes && v > (finetuned ? best->finetuned : best->baseline)) {
      best = &p;
    }
    if (p.bytes > best->bytes) break;
  }
  return best;
}

std::string render_frontier_markdown(const Frontier& f) {
  std::string out =
      "| Dimension | Precision | Bytes | Baseline | Fine-tuned | Baseline kept | Fine-tuned kept "
      "|\n|---:|---|---:|---:|---:|---:|---:|\n";
  for (const auto& p : f.points) {
    out += fmt::format("| {} | {} | {} | {} | {} | {} | {} |\n", p.dim, p.precision, p.bytes,
                       score(p.baseline), score(p.finetuned), percent(p.baseline_share),
                       percent(p.finetuned_share));
  }
  out += fmt::format(
      "\nNDCG@10 per stored vector size; \"kept\": share of the model's own float32 score at "
      "{} dims.\n",
      f.full_dim);
  for (double share : {0.99, 0.95}) {
    for (bool tuned : {false, true}) {
      const FrontierPoint* p = smallest_keeping(f, share, tuned);
      out += fmt::format("Smallest setting keeping {:.0f}% ({}): {}\n", 100.0 * share,
                         tuned ? "fine-tuned" : "baseline",
                         p == nullptr
                             ? std::string("none")
                             : fmt::format("{} dims {} ({} bytes, {})", p->dim, p->precision,
                                           p->bytes, score(tuned ? p->finetuned : p->baseline)));
    }
  }
  return out;
}

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
