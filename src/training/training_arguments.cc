// TrainingArguments: conversion, YAML, command line, printing and validation, all driven by
// TrainingArguments::for_each.
#include "training/training_arguments.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>
#include <sstream>
#include <type_traits>

#include "evaluation/information_retrieval_evaluator.h"
#include "io/error.h"

namespace embedtune::training {
namespace {

// A value as found in YAML or on the command line, before it is given a type.
struct RawValue {
  bool is_null = false;
  bool is_list = false;
  std::string scalar;              // when !is_list
  std::vector<std::string> items;  // when is_list
};

template <class T>
struct IsOptional : std::false_type {};
template <class T>
struct IsOptional<std::optional<T>> : std::true_type {};

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string trim(std::string_view text) {
  size_t b = 0, e = text.size();
  while (b < e && std::isspace(static_cast<unsigned char>(text[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(text[e - 1]))) --e;
  return std::string(text.substr(b, e - b));
}

std::optional<int64_t> parse_int(std::string_view text) {
  int64_t value = 0;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  if (begin != end && *begin == '+') ++begin;
  auto [ptr, ec] = std::from_chars(begin, end, value);
  if (ec != std::errc() || ptr != end || begin == end) return std::nullopt;
  return value;
}

std::optional<double> parse_double(std::string_view text) {
  const std::string s(text);
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  const double value = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(value)) return std::nullopt;
  return value;
}

std::optional<bool> parse_bool(std::string_view text) {
  const std::string s = lower(text);
  if (s == "true" || s == "yes" || s == "on" || s == "1") return true;
  if (s == "false" || s == "no" || s == "off" || s == "0") return false;
  return std::nullopt;
}

std::string type_name(const std::string&) { return "a string"; }
std::string type_name(const int64_t&) { return "an integer"; }
std::string type_name(const double&) { return "a number"; }
std::string type_name(const bool&) { return "true or false"; }
std::string type_name(const std::optional<bool>&) { return "true, false or null"; }
std::string type_name(const std::vector<int64_t>&) { return "a list of integers"; }
std::string type_name(const std::vector<double>&) { return "a list of numbers"; }

std::string describe(const RawValue& raw) {
  if (raw.is_null) return "null";
  if (!raw.is_list) return fmt::format("'{}'", raw.scalar);
  return fmt::format("[{}]", fmt::join(raw.items, ", "));
}

[[noreturn]] void bad_value(std::string_view where, std::string_view key,
                            const std::string& expected, const RawValue& raw) {
  fail("{}: {}: expected {}, found {}; fix the value", where, key, expected, describe(raw));
}

// Converts `raw` into `field`; throws Error naming `where` and `key` on a type mismatch.
template <class T>
void assign(T& field, const RawValue& raw, std::string_view where, std::string_view key) {
  if constexpr (std::is_same_v<T, std::string>) {
    if (raw.is_list) bad_value(where, key, type_name(field), raw);
    field = raw.is_null ? std::string() : raw.scalar;
  } else if constexpr (std::is_same_v<T, std::optional<bool>>) {
    if (raw.is_list) bad_value(where, key, type_name(field), raw);
    if (raw.is_null || lower(raw.scalar) == "null" || lower(raw.scalar) == "auto") {
      field.reset();
      return;
    }
    const auto value = parse_bool(raw.scalar);
    if (!value) bad_value(where, key, type_name(field), raw);
    field = *value;
  } else if constexpr (std::is_same_v<T, std::vector<int64_t>> ||
                       std::is_same_v<T, std::vector<double>> ||
                       std::is_same_v<T, std::vector<std::string>>) {
    std::vector<std::string> items = raw.items;
    if (!raw.is_list && !raw.is_null) {
      // "768,512,256" or "[768, 512]" on a command line.
      std::string text = trim(raw.scalar);
      if (text.size() >= 2 && text.front() == '[' && text.back() == ']')
        text = text.substr(1, text.size() - 2);
      std::stringstream stream(text);
      std::string item;
      while (std::getline(stream, item, ',')) {
        if (!trim(item).empty()) items.push_back(trim(item));
      }
    }
    T values;
    for (const std::string& item : items) {
      if constexpr (std::is_same_v<T, std::vector<std::string>>) {
        values.push_back(item);
      } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
        const auto value = parse_int(item);
        if (!value) bad_value(where, key, type_name(field), raw);
        values.push_back(*value);
      } else {
        const auto value = parse_double(item);
        if (!value) bad_value(where, key, type_name(field), raw);
        values.push_back(*value);
      }
    }
    field = std::move(values);
  } else {
    if (raw.is_list || raw.is_null) bad_value(where, key, type_name(field), raw);
    std::optional<T> value;
    if constexpr (std::is_same_v<T, int64_t>) value = parse_int(trim(raw.scalar));
    if constexpr (std::is_same_v<T, double>) value = parse_double(trim(raw.scalar));
    if constexpr (std::is_same_v<T, bool>) value = parse_bool(trim(raw.scalar));
    if (!value) bad_value(where, key, type_name(field), raw);
    field = *value;
  }
}

std::string format_double(double value) {
  // Shortest text that reads back to the same double, in Python's style ("2e-05", "3.0").
  std::string text = fmt::format("{}", value);
  if (text.find_first_of(".eEn") == std::string::npos) text += ".0";
  return text;
}

template <class T>
std::string to_text(const T& value) {
  if constexpr (std::is_same_v<T, std::string>) {
    return value;
  } else if constexpr (std::is_same_v<T, std::optional<bool>>) {
    return value ? (*value ? "true" : "false") : "null";
  } else if constexpr (std::is_same_v<T, bool>) {
    return value ? "true" : "false";
  } else if constexpr (std::is_same_v<T, double>) {
    return format_double(value);
  } else if constexpr (std::is_same_v<T, int64_t>) {
    return std::to_string(value);
  } else if constexpr (std::is_same_v<T, std::vector<double>>) {
    std::vector<std::string> items;
    for (double v : value) items.push_back(format_double(v));
    return fmt::format("[{}]", fmt::join(items, ", "));
  } else {
    return fmt::format("[{}]", fmt::join(value, ", "));
  }
}

std::string normalize_key(std::string_view key) {
  std::string out(key);
  std::replace(out.begin(), out.end(), '-', '_');
  return out;
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// Sets the field named `key` from `raw`; throws Error naming the nearest key when none is.
void set_raw(TrainingArguments& args, const std::string& key, const RawValue& raw,
             std::string_view where) {
  bool found = false;
  TrainingArguments::for_each(args, [&](auto& field, const char* name, const auto&, const char*) {
    if (!found && key == name) {
      assign(field, raw, where, key);
      found = true;
    }
  });
  if (!found) {
    fail("{}: unknown key '{}'; did you mean '{}'? (`embedtune train --help` lists every key)",
         where, key, nearest_key(key, TrainingArguments::keys()));
  }
}

RawValue raw_from_yaml(const YAML::Node& node, std::string_view where, std::string_view key) {
  RawValue raw;
  if (node.IsNull()) {
    raw.is_null = true;
  } else if (node.IsScalar()) {
    raw.scalar = node.Scalar();
  } else if (node.IsSequence()) {
    raw.is_list = true;
    for (const YAML::Node& item : node) {
      if (!item.IsScalar())
        fail("{}: {}: expected a flat list, found a nested value; fix the value", where, key);
      raw.items.push_back(item.Scalar());
    }
  } else {
    fail("{}: {}: expected a value, found a mapping; fix the indentation", where, key);
  }
  return raw;
}

void require(bool ok, std::string_view key, std::string_view expected, const std::string& found,
             std::string_view fix = "fix the value") {
  if (!ok) fail("training arguments: {}: expected {}, found {}; {}", key, expected, found, fix);
}

void require_choice(const std::string& value, std::string_view key,
                    const std::vector<std::string>& choices) {
  if (std::find(choices.begin(), choices.end(), value) != choices.end()) return;
  fail("training arguments: {}: expected one of {}, found '{}'; did you mean '{}'?", key,
       fmt::join(choices, ", "), value, nearest_key(value, choices));
}

}  // namespace

std::string nearest_key(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = SIZE_MAX;
  for (const std::string& candidate : candidates) {
    const size_t d = edit_distance(word, candidate);
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  return best;
}

TrainingArguments::TrainingArguments() {
  for_each(*this, [](auto& field, const char*, const auto& default_value, const char*) {
    field = default_value;
  });
}

const std::vector<std::string>& TrainingArguments::keys() {
  static const std::vector<std::string> list = [] {
    std::vector<std::string> names;
    TrainingArguments args;
    for_each(args,
             [&](auto&, const char* name, const auto&, const char*) { names.emplace_back(name); });
    return names;
  }();
  return list;
}

void TrainingArguments::set(std::string_view key, std::string_view text, std::string_view origin) {
  RawValue raw;
  raw.scalar = std::string(text);
  set_raw(*this, normalize_key(key), raw, origin);
}

void TrainingArguments::load_yaml(const std::filesystem::path& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path.string());
  } catch (const YAML::BadFile&) {
    fail("{}: cannot read the file; check the path given to --config", path.string());
  } catch (const YAML::ParserException& e) {
    fail("{}:{}: invalid YAML: {}; fix the syntax", path.string(), e.mark.line + 1, e.msg);
  }
  if (root.IsNull()) return;  // an empty file sets nothing
  if (!root.IsMap()) {
    fail(
        "{}:{}: expected a mapping of training arguments (key: value lines), found a {}; see "
        "recipes/ for examples",
        path.string(), root.Mark().line + 1, root.IsSequence() ? "list" : "single value");
  }
  std::set<std::string> seen;
  for (const auto& entry : root) {
    const std::string where = fmt::format("{}:{}", path.string(), entry.first.Mark().line + 1);
    if (!entry.first.IsScalar())
      fail("{}: expected a key name, found a complex key; fix the key", where);
    const std::string key = normalize_key(entry.first.Scalar());
    if (!seen.insert(key).second) fail("{}: key '{}' is given twice; keep one", where, key);
    set_raw(*this, key, raw_from_yaml(entry.second, where, key), where);
  }
}

void TrainingArguments::apply_command_line(const std::vector<std::string>& tokens) {
  for (size_t i = 0; i < tokens.size(); ++i) {
    const std::string& token = tokens[i];
    if (token.size() < 3 || token.rfind("--", 0) != 0) {
      fail(
          "command line: expected an option --KEY VALUE, found '{}'; write every training "
          "argument as --key value",
          token);
    }
    std::string key = token.substr(2), value;
    const size_t eq = key.find('=');
    if (eq != std::string::npos) {
      value = key.substr(eq + 1);
      key = key.substr(0, eq);
    } else {
      const std::string name = normalize_key(key);
      bool is_bool = false;
      TrainingArguments probe;
      for_each(probe, [&](auto& field, const char* n, const auto&, const char*) {
        if (name == n) is_bool = std::is_same_v<std::decay_t<decltype(field)>, bool>;
      });
      const bool next_is_value = i + 1 < tokens.size() && tokens[i + 1].rfind("--", 0) != 0;
      if (is_bool && (!next_is_value || !parse_bool(tokens[i + 1]))) {
        value = "true";  // a bare --bf16
      } else if (next_is_value) {
        value = tokens[++i];
      } else {
        // Unknown keys are reported first: that is the likelier mistake.
        if (std::find(keys().begin(), keys().end(), name) == keys().end())
          set(key, "", "command line");
        fail("command line: --{}: expected a value after it, found {}; write --{} VALUE", key,
             i + 1 < tokens.size() ? "'" + tokens[i + 1] + "'" : std::string("the end of the line"),
             key);
      }
    }
    set(key, value, "command line");
  }
}

std::vector<std::string> TrainingArguments::eval_metric_keys() const {
  // The keys evaluate_matryoshka produces with the evaluator's defaults, as the trainer calls it.
  const evaluation::IrEvaluatorConfig config;
  std::vector<std::string> out;
  for (int64_t d : matryoshka_dims) {
    const std::string prefix = "eval_" + evaluation::matryoshka_name(config, d) + "_cosine_";
    for (int k : config.accuracy_at_k) out.push_back(fmt::format("{}accuracy@{}", prefix, k));
    for (int k : config.precision_recall_at_k)
      out.push_back(fmt::format("{}precision@{}", prefix, k));
    for (int k : config.precision_recall_at_k) out.push_back(fmt::format("{}recall@{}", prefix, k));
    for (int k : config.ndcg_at_k) out.push_back(fmt::format("{}ndcg@{}", prefix, k));
    for (int k : config.mrr_at_k) out.push_back(fmt::format("{}mrr@{}", prefix, k));
    for (int k : config.map_at_k) out.push_back(fmt::format("{}map@{}", prefix, k));
  }
  out.push_back("eval_sequential_score");
  return out;
}

void TrainingArguments::validate() {
  require(!model.empty(), "model", "a model folder", "nothing",
          "set model: in the recipe or --model");
  require(!train.empty(), "train", "a train.jsonl file", "nothing",
          "set train: (embedtune prepare writes it)");
  require(!output_dir.empty(), "output_dir", "a folder", "nothing",
          "set output_dir: or --output_dir");
  require(device == "cpu" || device == "cuda" || device.rfind("cuda:", 0) == 0, "device",
          "cpu, cuda or cuda:N", "'" + device + "'");
  require(max_seq_length >= 0, "max_seq_length", "0 (the model's own) or a positive length",
          to_text(max_seq_length));
  require(max_steps > 0 || num_train_epochs > 0, "num_train_epochs",
          "a number > 0 (or max_steps > 0)", to_text(num_train_epochs));
  require(max_steps == -1 || max_steps > 0, "max_steps",
          "-1 (use num_train_epochs) or a step count >= 1", to_text(max_steps));
  require(per_device_train_batch_size >= 1, "per_device_train_batch_size", "an integer >= 1",
          to_text(per_device_train_batch_size));
  require(per_device_eval_batch_size >= 1, "per_device_eval_batch_size", "an integer >= 1",
          to_text(per_device_eval_batch_size));
  require(gradient_accumulation_steps >= 1, "gradient_accumulation_steps", "an integer >= 1",
          to_text(gradient_accumulation_steps));
  require(learning_rate > 0, "learning_rate", "a number > 0", to_text(learning_rate));
  require(weight_decay >= 0, "weight_decay", "a number >= 0", to_text(weight_decay));
  require(adam_beta1 >= 0 && adam_beta1 < 1, "adam_beta1", "a number in [0, 1)",
          to_text(adam_beta1));
  require(adam_beta2 >= 0 && adam_beta2 < 1, "adam_beta2", "a number in [0, 1)",
          to_text(adam_beta2));
  require(adam_epsilon > 0, "adam_epsilon", "a number > 0", to_text(adam_epsilon));
  require(max_grad_norm >= 0, "max_grad_norm", "a number >= 0 (0: no clipping)",
          to_text(max_grad_norm));
  require_choice(lr_scheduler_type, "lr_scheduler_type",
                 {"linear", "cosine", "constant", "constant_with_warmup"});
  require(warmup_ratio >= 0 && warmup_ratio <= 1, "warmup_ratio", "a number in [0, 1]",
          to_text(warmup_ratio));
  require(warmup_steps >= 0, "warmup_steps", "an integer >= 0", to_text(warmup_steps));
  require_choice(optim, "optim", {"adamw_torch_fused", "adamw_torch"});
  require_choice(batch_sampler, "batch_sampler", {"batch_sampler", "no_duplicates"});
  require_choice(loss, "loss", {"MatryoshkaLoss", "MultipleNegativesRankingLoss"});
  {
    std::set<int64_t> unique(matryoshka_dims.begin(), matryoshka_dims.end());
    require(!matryoshka_dims.empty(), "matryoshka_dims", "at least one dimension", "an empty list");
    require(unique.size() == matryoshka_dims.size() && *unique.begin() >= 1, "matryoshka_dims",
            "distinct dimensions >= 1", to_text(matryoshka_dims));
  }
  require(matryoshka_weights.empty() || matryoshka_weights.size() == matryoshka_dims.size(),
          "matryoshka_weights",
          fmt::format("{} weights (one per dimension) or none", matryoshka_dims.size()),
          to_text(matryoshka_weights));
  require(
      n_dims_per_step == -1 ||
          (n_dims_per_step >= 1 && n_dims_per_step <= static_cast<int64_t>(matryoshka_dims.size())),
      "n_dims_per_step", fmt::format("-1 (all) or 1..{}", matryoshka_dims.size()),
      to_text(n_dims_per_step));
  require(scale > 0, "scale", "a number > 0", to_text(scale));
  require_choice(similarity_fct, "similarity_fct", {"cos_sim", "dot_score", "cosine", "dot"});
  if (!train_columns.empty()) {
    std::set<std::string> unique(train_columns.begin(), train_columns.end());
    require(train_columns.size() >= 2 && unique.size() == train_columns.size(), "train_columns",
            "at least two distinct field names (anchor first, then positive)",
            to_text(train_columns));
  }
  require_choice(eval_strategy, "eval_strategy", {"no", "steps", "epoch"});
  require_choice(save_strategy, "save_strategy", {"no", "steps", "epoch"});
  require(logging_steps >= 1, "logging_steps", "an integer >= 1", to_text(logging_steps));
  require(eval_steps >= 0, "eval_steps", "an integer >= 1 (0: logging_steps)", to_text(eval_steps));
  if (eval_steps == 0) eval_steps = logging_steps;  // as transformers fills eval_steps
  require(save_steps >= 1, "save_steps", "an integer >= 1", to_text(save_steps));
  require(save_total_limit >= 0, "save_total_limit", "an integer >= 0 (0: keep all)",
          to_text(save_total_limit));
  require(!eval_on_start || !eval.empty(), "eval", "a test.jsonl file when eval_on_start is true",
          "nothing", "set eval: or eval_on_start: false");
  require(eval_strategy == "no" || !eval.empty(), "eval",
          "a test.jsonl file when eval_strategy is not 'no'", "nothing",
          "set eval: or eval_strategy: no");
  require(seed >= 0, "seed", "an integer >= 0", to_text(seed));
  if (load_best_model_at_end) {
    require(eval_strategy != "no", "eval_strategy",
            "steps or epoch when load_best_model_at_end is true", "'no'");
    require(save_strategy == eval_strategy, "save_strategy",
            fmt::format("'{}' (the same as eval_strategy) when load_best_model_at_end is true",
                        eval_strategy),
            "'" + save_strategy + "'");
    require(save_strategy != "steps" || save_steps % eval_steps == 0, "save_steps",
            fmt::format("a multiple of eval_steps ({}) when load_best_model_at_end is true",
                        eval_steps),
            to_text(save_steps));
    require(!metric_for_best_model.empty(), "metric_for_best_model",
            "an evaluation key when load_best_model_at_end is true", "nothing",
            "set e.g. metric_for_best_model: eval_dim_128_cosine_ndcg@10");
  }
  if (!metric_for_best_model.empty()) {
    if (metric_for_best_model.rfind("eval_", 0) != 0)
      metric_for_best_model = "eval_" + metric_for_best_model;
    require(eval_strategy != "no", "eval_strategy",
            "steps or epoch when metric_for_best_model is set", "'no'");
    const std::vector<std::string> valid = eval_metric_keys();
    if (std::find(valid.begin(), valid.end(), metric_for_best_model) == valid.end()) {
      fail(
          "training arguments: metric_for_best_model: expected a key the evaluation logs (one per "
          "matryoshka_dims entry), found '{}'; did you mean '{}'?",
          metric_for_best_model, nearest_key(metric_for_best_model, valid));
    }
    if (!greater_is_better) greater_is_better = !metric_for_best_model.ends_with("loss");
  }
}

std::string TrainingArguments::to_yaml() const {
  YAML::Emitter out;
  out << YAML::BeginMap;
  for_each(*this, [&](const auto& field, const char* name, const auto&, const char*) {
    using T = std::decay_t<decltype(field)>;
    out << YAML::Key << name << YAML::Value;
    if constexpr (std::is_same_v<T, std::vector<int64_t>> ||
                  std::is_same_v<T, std::vector<double>> ||
                  std::is_same_v<T, std::vector<std::string>>) {
      out << YAML::Flow << YAML::BeginSeq;
      for (const auto& v : field) {
        if constexpr (std::is_same_v<T, std::vector<double>>) {
          out << format_double(v);
        } else {
          out << v;
        }
      }
      out << YAML::EndSeq;
    } else if constexpr (std::is_same_v<T, std::optional<bool>>) {
      if (field) {
        out << *field;
      } else {
        out << YAML::Null;
      }
    } else if constexpr (std::is_same_v<T, bool>) {
      out << field;
    } else if constexpr (std::is_same_v<T, std::string>) {
      out << YAML::DoubleQuoted << field;
    } else {
      out << to_text(field);
    }
  });
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

std::vector<std::pair<std::string, std::string>> TrainingArguments::all_values() const {
  std::vector<std::pair<std::string, std::string>> out;
  for_each(*this, [&](const auto& field, const char* name, const auto&, const char*) {
    out.emplace_back(name, to_text(field));
  });
  return out;
}

std::vector<std::pair<std::string, std::string>> TrainingArguments::non_defaults() const {
  std::vector<std::pair<std::string, std::string>> out;
  for_each(*this, [&](const auto& field, const char* name, const auto& default_value, const char*) {
    using T = std::decay_t<decltype(field)>;
    if (!(field == static_cast<T>(default_value))) out.emplace_back(name, to_text(field));
  });
  return out;
}

std::string TrainingArguments::help_text() {
  std::string out;
  TrainingArguments args;
  for_each(args,
           [&](const auto& field, const char* name, const auto& default_value, const char* help) {
             using T = std::decay_t<decltype(field)>;
             const std::string value = to_text(static_cast<T>(default_value));
             out += fmt::format("  --{:<30} {}", name, help);
             out += value.empty() ? "\n" : fmt::format(" (default: {})\n", value);
           });
  return out;
}

}  // namespace embedtune::training
