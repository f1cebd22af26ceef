// `embedtune prepare`: a (question, context) dataset -> DIR/train.jsonl, DIR/test.jsonl, summary.
#include "data/prepare.h"

#include <fmt/format.h>

#include <memory>
#include <string>

#include "cli/command.h"
#include "cli/settings_options.h"
#include "io/atomic_file.h"

namespace embedtune::cli {
namespace {

struct PrepareArgs {
  data::PrepareSettings settings;  // the same list as a recipe's data: section
  std::string output;
};

const Register kRegister("prepare", [](CLI::App& app) {
  auto args = std::make_shared<PrepareArgs>();
  CLI::App* cmd = app.add_subcommand(
      "prepare",
      "Map a (question, context) dataset to anchor/positive with ids and split it into "
      "train.jsonl and test.jsonl with a seed");
  add_setting_options(*cmd, args->settings);
  cmd->get_option("--input")->required();
  cmd->add_option("--output", args->output, "Folder for train.jsonl, test.jsonl, summary.json")
      ->required();
  cmd->callback([args] {
    io::check_output_dir(args->output, "--output");  // before the dataset is read
    const data::PrepareSummary summary =
        data::prepare_dataset(args->settings.options(args->output, "prepare", "--"));
    fmt::print("{}", data::format_summary(summary));
  });
});

}  // namespace
}  // namespace embedtune::cli
