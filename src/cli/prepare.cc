// `embedtune prepare`: a (question, context) dataset -> DIR/train.jsonl, DIR/test.jsonl, summary.
#include "data/prepare.h"

#include <fmt/format.h>

#include <memory>
#include <optional>
#include <string>

#include "cli/command.h"

namespace embedtune::cli {
namespace {

struct PrepareArgs {
  std::string input, output, format, anchor_column = "question", positive_column = "context",
                                     negative_column, test_size = "0.1";
  std::uint64_t seed = 42;
  bool skip_invalid = false;
};

void run_prepare(const PrepareArgs& args) {
  data::PrepareOptions options;
  options.input = args.input;
  options.output_dir = args.output;
  if (!args.format.empty()) options.format = data::parse_format(args.format);
  options.columns.anchor_column = args.anchor_column;
  options.columns.positive_column = args.positive_column;
  if (!args.negative_column.empty()) options.columns.negative_column = args.negative_column;
  options.test_size = data::TestSize::parse(args.test_size);
  options.seed = args.seed;
  options.skip_invalid = args.skip_invalid;
  const data::PrepareSummary summary = data::prepare_dataset(options);
  fmt::print("{}", data::format_summary(summary));
}

const Register kRegister("prepare", [](CLI::App& app) {
  auto args = std::make_shared<PrepareArgs>();
  CLI::App* cmd = app.add_subcommand(
      "prepare",
      "Map a (question, context) dataset to anchor/positive with ids and split it into "
      "train.jsonl and test.jsonl with a seed");
  cmd->add_option("--input", args->input, "Dataset: .jsonl, .json (array of records) or .csv")
      ->required();
  cmd->add_option("--output", args->output, "Folder for train.jsonl, test.jsonl, summary.json")
      ->required();
  cmd->add_option("--format", args->format, "jsonl|json|csv (default: from the extension)")
      ->check(CLI::IsMember({"jsonl", "json", "csv"}));
  cmd->add_option("--anchor-column", args->anchor_column, "Column that becomes \"anchor\"")
      ->capture_default_str();
  cmd->add_option("--positive-column", args->positive_column, "Column that becomes \"positive\"")
      ->capture_default_str();
  cmd->add_option("--negative-column", args->negative_column,
                  "Column that becomes \"negative\" (hard negatives; default: none)");
  cmd->add_option("--test-size", args->test_size,
                  "Test split: a fraction in (0, 1) or a row count; test = ceil(fraction * rows) "
                  "as Hugging Face datasets' train_test_split")
      ->capture_default_str();
  cmd->add_option("--seed", args->seed, "Seed of the shuffle before the split")
      ->capture_default_str();
  cmd->add_flag("--skip-invalid", args->skip_invalid,
                "Skip and count invalid rows instead of stopping at the first");
  cmd->callback([args] { run_prepare(*args); });
});

}  // namespace
}  // namespace embedtune::cli
