// Recipe: everything one `embedtune run` needs, from one YAML file: the model, the data (a raw
// file with its column mapping, or prepared splits), the Matryoshka dims, evaluation settings and
// the training arguments. Every key can be overridden with `--set section.key=value`.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "training/training_arguments.h"

namespace embedtune::pipeline {

struct Recipe {
  std::string name = "run";
  std::string model;             // folder or Hugging Face id (resolved from the local cache)
  std::filesystem::path output;  // the run folder
  // data: either `input` (prepared here) or `train` + `test` (prepare's splits)
  std::filesystem::path data_input, data_train, data_test;
  std::string data_format;  // jsonl | json | csv (empty: from the extension)
  std::string anchor_column = "question", positive_column = "context", negative_column;
  std::string test_size = "0.1";  // a fraction in (0, 1) or a row count
  int64_t data_seed = 42;
  bool skip_invalid = false;
  std::vector<int64_t> dims;  // Matryoshka dims: evaluated and trained (largest first)
  // evaluation
  int64_t eval_batch_size = 32;
  std::string query_prompt, corpus_prompt;
  // training (output_dir, model, train, eval and matryoshka_dims are filled by the workflow)
  training::TrainingArguments training;

  // Reads `path`; relative paths in it are taken relative to the current folder. Throws Error
  // "FILE:LINE: ..." for malformed YAML, an unknown key (naming the nearest valid one) or a
  // value of the wrong type.
  static Recipe load(const std::filesystem::path& path);
  // Applies "key=value" with a dotted key (model, output, data.test_size, dims,
  // training.learning_rate, ...). Throws Error naming the key (and the nearest valid one).
  void set(std::string_view assignment, std::string_view origin = "--set");
  // Checks everything that can be checked without work: model found and its dimension covers
  // the dims, data files exist, values in range, training arguments valid. Throws Error with one
  // line naming the key or file and the fix.
  void validate();
  // The recipe as YAML (what load() reads back), for the run folder.
  std::string to_yaml() const;
  // Every setting as a flat JSON object of dotted key -> value text (training: all of them), for
  // the report.
  nlohmann::json settings_json() const;
  // All keys `set` accepts, dotted, for help and nearest-key messages.
  static std::vector<std::string> keys();
};

}  // namespace embedtune::pipeline
