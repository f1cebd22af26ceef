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

#include "evaluation/ir_evaluator_config.h"
#include "hub/hub_settings.h"
#include "io/error.h"

namespace embedtune::training {
namespace {

using io::did_you_mean;

template <class T>
std::string to_text(const T& value) {
  return io::setting_text(value);
}

// Sets the field named `key` from `raw`; throws Error naming the nearest key when none is.
void set_raw(TrainingArguments& args, const std::string& key, const io::RawSetting& raw,
             std::string_view where) {
  if (!io::set_setting(args, key, raw, where)) {
    fail("{}: unknown key '{}'{} (`embedtune train --help` lists every key)", where, key,
         did_you_mean(key, TrainingArguments::keys()));
  }
}

void require(bool ok, std::string_view key, std::string_view expected, const std::string& found,
             std::string_view fix = "fix the value") {
  if (!ok) fail("training arguments: {}: expected {}, found {}; {}", key, expected, found, fix);
}

void require_choice(const std::string& value, std::string_view key,
                    const std::vector<std::string>& choices) {
  if (std::find(choices.begin(), choices.end(), value) != choices.end()) return;
  fail("training arguments: {}: expected one of {}, found '{}'{}", key, fmt::join(choices, ", "),
       value, did_you_mean(value, choices));
}

}  // namespace

TrainingArguments::TrainingArguments() { io::reset_settings(*this); }

const std::vector<std::string>& TrainingArguments::keys() {
  static const std::vector<std::string> list = io::setting_keys<TrainingArguments>();
  return list;
}

void TrainingArguments::set(std::string_view key, std::string_view text, std::string_view origin) {
  set_raw(*this, io::normalize_setting_key(key), io::raw_from_text(text), origin);
}

void TrainingArguments::load_yaml(const std::filesystem::path& path) {
  io::read_yaml_settings(path, keys(),
                         [&](const std::string& key, const io::RawSetting& raw,
                             const std::string& where) { set_raw(*this, key, raw, where); });
}

void TrainingArguments::apply_command_line(const std::vector<std::string>& tokens) {
  for (size_t i = 0; i < tokens.size(); ++i) {
    const std::string& token = tokens[i];
    if (token.size() < 3 || token.rfind("--", 0) != 0) {
      // "--matryoshka_dims 64 32": a second value after an option that takes one.
      if (i >= 2 && tokens[i - 2].rfind("--", 0) == 0 &&
          tokens[i - 2].find('=') == std::string::npos) {
        const std::string& flag = tokens[i - 2];
        const std::string name = io::normalize_setting_key(flag.substr(2));
        bool known = false, is_list = false;
        TrainingArguments probe;
        for_each(probe, [&](auto& field, const char* n, const auto&, const char*) {
          if (name != n) return;
          known = true;
          is_list = io::is_list_setting<std::decay_t<decltype(field)>>::value;
        });
        if (known)
          fail("command line: {}", io::one_value_message(flag, tokens[i - 1], token, is_list));
      }
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
      const std::string name = io::normalize_setting_key(key);
      bool is_bool = false;
      TrainingArguments probe;
      for_each(probe, [&](auto& field, const char* n, const auto&, const char*) {
        if (name == n) is_bool = std::is_same_v<std::decay_t<decltype(field)>, bool>;
      });
      const bool next_is_value = i + 1 < tokens.size() && tokens[i + 1].rfind("--", 0) != 0;
      bool next_is_bool = false;
      if (next_is_value) {
        bool probe_value = false;
        try {
          io::assign_setting(probe_value, io::raw_from_text(tokens[i + 1]), "", "");
          next_is_bool = true;
        } catch (const Error&) {
        }
      }
      if (is_bool && !next_is_bool) {
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
  return eval_metric_keys(evaluation::IrEvaluatorConfig());
}

std::vector<std::string> TrainingArguments::eval_metric_keys(
    const evaluation::IrEvaluatorConfig& config) const {
  // The keys evaluate_matryoshka produces, as the trainer calls it.
  std::vector<std::string> out;
  for (int64_t d : matryoshka_dims) {
    for (const std::string& score : config.score_functions) {
      const std::string prefix =
          "eval_" + evaluation::matryoshka_name(config, d) + "_" + score + "_";
      for (int k : config.accuracy_at_k) out.push_back(fmt::format("{}accuracy@{}", prefix, k));
      for (int k : config.precision_recall_at_k)
        out.push_back(fmt::format("{}precision@{}", prefix, k));
      for (int k : config.precision_recall_at_k)
        out.push_back(fmt::format("{}recall@{}", prefix, k));
      for (int k : config.ndcg_at_k) out.push_back(fmt::format("{}ndcg@{}", prefix, k));
      for (int k : config.mrr_at_k) out.push_back(fmt::format("{}mrr@{}", prefix, k));
      for (int k : config.map_at_k) out.push_back(fmt::format("{}map@{}", prefix, k));
    }
  }
  out.push_back("eval_sequential_score");
  return out;
}

void TrainingArguments::validate(bool need_paths) {
  require(!need_paths || !model.empty(), "model", "a model folder", "nothing",
          "set model: in the recipe or --model");
  require(!need_paths || !train.empty(), "train", "a train.jsonl file", "nothing",
          "set train: (embedtune prepare writes it)");
  require(!need_paths || !output_dir.empty(), "output_dir", "a folder", "nothing",
          "set output_dir: or --output_dir");
  require(query_prompt.empty() || query_prompt_name.empty(), "query_prompt_name",
          "the prompt text (query_prompt) or its name, not both", "both", "drop one of them");
  require(corpus_prompt.empty() || corpus_prompt_name.empty(), "corpus_prompt_name",
          "the prompt text (corpus_prompt) or its name, not both", "both", "drop one of them");
  require(device == "cpu" || device == "cuda" || device.rfind("cuda:", 0) == 0, "device",
          "cpu, cuda or cuda:N", "'" + device + "'",
          device == "gpu" ? "use cuda for the GPU" : "fix the value");
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
  require_choice(column_forwards, "column_forwards", {"auto", "separate", "together"});
  if (cuda_graphs) {
    // A graph replays one whole step with the same work: what changes its shape or its work
    // from step to step, or between passes of a step, is out.
    const std::string fix = "set it as asked, or cuda_graphs: false";
    require(gradient_accumulation_steps == 1, "gradient_accumulation_steps",
            "1 with cuda_graphs (a graph holds one whole step)",
            to_text(gradient_accumulation_steps), fix);
    require(column_forwards != "separate", "column_forwards",
            "auto or together with cuda_graphs (a graph holds one forward)", "separate", fix);
    const std::string& used = loss == "MatryoshkaLoss" ? inner_loss : loss;
    require(used == "MultipleNegativesRankingLoss",
            loss == "MatryoshkaLoss" ? "inner_loss" : "loss",
            "MultipleNegativesRankingLoss with cuda_graphs (the cached losses run several "
            "passes a step, GIST a second model)",
            used, fix);
    require(n_dims_per_step == -1, "n_dims_per_step",
            "-1 with cuda_graphs (a graph replays the same dims every step)",
            to_text(n_dims_per_step), fix);
  }
  require_choice(loss, "loss",
                 {"MatryoshkaLoss", "MultipleNegativesRankingLoss",
                  "CachedMultipleNegativesRankingLoss", "GISTEmbedLoss", "CachedGISTEmbedLoss"});
  require_choice(inner_loss, "inner_loss",
                 {"MultipleNegativesRankingLoss", "CachedMultipleNegativesRankingLoss",
                  "GISTEmbedLoss", "CachedGISTEmbedLoss"});
  {
    const std::string& used = loss == "MatryoshkaLoss" ? inner_loss : loss;
    const bool gist = used == "GISTEmbedLoss" || used == "CachedGISTEmbedLoss";
    require(!gist || !guide_model.empty(), "guide_model",
            fmt::format("a guide model folder for {}", used), "nothing",
            "set guide_model (the base model is a good guide)");
    require(temperature > 0, "temperature", "a number > 0", to_text(temperature));
    require_choice(margin_strategy, "margin_strategy", {"absolute", "relative"});
  }
  require(loss == "MatryoshkaLoss" || inner_loss == "MultipleNegativesRankingLoss", "inner_loss",
          "MultipleNegativesRankingLoss unless loss is MatryoshkaLoss (inner_loss is the loss "
          "inside it)",
          inner_loss,
          fmt::format("set loss: MatryoshkaLoss, or loss: {} to use it alone", inner_loss));
  if (push_to_hub) {
    if (!hub_model_id.empty()) hub::check_repo_id(hub_model_id, "hub_model_id");
    const hub::HubSettings hub_settings = hub::HubSettings::from_environment();
    require(!hub_settings.token.empty(), "push_to_hub", "a Hugging Face token to publish with",
            "none", hub_settings.token_hint());
    require(!hub_settings.offline, "push_to_hub", "the network", "HF_HUB_OFFLINE set",
            "unset HF_HUB_OFFLINE, or set push_to_hub: false");
  }
  require(ddp_timeout >= 1, "ddp_timeout", "seconds >= 1", to_text(ddp_timeout),
          "use 1800 (the default)");
  require(mini_batch_size >= 1, "mini_batch_size", "an integer >= 1", to_text(mini_batch_size),
          "use 32 (the default) or more; smaller uses less memory, larger is faster");
  // Empty matryoshka_dims are the model's (Trainer fills them in, then validates again); what
  // depends on them is checked then.
  const bool dims_known = !matryoshka_dims.empty();
  if (dims_known) {
    std::set<int64_t> unique(matryoshka_dims.begin(), matryoshka_dims.end());
    require(unique.size() == matryoshka_dims.size() && *unique.begin() >= 1, "matryoshka_dims",
            "distinct dimensions >= 1", to_text(matryoshka_dims));
    require(matryoshka_weights.empty() || matryoshka_weights.size() == matryoshka_dims.size(),
            "matryoshka_weights",
            fmt::format("{} weights (one per dimension) or none", matryoshka_dims.size()),
            to_text(matryoshka_weights));
    require(
        n_dims_per_step == -1 || (n_dims_per_step >= 1 &&
                                  n_dims_per_step <= static_cast<int64_t>(matryoshka_dims.size())),
        "n_dims_per_step", fmt::format("-1 (all) or 1..{}", matryoshka_dims.size()),
        to_text(n_dims_per_step));
  } else {
    require(n_dims_per_step == -1 || n_dims_per_step >= 1, "n_dims_per_step",
            "-1 (all) or a count >= 1", to_text(n_dims_per_step));
  }
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
    if (dims_known && std::find(valid.begin(), valid.end(), metric_for_best_model) == valid.end()) {
      fail(
          "training arguments: metric_for_best_model: expected a key the evaluation logs (one per "
          "matryoshka_dims entry), found '{}'{}",
          metric_for_best_model, did_you_mean(metric_for_best_model, valid));
    }
    if (!greater_is_better) greater_is_better = !metric_for_best_model.ends_with("loss");
  }
}

std::string TrainingArguments::to_yaml() const { return io::settings_to_yaml(*this); }

std::vector<std::pair<std::string, std::string>> TrainingArguments::all_values() const {
  return io::setting_values(*this);
}

std::vector<std::pair<std::string, std::string>> TrainingArguments::non_defaults() const {
  return io::setting_values(*this, /*only_changed=*/true);
}

std::string TrainingArguments::help_text() {
  std::string out;
  TrainingArguments args;
  for_each(args,
           [&](const auto& field, const char* name, const auto& default_value, const char* help) {
             using T = std::decay_t<decltype(field)>;
             const std::string value = io::setting_argument_text(static_cast<T>(default_value));
             out += fmt::format("  --{:<30} {}", name, help);
             // No default where there is none to show, or where the help already says it.
             const bool omit =
                 value.empty() || std::string_view(help).find("default:") != std::string_view::npos;
             out += omit ? "\n" : fmt::format(" (default: {})\n", value);
           });
  return out;
}

}  // namespace embedtune::training
