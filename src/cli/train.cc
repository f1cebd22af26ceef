// `embedtune train`: fine-tune a model from a recipe (YAML of TrainingArguments keys), with any
// key overridden on the command line as --key value.
#include <fmt/format.h>

#include <cstdlib>
#include <iostream>
#include <memory>

#include "cli/command.h"
#include "evaluation/results_io.h"
#include "io/plural.h"
#include "io/progress.h"
#include "training/trainer.h"
#include "training/training_arguments.h"

namespace embedtune::cli {
namespace {

struct TrainCliArgs {
  std::string config;
  bool print_config = false;
};

void run_train(const TrainCliArgs& cli, const std::vector<std::string>& overrides) {
  training::TrainingArguments args;
  if (!cli.config.empty()) args.load_yaml(cli.config);
  args.apply_command_line(overrides);
  // Printing the arguments needs no paths yet: `train --print-config > recipe.yaml` starts one.
  args.validate(/*need_paths=*/!cli.print_config);
  if (cli.print_config) {
    std::cout << args.to_yaml();
    return;
  }
  training::TrainerOptions options;
  options.progress_bar = io::progress_enabled();
  training::Trainer trainer(args, options);
  const training::TrainOutput output = trainer.train();
  if (output.interrupted) {
    std::cout.flush();
    std::exit(128 + (output.stop_signal != 0 ? output.stop_signal : 2));
  }
  if (!output.is_main) return;  // torchrun's other ranks: rank 0 reports
  if (output.steps_run == 0) {
    fmt::print(
        "train: nothing left to train (the checkpoint is at the last step, {}); model "
        "written to {}\n",
        output.global_step, args.output_dir);
  } else {
    fmt::print("train: {}, training loss {:.4f}; model written to {}\n",
               io::counted(output.global_step, "step"), output.training_loss, args.output_dir);
  }
  if (!output.final_eval.empty()) fmt::print("{}", evaluation::matryoshka_table(output.final_eval));
}

const Register kRegister("train", [](CLI::App& app) {
  auto cli = std::make_shared<TrainCliArgs>();
  CLI::App* cmd = app.add_subcommand(
      "train",
      "Fine-tune an embedding model with MatryoshkaLoss(MultipleNegativesRankingLoss) as "
      "sentence-transformers' trainer does: `embedtune train --config recipe.yaml [--key value "
      "...]`");
  cmd->add_option("--config", cli->config,
                  "Recipe: a YAML mapping of the training arguments below");
  cmd->add_flag("--print-config", cli->print_config,
                "Print the resolved arguments as YAML and exit (alone: every default, a recipe "
                "to start from)");
  cmd->allow_extras();
  cmd->footer(
      "Training arguments (in the recipe as `key: value`, or here as --key value; a command-line "
      "value overrides the recipe):\n" +
      training::TrainingArguments::help_text());
  cmd->callback([cli, cmd] { run_train(*cli, cmd->remaining()); });
});

}  // namespace
}  // namespace embedtune::cli
