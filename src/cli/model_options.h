// The flags every model-using command shares (--model, --device, --max-seq-length), and
// progress printing for long work.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

#include "io/progress.h"
#include "model/sentence_transformer.h"

namespace embedtune::cli {

struct ModelOptions {
  std::string model;
  std::string device = "cpu";
  int64_t max_seq_length = 0;  // 0: the model's own

  void add_to(CLI::App& command, bool with_device = true);
  // Loads the model; throws embedtune::Error for a bad --device or --max-seq-length.
  SentenceTransformer load() const;
};

// --task: encode as sentence-transformers' encode ("" / unset), encode_query ("query") or
// encode_document ("document"). add_task_option adds the flag, limited to those names.
void add_task_option(CLI::App& command, std::string& task, const std::string& help);
EncodeTask encode_task(const std::string& task);

}  // namespace embedtune::cli
