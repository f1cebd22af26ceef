// report.html of a workflow run: one self-contained HTML5 page built from the run's results,
// trainer log, settings and timings (inline CSS and SVG, no script, no network).
#include "pipeline/report.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <regex>
#include <set>

#include "evaluation/compare.h"
#include "io/atomic_file.h"
#include "io/error.h"
#include "io/plural.h"
#include "pipeline/svg_chart.h"

namespace embedtune::pipeline {
namespace {

using MetricList = std::vector<std::pair<std::string, double>>;

// Okabe-Ito colours: distinguishable with the common colour-vision deficiencies.
constexpr const char* kPalette[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                    "#E69F00", "#56B4E9", "#000000"};
constexpr size_t kPaletteSize = sizeof(kPalette) / sizeof(kPalette[0]);
// Chart widths that fill the page's 1064-pixel column exactly (1 px border each side; the half
// charts sit two to a row with a 16 px gap). Narrow windows scale them down (max-width: 100%).
constexpr int kFullWidth = 1062;
constexpr int kHalfWidth = 522;

// The cell formats of evaluation::render_markdown, so the report and `embedtune compare` agree
// digit for digit (the report test checks it against render_markdown).
std::string score(double v) { return std::isnan(v) ? "n/a" : fmt::format("{:.4f}", v); }
std::string signed_percent(double v) {
  return std::isnan(v) ? "n/a" : fmt::format("{:+.1f}%", 100.0 * v);
}
std::string percent(double v) { return std::isnan(v) ? "n/a" : fmt::format("{:.1f}%", 100.0 * v); }

std::string trim_zeros(std::string s) {
  if (s.find('.') == std::string::npos) return s;
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

std::string epoch_text(double epoch) { return trim_zeros(fmt::format("{:.2f}", epoch)); }

std::string duration_text(double seconds) {
  if (!std::isfinite(seconds)) return "n/a";
  if (seconds < 60.0) return fmt::format("{:.1f} s", seconds);
  const auto total = static_cast<int64_t>(std::llround(seconds));
  if (total < 3600) return fmt::format("{} min {:02} s", total / 60, total % 60);
  return fmt::format("{} h {:02} min", total / 3600, (total % 3600) / 60);
}

// The value of "dim_{d}_cosine_{metric}", or of its "eval_"-prefixed form (the unprefixed key wins,
// as in compare_results).
std::optional<double> metric_at(const MetricList& metrics, int64_t dim, const std::string& metric) {
  const std::string key = fmt::format("dim_{}_cosine_{}", dim, metric);
  std::optional<double> prefixed;
  for (const auto& [k, v] : metrics) {
    if (k == key) return v;
    if (!prefixed && k == "eval_" + key) prefixed = v;
  }
  return prefixed;
}

double number_or_nan(const nlohmann::json& entry, const char* key) {
  const auto it = entry.find(key);
  return it != entry.end() && it->is_number() ? it->get<double>() : std::nan("");
}

// Training and evaluation rows of trainer_state.json's log_history.
struct TrainingLog {
  struct Point {
    double step, epoch, value;
  };
  std::vector<Point> loss, learning_rate, eval_loss;
  struct EvalRow {
    int64_t step = 0;
    double epoch = 0;
    std::map<int64_t, double> ndcg;  // dim -> eval_dim_{d}_cosine_ndcg@10
    double eval_loss = std::nan("");
  };
  std::vector<EvalRow> evals;
  std::set<int64_t, std::greater<>> eval_dims;  // largest first
  int64_t last_step = 0;
  double last_epoch = 0;
};

TrainingLog parse_log(const nlohmann::json& log_history) {
  static const std::regex eval_key(R"(^eval_dim_(\d{1,9})_cosine_ndcg@10$)");
  TrainingLog log;
  if (!log_history.is_array()) return log;
  for (const auto& entry : log_history) {
    if (!entry.is_object()) continue;
    const double step = number_or_nan(entry, "step");
    if (!std::isfinite(step) || std::abs(step) > 1e15) continue;  // not a step count
    const double epoch = number_or_nan(entry, "epoch");
    log.last_step = std::max(log.last_step, static_cast<int64_t>(step));
    if (std::isfinite(epoch)) log.last_epoch = std::max(log.last_epoch, epoch);
    if (entry.contains("loss")) {
      log.loss.push_back({step, epoch, number_or_nan(entry, "loss")});
      log.learning_rate.push_back({step, epoch, number_or_nan(entry, "learning_rate")});
    }
    TrainingLog::EvalRow row;
    row.step = static_cast<int64_t>(step);
    row.epoch = epoch;
    row.eval_loss = number_or_nan(entry, "eval_loss");
    for (auto it = entry.begin(); it != entry.end(); ++it) {
      std::smatch m;
      if (!it.value().is_number() || !std::regex_match(it.key(), m, eval_key)) continue;
      const int64_t d = std::stoll(m[1].str());
      row.ndcg[d] = it.value().get<double>();
      log.eval_dims.insert(d);
    }
    if (!std::isnan(row.eval_loss)) log.eval_loss.push_back({step, epoch, row.eval_loss});
    if (!row.ndcg.empty() || !std::isnan(row.eval_loss)) log.evals.push_back(row);
  }
  return log;
}

std::string note(const std::string& text) {
  return "<p class=\"note\">" + escape_html(text) + "</p>\n";
}

std::string section(const std::string& id, const std::string& heading, const std::string& body) {
  return fmt::format("<section id=\"{}\">\n<h2>{}</h2>\n{}</section>\n", id, escape_html(heading),
                     body);
}

std::string figure(const std::string& svg) {
  return "<figure class=\"chart\">\n" + svg + "</figure>\n";
}

// ---- sections ----

std::string summary_section(const ReportInputs& in, const evaluation::Comparison* c,
                            const TrainingLog& log) {
  std::vector<std::pair<std::string, std::string>> cards;  // (label, value)
  if (c != nullptr && !c->rows.empty()) {
    const auto& full = c->rows.front();
    cards.emplace_back(fmt::format("NDCG@10 at {} dims (full size)", full.dim),
                       fmt::format("{} → {} ({})", score(full.baseline), score(full.finetuned),
                                   signed_percent(full.improvement)));
    if (c->rows.size() > 1) {
      const auto& small = c->rows.back();
      cards.emplace_back(
          fmt::format("NDCG@10 at {} dims ({}x smaller)", small.dim,
                      trim_zeros(fmt::format("{:.1f}", static_cast<double>(full.dim) / small.dim))),
          fmt::format("{} → {} ({})", score(small.baseline), score(small.finetuned),
                      signed_percent(small.improvement)));
      cards.emplace_back(fmt::format("Fine-tuned score kept at {} dims", small.dim),
                         percent(small.finetuned_share));
    }
  }
  if (!log.loss.empty() || !log.evals.empty()) {
    std::string training =
        fmt::format("{}, {} {}", io::counted(log.last_step, "step"), epoch_text(log.last_epoch),
                    log.last_epoch == 1.0 ? "epoch" : "epochs");
    if (in.best_step >= 0) training += fmt::format(", best step {}", in.best_step);
    cards.emplace_back("Training", training);
  }
  if (!in.timings.empty()) {
    double total = 0;
    for (const auto& [stage, seconds] : in.timings) total += seconds;
    cards.emplace_back("Total time", duration_text(total));
  }
  std::string body = "<div class=\"cards\">\n";
  for (const auto& [label, value] : cards) {
    body += fmt::format(
        "<div class=\"card\"><div class=\"label\">{}</div><div class=\"value\">{}</div></div>\n",
        escape_html(label), escape_html(value));
  }
  body += "</div>\n";
  if (cards.empty())
    body = note("Nothing to summarise: no comparison, training log or timings were given.");
  return section("summary", "Summary", body);
}

std::string comparison_section(const evaluation::Comparison* c, const std::string& error) {
  if (c == nullptr)
    return section("comparison", "Baseline vs fine-tuned", note("No comparison: " + error));
  std::string body =
      "<table id=\"comparison\">\n<caption>NDCG@10, cosine similarity</caption>\n<thead><tr>";
  for (const char* h :
       {"Dimension", "Baseline", "Fine-tuned", "Improvement", "Baseline kept", "Fine-tuned kept"}) {
    body += fmt::format("<th>{}</th>", h);
  }
  body += "</tr></thead>\n<tbody>\n";
  for (const auto& r : c->rows) {
    const char* cls = std::isnan(r.improvement) ? ""
                      : r.improvement >= 0      ? " class=\"up\""
                                                : " class=\"down\"";
    body += fmt::format(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td{}>{}</td><td>{}</td><td>{}</td></tr>\n", r.dim,
        score(r.baseline), score(r.finetuned), cls, signed_percent(r.improvement),
        percent(r.baseline_share), percent(r.finetuned_share));
  }
  body += "</tbody>\n</table>\n";
  body += note(fmt::format(
      "Improvement: (fine-tuned − baseline) / baseline. \"Kept\": share of the model's own "
      "full-size ({}) score at that dimension.",
      c->rows.front().dim));
  if (!c->only_in_baseline.empty()) {
    body += note(fmt::format("Only in the baseline (not compared): {}",
                             fmt::join(c->only_in_baseline, ", ")));
  }
  if (!c->only_in_finetuned.empty()) {
    body += note(fmt::format("Only in the fine-tuned results (not compared): {}",
                             fmt::join(c->only_in_finetuned, ", ")));
  }
  return section("comparison", "Baseline vs fine-tuned", body);
}

std::string metrics_chart_section(const ReportInputs& in, const evaluation::Comparison* c) {
  if (c == nullptr) return "";
  std::vector<int64_t> dims;
  for (const auto& r : c->rows) dims.push_back(r.dim);
  std::sort(dims.begin(), dims.end());
  LineChart chart;
  chart.title = "Retrieval quality against embedding dimension";
  chart.x_label = "Embedding dimension (log2 scale)";
  chart.y_label = "Score";
  chart.x_scale = AxisScale::kLog2;
  chart.width = kFullWidth;
  chart.height = 420;
  for (int64_t d : dims) chart.x_ticks.push_back(static_cast<double>(d));
  const std::pair<const char*, const char*> metrics[] = {
      {"ndcg@10", "NDCG@10"}, {"mrr@10", "MRR@10"}, {"recall@10", "Recall@10"}};
  for (size_t m = 0; m < 3; ++m) {
    for (const bool tuned : {false, true}) {
      Series s;
      s.name = fmt::format("{} {}", metrics[m].second, tuned ? "fine-tuned" : "baseline");
      s.colour = kPalette[m];
      s.dashed = !tuned;
      for (int64_t d : dims) {
        const auto v = metric_at(tuned ? in.finetuned : in.baseline, d, metrics[m].first);
        if (v) s.points.emplace_back(static_cast<double>(d), *v);
      }
      if (!s.points.empty()) chart.series.push_back(std::move(s));
    }
  }
  return section("quality-by-dimension", "Quality by dimension",
                 figure(render_svg(chart)) +
                     note("Dashed lines and hollow dots: baseline; solid: fine-tuned."));
}

std::string training_section(const ReportInputs& in, const TrainingLog& log) {
  if (log.loss.empty() && log.evals.empty()) {
    return section(
        "training", "Training",
        note("No training log: log_history is empty, so there are no loss, learning-rate or "
             "evaluation charts."));
  }
  std::string body;
  if (!log.loss.empty()) {
    LineChart loss;
    loss.title = "Training loss";
    loss.x_label = "Step";
    loss.y_label = "Loss";
    Series train{"training loss", {}, kPalette[0], false, log.loss.size() <= 60};
    for (const auto& p : log.loss) train.points.emplace_back(p.step, p.value);
    loss.series.push_back(std::move(train));
    if (!log.eval_loss.empty()) {
      Series eval{"eval loss", {}, kPalette[1], true, true};
      for (const auto& p : log.eval_loss) eval.points.emplace_back(p.step, p.value);
      loss.series.push_back(std::move(eval));
    }
    loss.width = kHalfWidth;
    const std::string loss_svg = render_svg(loss);
    LineChart lr;
    lr.title = "Learning rate";
    lr.x_label = "Step";
    lr.y_label = "Learning rate";
    Series rate{"learning rate", {}, kPalette[2], false, log.learning_rate.size() <= 60};
    for (const auto& p : log.learning_rate) rate.points.emplace_back(p.step, p.value);
    lr.series.push_back(std::move(rate));
    lr.width = kHalfWidth;
    body += "<div class=\"chart-row\">\n" + figure(loss_svg) + figure(render_svg(lr)) + "</div>\n";
  } else {
    body += note("No training-loss rows in log_history (only evaluations).");
  }
  if (log.evals.empty()) {
    body += note(
        "No evaluation during training (log_history has no eval_dim_<d>_cosine_ndcg@10 rows).");
    return section("training", "Training", body);
  }
  if (log.evals.size() >= 2 && !log.eval_dims.empty()) {
    LineChart during;
    during.title = "NDCG@10 during training";
    during.x_label = "Step";
    during.y_label = "NDCG@10";
    during.width = kFullWidth;
    size_t colour = 0;
    for (int64_t d : log.eval_dims) {
      Series s{fmt::format("dim {}", d), {}, kPalette[colour++ % kPaletteSize], false, true};
      for (const auto& row : log.evals) {
        const auto it = row.ndcg.find(d);
        if (it != row.ndcg.end()) s.points.emplace_back(static_cast<double>(row.step), it->second);
      }
      during.series.push_back(std::move(s));
    }
    body += figure(render_svg(during));
  }
  const bool any_eval_loss = !log.eval_loss.empty();
  body +=
      "<table id=\"evaluations\">\n<caption>Evaluations during training (cosine NDCG@10 per "
      "dimension)"
      "</caption>\n<thead><tr><th>Epoch</th><th>Step</th>";
  for (int64_t d : log.eval_dims) body += fmt::format("<th>dim {}</th>", d);
  if (any_eval_loss) body += "<th>Eval loss</th>";
  body += "</tr></thead>\n<tbody>\n";
  bool best_found = false;
  for (const auto& row : log.evals) {
    const bool best = in.best_step >= 0 && row.step == in.best_step;
    best_found |= best;
    body += fmt::format("<tr{}><td>{}</td><td>{}{}</td>", best ? " class=\"best\"" : "",
                        std::isfinite(row.epoch) ? epoch_text(row.epoch) : "-", row.step,
                        best ? " <span class=\"badge\">★ best</span>" : "");
    for (int64_t d : log.eval_dims) {
      const auto it = row.ndcg.find(d);
      body += fmt::format("<td>{}</td>", it == row.ndcg.end() ? "-" : score(it->second));
    }
    if (any_eval_loss)
      body += fmt::format("<td>{}</td>", std::isnan(row.eval_loss) ? "-" : score(row.eval_loss));
    body += "</tr>\n";
  }
  body += "</tbody>\n</table>\n";
  if (best_found) {
    body += note(
        fmt::format("★ marks the best checkpoint (step {}), the model kept at the end of training.",
                    in.best_step));
  } else if (in.best_step >= 0) {
    body += note(fmt::format("The best checkpoint (step {}) has no evaluation row in the log.",
                             in.best_step));
  }
  return section("training", "Training", body);
}

std::string storage_section(const std::vector<int64_t>& dims_desc) {
  if (dims_desc.empty()) return "";
  constexpr double kMiB = 1024.0 * 1024.0;
  const int64_t full = dims_desc.front();
  std::string body =
      "<table id=\"storage\">\n<caption>Bytes per vector, and MiB per million vectors</caption>\n"
      "<thead><tr><th>Dimension</th><th>float32 bytes</th><th>int8 bytes</th><th>binary bytes</th>"
      "<th>float32 MiB / 1M</th><th>int8 MiB / 1M</th><th>binary MiB / 1M</th><th>Reduction vs "
      "full float32</th>"
      "</tr></thead>\n<tbody>\n";
  for (int64_t d : dims_desc) {
    const int64_t f32 = 4 * d, i8 = d, bin = (d + 7) / 8;
    body += fmt::format(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.1f}</td><td>{:.1f}</td><td>{:.1f}</"
        "td><td>{}x</td></tr>\n",
        d, f32, i8, bin, static_cast<double>(f32) * 1e6 / kMiB,
        static_cast<double>(i8) * 1e6 / kMiB, static_cast<double>(bin) * 1e6 / kMiB,
        trim_zeros(fmt::format("{:.2f}", static_cast<double>(full) / static_cast<double>(d))));
  }
  body += "</tbody>\n</table>\n";
  body += note(
      "float32: 4 bytes per value; int8: 1 byte per value (scalar quantisation); binary: 1 bit per "
      "value, rounded up to whole bytes. 1 MiB = 1,048,576 bytes. Reduction: float32 at the "
      "largest dimension divided by float32 at this one (int8 and binary shrink it a further 4x "
      "and 32x).");
  return section("storage", "Storage per vector", body);
}

void flatten(const nlohmann::json& value, const std::string& prefix,
             std::vector<std::pair<std::string, std::string>>& out) {
  if (value.is_object() && !value.empty()) {
    for (auto it = value.begin(); it != value.end(); ++it) {
      flatten(it.value(), prefix.empty() ? it.key() : prefix + "." + it.key(), out);
    }
    return;
  }
  out.emplace_back(prefix.empty() ? "value" : prefix,
                   value.is_string() ? value.get<std::string>() : value.dump());
}

std::string settings_section(const nlohmann::json& settings) {
  if (settings.is_null() || (settings.is_object() && settings.empty())) {
    return section("settings", "Settings", note("No settings were recorded."));
  }
  std::vector<std::pair<std::string, std::string>> rows;
  flatten(settings, "", rows);
  std::string body =
      "<table id=\"settings\" "
      "class=\"kv\">\n<thead><tr><th>Setting</th><th>Value</th></tr></thead>\n"
      "<tbody>\n";
  for (const auto& [k, v] : rows) {
    body += fmt::format("<tr><td><code>{}</code></td><td>{}</td></tr>\n", escape_html(k),
                        escape_html(v));
  }
  body += "</tbody>\n</table>\n";
  return section("settings", "Settings", body);
}

// The mine stage's score distribution, as `embedtune mine` prints it, and what it skipped.
std::string mining_section(const nlohmann::json& mining) {
  if (!mining.is_object()) return "";
  std::string body = fmt::format(
      "<p>{} training rows from {} anchors, with the negatives mined by the base model. A "
      "hard negative scores close to its anchor's positive: the difference column is "
      "positive − negative per pair.</p>\n",
      mining.value("rows", 0), mining.value("unique_anchors", 0));
  body +=
      "<table id=\"mining\">\n<thead><tr><th>Score</th><th>Positive</th><th>Negative</th>"
      "<th>Difference</th></tr></thead>\n<tbody>\n";
  const char* kinds[] = {"positive", "negative", "difference"};
  const auto cell = [&](const char* kind, const char* stat) -> std::string {
    if (!mining.contains(kind) || !mining[kind].contains(stat)) return "";
    const nlohmann::json& v = mining[kind][stat];
    if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
    if (v.is_number()) return fmt::format("{:.4f}", v.get<double>());
    return "–";
  };
  for (const char* stat : {"count", "mean", "median", "std", "min", "25%", "50%", "75%", "max"}) {
    body += fmt::format("<tr><td>{}</td>", stat);
    for (const char* kind : kinds)
      body += fmt::format("<td>{}</td>",
                          std::string(stat) == "count" && std::string(kind) == "difference"
                              ? ""
                              : cell(kind, stat));
    body += "</tr>\n";
  }
  body += "</tbody>\n</table>\n";
  if (mining.contains("skipped")) {
    for (const nlohmann::json& s : mining["skipped"]) {
      body += fmt::format("<p class=\"note\">Skipped {} candidates ({:.2f}%) by {} = {}.</p>\n",
                          s.value("skipped", 0), 100.0 * s.value("ratio", 0.0),
                          escape_html(s.value("parameter", "")), s.value("value", 0.0));
    }
  }
  if (mining.value("missing_samples", 0) > 0) {
    body += fmt::format(
        "<p class=\"note\">{} of {} rows could not get enough negatives and were left out.</p>\n",
        mining.value("missing_samples", 0), mining.value("maximum_samples", 0));
  }
  return section("mining", "Hard negatives", body);
}

std::string timings_section(const std::vector<std::pair<std::string, double>>& timings) {
  if (timings.empty()) return section("timings", "Timings", note("No timings were recorded."));
  double total = 0, longest = 0;
  for (const auto& [stage, seconds] : timings) {
    if (std::isfinite(seconds) && seconds > 0) {
      total += seconds;
      longest = std::max(longest, seconds);
    }
  }
  std::string body =
      "<table id=\"timings\">\n<thead><tr><th>Stage</th><th>Seconds</th><th>Time</th>"
      "<th class=\"barcol\">Share</th></tr></thead>\n<tbody>\n";
  for (const auto& [stage, seconds] : timings) {
    const double width =
        longest > 0 && std::isfinite(seconds) && seconds > 0 ? 100.0 * seconds / longest : 0.0;
    const double share = total > 0 && std::isfinite(seconds) && seconds > 0 ? seconds / total : 0.0;
    body += fmt::format(
        "<tr><td>{}</td><td>{:.1f}</td><td>{}</td><td class=\"barcol\"><div class=\"bar\" "
        "style=\"width:{:.1f}%\"></div><span>{}</span></td></tr>\n",
        escape_html(stage), seconds, duration_text(seconds), width, percent(share));
  }
  body +=
      fmt::format("<tr class=\"total\"><td>total</td><td>{:.1f}</td><td>{}</td><td></td></tr>\n",
                  total, duration_text(total));
  body += "</tbody>\n</table>\n";
  return section("timings", "Timings", body);
}

constexpr const char* kStyle =
    R"(body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;
color:#222;background:#f6f7f9;margin:0;line-height:1.45}
main{box-sizing:border-box;max-width:1120px;margin:0 auto;padding:24px 28px 48px;background:#fff}
h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;margin:32px 0 12px;border-bottom:1px solid #ddd;padding-bottom:4px}
.subtitle{color:#666;margin:0 0 16px}
.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{border:1px solid #dde;border-radius:6px;padding:10px 14px;min-width:200px;background:#fafbff}
.card .label{font-size:13px;color:#555}.card .value{font-size:18px;font-weight:600;font-variant-numeric:tabular-nums}
table{border-collapse:collapse;margin:8px 0;font-size:14px;font-variant-numeric:tabular-nums}
caption{text-align:left;font-weight:600;padding:4px 0;color:#444}
th,td{border:1px solid #d7d7d7;padding:4px 10px;text-align:right}
th{background:#f0f2f5}td:first-child,th:first-child{text-align:left}
table.kv td,table.kv th{text-align:left}code{font-size:13px}
td.up{color:#1a7f37}td.down{color:#c62828}
tr.best td{background:#fff6d6;font-weight:600}.badge{color:#9a6700;font-size:12px}
tr.total td{font-weight:600}
td.barcol,th.barcol{min-width:220px;text-align:left}.bar{display:inline-block;height:12px;background:#0072B2;
vertical-align:middle;margin-right:6px;max-width:160px}
.barcol span{font-size:12px;color:#555}
figure.chart{margin:12px 0}.chart-row{display:flex;flex-wrap:wrap;gap:16px}
.chart-row figure.chart{margin:12px 0 0}figure.chart svg{max-width:100%;height:auto;border:1px solid #e5e5e5}
.note{color:#555;font-size:13px}
footer{margin-top:40px;color:#888;font-size:12px})";

}  // namespace

// Quality at every storage size: NDCG@10 against bytes per vector for each (dimension,
// precision) the results hold, one line per precision and model, the same points as a table, and
// the smallest setting keeping 99% and 95% of each model's full-size float32 score.
std::string frontier_section(const ReportInputs& in) {
  evaluation::Frontier f;
  try {
    f = evaluation::compute_frontier(in.baseline, in.finetuned, "baseline results",
                                     "fine-tuned results");
  } catch (const Error&) {
    return "";  // the comparison section already says what is missing
  }
  if (!f.quantized) {
    return section("frontier", "Quality against storage",
                   note("Only float32 results: evaluate with evaluation.precisions (e.g. "
                        "[float32, int8, binary, binary+rescore]) to see int8 and binary quality "
                        "at every dimension."));
  }
  LineChart chart;
  chart.title = "NDCG@10 against bytes per vector";
  chart.x_label = "Bytes per stored vector (log2 scale)";
  chart.y_label = "NDCG@10";
  chart.x_scale = AxisScale::kLog2;
  chart.width = kFullWidth;
  chart.height = 460;
  const auto& precisions = evaluation::known_precisions();
  for (size_t i = 0; i < precisions.size(); ++i) {
    for (const bool tuned : {false, true}) {
      Series s;
      s.name = fmt::format("{} {}", precisions[i], tuned ? "fine-tuned" : "baseline");
      s.colour = kPalette[i % kPaletteSize];
      s.dashed = !tuned;
      std::vector<std::pair<double, double>> points;
      for (const auto& p : f.points) {
        const double v = tuned ? p.finetuned : p.baseline;
        if (p.precision == precisions[i] && !std::isnan(v))
          points.emplace_back(static_cast<double>(p.bytes), v);
      }
      std::sort(points.begin(), points.end());
      s.points = std::move(points);
      if (!s.points.empty()) chart.series.push_back(std::move(s));
    }
  }
  std::string body = figure(render_svg(chart));
  body += note(
      "One line per precision across the dimensions; dashed: baseline, solid: fine-tuned. Bytes: "
      "float32 4 per value, int8 1, binary 1 bit (whole bytes); +rescore stores what its "
      "precision stores and re-ranks its candidates with the float32 query.");
  body +=
      "<table id=\"frontier\">\n<caption>NDCG@10 at every stored size</caption>\n<thead><tr>"
      "<th>Dimension</th><th>Precision</th><th>Bytes</th><th>Baseline</th><th>Fine-tuned</th>"
      "<th>Baseline kept</th><th>Fine-tuned kept</th></tr></thead>\n<tbody>\n";
  for (const auto& p : f.points) {
    body += fmt::format(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
        p.dim, escape_html(p.precision), p.bytes, score(p.baseline), score(p.finetuned),
        percent(p.baseline_share), percent(p.finetuned_share));
  }
  body += "</tbody>\n</table>\n<ul id=\"smallest\">\n";
  for (double share : {0.99, 0.95}) {
    for (bool tuned : {false, true}) {
      const evaluation::FrontierPoint* p = evaluation::smallest_keeping(f, share, tuned);
      body += fmt::format(
          "<li>Smallest setting keeping {:.0f}% of the {} model's {}-d float32 NDCG@10: {}</li>\n",
          100.0 * share, tuned ? "fine-tuned" : "baseline", f.full_dim,
          p == nullptr ? std::string("none")
                       : fmt::format("<strong>{} dims, {}</strong> ({} bytes, {})", p->dim,
                                     escape_html(p->precision), p->bytes,
                                     score(tuned ? p->finetuned : p->baseline)));
    }
  }
  body += "</ul>\n";
  return section("frontier", "Quality against storage", body);
}

std::string render_report_html(const ReportInputs& in) {
  std::optional<evaluation::Comparison> comparison;
  std::string comparison_error;
  try {
    comparison = evaluation::compare_results(in.baseline, in.finetuned, "baseline results",
                                             "fine-tuned results");
  } catch (const Error& e) {
    comparison_error = e.what();
  }
  const evaluation::Comparison* c = comparison ? &*comparison : nullptr;
  const TrainingLog log = parse_log(in.log_history);

  std::vector<int64_t> dims_desc;
  if (c != nullptr) {
    for (const auto& r : c->rows) dims_desc.push_back(r.dim);
  } else {
    dims_desc.assign(log.eval_dims.begin(), log.eval_dims.end());
  }

  const std::string title = in.title.empty() ? "embedtune run" : in.title;
  std::string html = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  html += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
  html += fmt::format("<title>{} — embedtune report</title>\n", escape_html(title));
  html += fmt::format("<style>\n{}\n</style>\n</head>\n<body>\n<main>\n", kStyle);
  html += fmt::format("<h1>{}</h1>\n", escape_html(title));
  html +=
      "<p class=\"subtitle\">Matryoshka fine-tuning run: baseline evaluation, fine-tuning, "
      "evaluation of the "
      "fine-tuned model, comparison.</p>\n";
  html += summary_section(in, c, log);
  html += comparison_section(c, comparison_error);
  html += metrics_chart_section(in, c);
  html += training_section(in, log);
  html += storage_section(dims_desc);
  html += frontier_section(in);
  html += mining_section(in.mining);
  html += settings_section(in.settings);
  html += timings_section(in.timings);
  html +=
      "<footer>Generated by embedtune. Self-contained: no scripts, no network "
      "resources.</footer>\n";
  html += "</main>\n</body>\n</html>\n";
  return html;
}

void write_report(const std::filesystem::path& path, const ReportInputs& inputs) {
  io::write_file_atomic(path, render_report_html(inputs));
}

}  // namespace embedtune::pipeline
