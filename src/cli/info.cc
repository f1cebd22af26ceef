// `embedtune info`: what a model is (architecture, dimension, pooling, lengths, prompts,
// tokenizer pipeline, size).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/command.h"
#include "cli/model_options.h"
#include "tokenizer/chat_template.h"

namespace embedtune::cli {
namespace {

void run_info(const ModelOptions& options) {
  SentenceTransformer st = options.load();
  fmt::print("model:            {}\n", st.source_dir().string());
  fmt::print("architecture:     {} ({})\n", st.encoder().architecture(), st.encoder().summary());
  fmt::print("dimension:        {}\n", st.dimension());
  fmt::print("pooling:          {}\n", fmt::join(st.pooling().modes, "+"));
  fmt::print("normalize:        {}\n", st.normalizes() ? "yes" : "no");
  fmt::print("max_seq_length:   {}\n", st.max_seq_length());
  fmt::print("vocabulary:       {} tokens (lowercase: {})\n", st.tokenizer().vocab_size(),
             st.tokenizer().lowercase() ? "yes" : "no");
  // Names only: a prompt's text can be long (Qwen3-Embedding's instructions).
  const auto& default_prompt = st.prompts().default_prompt_name();
  fmt::print("prompts:          {} (default_prompt_name: {})\n",
             fmt::join(st.prompts().names(), ", "), default_prompt ? *default_prompt : "none");
  if (const ChatTemplate* chat = st.chat_template()) {
    fmt::print(
        "chat template:    {} (content {}; each text a user message, a prompt a system one)\n",
        chat->origin(),
        chat->format() == ChatTemplate::MessageFormat::kFlat ? "as a string" : "as text parts");
  } else {
    fmt::print("chat template:    none (texts are tokenized as they are)\n");
  }
  fmt::print("tokenizer:\n");
  for (const std::string& line : st.tokenizer().describe()) fmt::print("  {}\n", line);
  fmt::print("parameters:       {} ({:.1f} M)\n", st.parameter_count(), st.parameter_count() / 1e6);
}

const Register kRegister("info", [](CLI::App& app) {
  auto options = std::make_shared<ModelOptions>();
  CLI::App* cmd = app.add_subcommand("info", "Describe a model: architecture, dimension, pooling");
  options->add_to(*cmd, /*with_device=*/false);
  cmd->callback([options] { run_info(*options); });
});

}  // namespace
}  // namespace embedtune::cli
