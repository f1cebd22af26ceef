// `embedtune convert`: load any supported model (folder or cached Hugging Face id) and save it as
// a sentence-transformers folder, e.g. to turn a plain Hugging Face BERT into one.
#include <fmt/format.h>

#include "cli/command.h"
#include "cli/model_options.h"

namespace embedtune::cli {
namespace {

struct ConvertArgs {
  ModelOptions model;
  std::string output;
};

const Register kRegister("convert", [](CLI::App& app) {
  auto args = std::make_shared<ConvertArgs>();
  CLI::App* cmd = app.add_subcommand(
      "convert",
      "Save a model as a sentence-transformers folder (loadable by SentenceTransformer(path))");
  args->model.add_to(*cmd, /*with_device=*/false);
  cmd->add_option("--output", args->output, "Folder to write (replaced whole, atomically)")
      ->required();
  cmd->callback([args] {
    SentenceTransformer st = args->model.load();
    st.save(args->output);
    fmt::print(stderr, "convert: {} -> {}\n", args->model.model, args->output);
  });
});

}  // namespace
}  // namespace embedtune::cli
