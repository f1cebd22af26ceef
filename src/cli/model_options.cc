// Shared model flags and progress printing for the commands.
#include "cli/model_options.h"

#include <chrono>
#include <cstdio>

#include "cli/command.h"
#include "cli/settings_options.h"
#include "io/error.h"

namespace embedtune::cli {

void ModelOptions::add_to(CLI::App& command, bool with_device) {
  command
      .add_option("--model", model,
                  "Model folder (sentence-transformers or Hugging Face layout) or a Hugging Face "
                  "id in the local cache")
      ->required();
  if (with_device) {
    command.add_option("--device", device, "cpu or cuda")
        ->check(CLI::IsMember({"cpu", "cuda"}))
        ->capture_default_str();
  }
  add_setting_option(command, "max_seq_length", max_seq_length,
                     "Cut texts at this many tokens (default: the model's max_seq_length)");
}

SentenceTransformer ModelOptions::load() const {
  const c10::Device target = device == "cuda" ? c10::Device(c10::kCUDA) : c10::Device(c10::kCPU);
  SentenceTransformer st = SentenceTransformer::load(model, c10::Device(c10::kCPU));
  if (max_seq_length != 0) st.set_max_seq_length(max_seq_length);
  if (target.is_cuda()) st.to(target);
  return st;
}

void add_task_option(CLI::App& command, std::string& task, const std::string& help) {
  command.add_option("--task", task, help)->check(CLI::IsMember({"query", "document"}));
}

EncodeTask encode_task(const std::string& task) {
  if (task == "query") return EncodeTask::kQuery;
  if (task == "document") return EncodeTask::kDocument;
  return EncodeTask::kEncode;
}

}  // namespace embedtune::cli
