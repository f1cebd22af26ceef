// Results JSON, sentence-transformers' Information-Retrieval CSV files and the plain-text table.
#include "evaluation/results_io.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <iterator>
#include <regex>
#include <system_error>

#include "io/atomic_file.h"
#include "io/error.h"
#include "io/file.h"
#include "io/json.h"

namespace embedtune::evaluation {
namespace {

std::vector<std::string> sorted_score_functions(const IrEvaluatorConfig& config) {
  std::vector<std::string> names = config.score_functions;
  std::sort(names.begin(), names.end());
  return names;
}

const double* find(const MetricList& metrics, const std::string& key) {
  for (const auto& [k, v] : metrics) {
    if (k == key) return &v;
  }
  return nullptr;
}

}  // namespace

nlohmann::ordered_json results_to_json(const MetricList& metrics) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const auto& [key, value] : metrics) out[key] = value;
  return out;
}

void write_results_json(const std::filesystem::path& path, const MetricList& metrics) {
  // io::write_json_file_atomic takes nlohmann::json, which sorts keys; keep ST's order instead.
  io::write_file_atomic(path, results_to_json(metrics).dump(2) + "\n");
}

MetricList read_results_json(const std::filesystem::path& path) {
  const nlohmann::ordered_json json = io::read_ordered_json_file(path);
  if (!json.is_object()) {
    fail(
        "{}: expected a JSON object of metric -> number (as `embedtune evaluate` writes), found "
        "a JSON {}",
        path.string(), json.type_name());
  }
  MetricList out;
  for (const auto& [key, value] : json.items()) {
    if (!value.is_number()) {
      fail("{}: key \"{}\": expected a number, found a JSON {}; is this a results file?",
           path.string(), key, value.type_name());
    }
    out.emplace_back(key, value.get<double>());
  }
  return out;
}

std::string python_float_repr(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  // Shortest round-trip digits in scientific form, e.g. "1.2345e-05", then laid out as
  // Python's float_repr_style 'short' does: fixed for 1e-4 <= |x| < 1e16, else exponent form.
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof(buf), value, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  const size_t e = sci.find('e');
  std::string mantissa = sci.substr(0, e);
  const int exponent = std::stoi(sci.substr(e + 1));
  const bool negative = mantissa[0] == '-';
  if (negative) mantissa.erase(0, 1);
  std::string digits;
  for (char c : mantissa) {
    if (c != '.') digits += c;
  }
  std::string out;
  if (exponent >= -4 && exponent < 16) {
    const int point = exponent + 1;  // digits before the decimal point (<= 0: leading zeros)
    if (point <= 0) {
      out = "0." + std::string(-point, '0') + digits;
    } else if (point >= static_cast<int>(digits.size())) {
      out = digits + std::string(point - digits.size(), '0') + ".0";
    } else {
      out = digits.substr(0, point) + "." + digits.substr(point);
    }
  } else {
    out = digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    out += fmt::format("e{}{:02d}", exponent < 0 ? '-' : '+', std::abs(exponent));
  }
  return (negative ? "-" : "") + out;
}

std::string ir_csv_file_name(const std::string& name) {
  return "Information-Retrieval_evaluation" + (name.empty() ? "" : "_" + name) + "_results.csv";
}

std::vector<std::string> ir_csv_headers(const IrEvaluatorConfig& config) {
  std::vector<std::string> headers{"epoch", "steps"};
  for (const auto& s : sorted_score_functions(config)) {
    for (int k : config.accuracy_at_k) headers.push_back(fmt::format("{}-Accuracy@{}", s, k));
    for (int k : config.precision_recall_at_k) {
      headers.push_back(fmt::format("{}-Precision@{}", s, k));
      headers.push_back(fmt::format("{}-Recall@{}", s, k));
    }
    for (int k : config.mrr_at_k) headers.push_back(fmt::format("{}-MRR@{}", s, k));
    for (int k : config.ndcg_at_k) headers.push_back(fmt::format("{}-NDCG@{}", s, k));
    for (int k : config.map_at_k) headers.push_back(fmt::format("{}-MAP@{}", s, k));
  }
  return headers;
}

std::string ir_csv_row(const IrEvaluatorConfig& config, const MetricList& metrics, int64_t epoch,
                       int64_t steps) {
  const std::string prefix = config.name.empty() ? "" : config.name + "_";
  std::string row = fmt::format("{},{}", epoch, steps);
  auto add = [&](const std::string& score, const char* metric, int k) {
    const std::string key = fmt::format("{}{}_{}@{}", prefix, score, metric, k);
    const double* value = find(metrics, key);
    if (value == nullptr) {
      fail(
          "ir_csv_row: results lack \"{}\" (evaluator \"{}\"); evaluate with the same config "
          "that writes the CSV",
          key, config.name);
    }
    row += ',';
    row += python_float_repr(*value);
  };
  for (const auto& s : sorted_score_functions(config)) {
    for (int k : config.accuracy_at_k) add(s, "accuracy", k);
    for (int k : config.precision_recall_at_k) {
      add(s, "precision", k);
      add(s, "recall", k);
    }
    for (int k : config.mrr_at_k) add(s, "mrr", k);
    for (int k : config.ndcg_at_k) add(s, "ndcg", k);
    for (int k : config.map_at_k) add(s, "map", k);
  }
  return row;
}

void append_ir_csv(const std::filesystem::path& dir, const IrEvaluatorConfig& config,
                   const MetricList& metrics, int64_t epoch, int64_t steps) {
  const std::string row = ir_csv_row(config, metrics, epoch, steps) + "\n";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    fail("{}: cannot create the folder: {}; check the path and permissions", dir.string(),
         ec.message());
  const auto path = dir / ir_csv_file_name(config.name);
  std::string text;
  if (std::filesystem::exists(path)) {
    text = io::read_file(path);
    if (!text.empty() && text.back() != '\n') text.push_back('\n');
  } else {
    const auto headers = ir_csv_headers(config);
    text = fmt::format("{}\n", fmt::join(headers, ","));
  }
  text.append(row);
  io::write_file_atomic(path, text);
}

void append_matryoshka_csvs(const std::filesystem::path& dir, const std::vector<int64_t>& dims,
                            const IrEvaluatorConfig& base, const MetricList& metrics, int64_t epoch,
                            int64_t steps) {
  for (int64_t d : dims) {
    IrEvaluatorConfig config = base;
    config.name = matryoshka_name(base, d);
    append_ir_csv(dir, config, metrics, epoch, steps);
  }
}

std::vector<int64_t> dims_in_results(const MetricList& metrics) {
  static const std::regex key(R"(^(?:eval_)?dim_(\d{1,9})_cosine_ndcg@10$)");
  std::vector<int64_t> dims;
  for (const auto& [k, v] : metrics) {
    std::smatch m;
    if (std::regex_match(k, m, key)) {
      const int64_t d = std::stoll(m[1].str());
      if (std::find(dims.begin(), dims.end(), d) == dims.end()) dims.push_back(d);
    }
  }
  return dims;
}

std::string matryoshka_table(const MetricList& metrics) {
  static const std::vector<std::pair<const char*, const char*>> columns = {
      {"ndcg@10", "cosine_ndcg@10"},
      {"mrr@10", "cosine_mrr@10"},
      {"map@100", "cosine_map@100"},
      {"recall@10", "cosine_recall@10"},
      {"accuracy@1", "cosine_accuracy@1"}};
  std::string out = fmt::format("{:>9}", "dimension");
  for (const auto& [title, key] : columns) out += fmt::format("  {:>10}", title);
  out += "\n";
  for (int64_t d : dims_in_results(metrics)) {
    out += fmt::format("{:>9}", d);
    for (const auto& [title, key] : columns) {
      const double* value = find(metrics, fmt::format("dim_{}_{}", d, key));
      if (value == nullptr) value = find(metrics, fmt::format("eval_dim_{}_{}", d, key));
      out += value == nullptr ? fmt::format("  {:>10}", "-") : fmt::format("  {:>10.4f}", *value);
    }
    out += "\n";
  }
  return out;
}

}  // namespace embedtune::evaluation
