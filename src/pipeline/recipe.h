// Recipe: everything one `embedtune run` needs, from one YAML file: the model, the data (a raw
// file with prepare's settings, or prepared splits), the Matryoshka dims, the evaluation's
// settings and the training arguments. Every key can be overridden with
// `--set section.key=value`. Reading, `--set`, printing and writing all walk one list of keys
// (for_each), whose sections are the lists `prepare`, `evaluate` and `train` use themselves.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "data/prepare.h"
#include "evaluation/evaluation_settings.h"
#include "mining/mine_settings.h"
#include "training/training_arguments.h"

namespace embedtune::pipeline {

struct Recipe {
  std::string name;
  std::string model;          // folder or Hugging Face id (resolved from the local cache)
  std::string output;         // the run folder
  std::vector<int64_t> dims;  // Matryoshka dims: evaluated and trained (largest first)
  // data: either data.input (prepared here with these settings) or data.train + data.test.
  data::PrepareSettings data;
  std::string data_train, data_test;
  evaluation::EvaluationSettings evaluation;
  // training: output_dir, model, train, eval, matryoshka_dims, the evaluation batch size and
  // prompts are filled by validate() from the keys above (derived_training_keys()).
  training::TrainingArguments training;
  // mine: hard negatives between prepare and train. Null: on exactly when the recipe sets another
  // mine.* key (validate() resolves it, so a written recipe says which).
  std::optional<bool> mine_enabled;
  mining::MineSettings mine;
  bool mine_section_given = false;  // a mine.* key other than mine.enabled was set (not a key)

  Recipe();  // every key at its default

  // The one list of keys, dotted ("data.test_size", "training.learning_rate"), in file order.
  // visit(field, name, default, help) as in io/settings.h.
  template <class Self, class Visitor>
  static void for_each(Self& self, Visitor&& visit) {
    visit(self.name, "name", std::string("run"), "Name shown in the report");
    visit(self.model, "model", std::string(),
          "Model folder or Hugging Face id (read from the local cache)");
    visit(self.output, "output", std::string(), "The run folder");
    visit(self.dims, "dims", std::vector<int64_t>{},
          "Matryoshka dimensions, evaluated and trained (empty: the model's dimension and its "
          "halvings down to 64; 768, 512, 256, 128, 64 for a 768-d model)");
    data::PrepareSettings::for_each(self.data, prefixed(visit, "data."));
    visit(self.data_train, "data.train", std::string(),
          "Prepared train.jsonl (instead of data.input)");
    visit(self.data_test, "data.test", std::string(),
          "Prepared test.jsonl (instead of data.input)");
    evaluation::EvaluationSettings::for_each(self.evaluation, prefixed(visit, "evaluation."));
    visit(self.mine_enabled, "mine.enabled", std::optional<bool>(),
          "Mine hard negatives for train.jsonl before training (null: when other mine keys are "
          "set)");
    mining::MineSettings::for_each(
        self.mine, [&visit](auto& field, std::string_view key, const auto& default_value,
                            std::string_view help) {
          // The run mines prepare's anchor/positive pairs for training: it names the columns and
          // keeps the positives out of the candidates itself.
          if (key != "anchor_column_name" && key != "positive_column_name" &&
              key != "include_positives")
            visit(field, std::string("mine.") + std::string(key), default_value, help);
        });
    training::TrainingArguments::for_each(
        self.training, [&visit](auto& field, std::string_view key, const auto& default_value,
                                std::string_view help) {
          if (!is_derived_training_key(key)) {
            visit(field, std::string("training.") + std::string(key), default_value, help);
          }
        });
  }

  // Reads `path`; relative paths in it are taken relative to the current folder. Throws Error
  // "FILE:LINE: ..." for malformed YAML, an unknown key (naming the nearest valid one), a key
  // the run fills itself, or a value of the wrong type.
  static Recipe load(const std::filesystem::path& path);
  // Applies "key=value" with a dotted key (model, output, data.test_size, dims,
  // training.learning_rate, ...). Throws Error naming the key (and the nearest valid one).
  void set(std::string_view assignment, std::string_view origin = "--set");
  // Checks everything that can be checked without work: model found and its dimension covers
  // the dims, data files exist, values in range, training arguments valid; then fills the
  // derived training keys. Throws Error with one line naming the key or file and the fix.
  void validate();
  // The recipe as YAML, every key (what load() reads back to the same recipe).
  std::string to_yaml() const;
  // Every setting as a flat JSON object of dotted key -> value text, for the report.
  nlohmann::json settings_json() const;
  // All keys `set` accepts, dotted, for help and nearest-key messages.
  static const std::vector<std::string>& keys();

  // Training keys a recipe does not set: the run fills them from its other keys.
  static bool is_derived_training_key(std::string_view key);

 private:
  template <class Visitor>
  static auto prefixed(Visitor& visit, std::string_view prefix) {
    return [&visit, prefix](auto& field, std::string_view key, const auto& default_value,
                            std::string_view help) {
      visit(field, std::string(prefix) + std::string(key), default_value, help);
    };
  }
};

}  // namespace embedtune::pipeline
