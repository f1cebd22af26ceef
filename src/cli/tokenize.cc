// `embedtune tokenize`: texts -> token ids as the model applies them, as JSON Lines.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/model_options.h"
#include "data/text_input.h"
#include "io/atomic_file.h"
#include "io/plural.h"

namespace embedtune::cli {
namespace {

struct TokenizeArgs {
  ModelOptions model;
  std::string input, field = "text", output, prompt, task;
};

void run_tokenize(const TokenizeArgs& args) {
  io::check_output_file(args.output, "--output");
  io::check_output_extension(args.output, "--output", ".jsonl",
                             "one JSON line {\"input_ids\": [...]} per text");
  SentenceTransformer st = args.model.load();
  const auto texts = data::read_texts(args.input, args.field);
  io::AtomicWriter writer(args.output);
  for (const auto& ids : st.tokenize_all(texts, args.prompt, encode_task(args.task))) {
    writer.stream() << nlohmann::json{{"input_ids", ids}}.dump() << '\n';
  }
  writer.commit();
  fmt::print(stderr, "tokenize: {} -> {}\n", io::counted(texts.size(), "text"), args.output);
}

const Register kRegister("tokenize", [](CLI::App& app) {
  auto args = std::make_shared<TokenizeArgs>();
  CLI::App* cmd = app.add_subcommand(
      "tokenize", "Tokenize texts as the model does ([CLS] ... [SEP], cut at max_seq_length)");
  args->model.add_to(*cmd, /*with_device=*/false);
  cmd->add_option("--input", args->input,
                  "Texts: .txt (one per line) or .jsonl/.json/.csv/.parquet records")
      ->required();
  cmd->add_option("--field", args->field, "Record field holding the text")->capture_default_str();
  cmd->add_option("--output", args->output, "Output .jsonl: {\"input_ids\": [...]} per text")
      ->required();
  cmd->add_option("--prompt", args->prompt, "Text prepended to every input");
  add_task_option(*cmd, args->task,
                  "query or document: the task a chat template that reads the variable task "
                  "gets, as encode_query and encode_document pass it (unset: none)");
  cmd->callback([args] { run_tokenize(*args); });
});

}  // namespace
}  // namespace embedtune::cli
