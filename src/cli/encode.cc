// `embedtune encode`: texts from a file -> float32 embeddings in a .npy file.
#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <optional>

#include "cli/command.h"
#include "cli/model_options.h"
#include "cli/settings_options.h"
#include "data/text_input.h"
#include "io/atomic_file.h"
#include "io/error.h"
#include "io/file.h"
#include "io/npy.h"
#include "io/plural.h"

namespace embedtune::cli {
namespace {
namespace fs = std::filesystem;

struct EncodeArgs {
  ModelOptions model;
  std::string input, field = "text", output, prompt, prompt_name, task;
  int64_t batch_size = 32, dim = 0;
  bool dim_given = false, prompt_given = false, prompt_name_given = false;
  bool bf16 = false;
};

void run_encode(const EncodeArgs& args) {
  io::check_output_file(args.output, "--output");
  // A NumPy file under another name (e.g. .jsonl) would mislead whatever reads it next.
  io::check_output_extension(args.output, "--output", ".npy",
                             "embeddings are written as a float32 NumPy array");
  if (args.batch_size < 1)
    fail("--batch-size: expected an integer >= 1, found {}; fix the value", args.batch_size);
  if (args.prompt_given && args.prompt_name_given) {
    fail("--prompt and --prompt-name both given; give the prompt text or its name, not both");
  }
  SentenceTransformer st = args.model.load();
  // As ST's encode: the text given, else the prompt named, else (encode_query, encode_document)
  // the task's prompt, else the model's default_prompt_name.
  const EncodeTask task = encode_task(args.task);
  const std::string prompt = st.resolve_prompt(
      args.prompt_given ? std::optional(args.prompt) : std::nullopt,
      args.prompt_name_given ? std::optional(args.prompt_name) : std::nullopt, task);
  if (args.dim_given && (args.dim < 1 || args.dim > st.dimension())) {
    fail("--dim {} is out of range; expected 1..{} (the model's embedding dimension)", args.dim,
         st.dimension());
  }
  const auto texts = data::read_texts(args.input, args.field);
  EncodeOptions options;
  options.batch_size = args.batch_size;
  options.dim = args.dim;
  options.prompt = prompt;
  options.task = task;
  options.bf16 = args.bf16;
  options.progress = io::progress_printer("encode");
  const auto start = std::chrono::steady_clock::now();
  at::Tensor embeddings = st.encode(texts, options).contiguous();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  io::write_npy_f32(args.output, embeddings.data_ptr<float>(),
                    {embeddings.size(0), embeddings.size(1)});
  fmt::print(stderr, "encode: {} -> {} ({} x {} float32) in {:.3f} s ({:.1f} texts/s)\n",
             io::counted(texts.size(), "text"), args.output, embeddings.size(0), embeddings.size(1),
             seconds, seconds > 0 ? texts.size() / seconds : 0.0);
}

const Register kRegister("encode", [](CLI::App& app) {
  auto args = std::make_shared<EncodeArgs>();
  CLI::App* cmd = app.add_subcommand(
      "encode", "Encode texts into embeddings (float32 .npy, one row per text, input order)");
  args->model.add_to(*cmd);
  cmd->add_option("--input", args->input,
                  "Texts: .txt (one per line), or .jsonl/.json/.csv/.parquet records (see --field)")
      ->required();
  cmd->add_option("--field", args->field, "Record field holding the text")->capture_default_str();
  cmd->add_option("--output", args->output, "Output .npy file (float32, one row per text)")
      ->required();
  add_setting_option(*cmd, "batch_size", args->batch_size, "Texts per batch");
  add_setting_option(*cmd, "dim", args->dim,
                     "Keep the first DIM values (Matryoshka truncation) and re-normalise")
      ->each([args](const std::string&) { args->dim_given = true; });
  cmd->add_option("--prompt", args->prompt, "Text prepended to every input (e.g. 'query: ')")
      ->each([args](const std::string&) { args->prompt_given = true; });
  cmd->add_option("--prompt-name", args->prompt_name,
                  "Prepend the model's prompt of this name (config_sentence_transformers.json "
                  "prompts); with neither flag, its default_prompt_name applies, if set")
      ->each([args](const std::string&) { args->prompt_name_given = true; });
  add_task_option(*cmd, args->task,
                  "Encode as sentence-transformers' encode_query (query: the model's \"query\" "
                  "prompt unless one is given) or encode_document (document); a chat template "
                  "that reads the variable task gets it. Unset: as encode");
  cmd->add_flag("--bf16", args->bf16, "Encode in bf16 autocast (CUDA only; fp32 otherwise)");
  cmd->callback([args] { run_encode(*args); });
});

}  // namespace
}  // namespace embedtune::cli
