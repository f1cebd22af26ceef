// `embedtune run`: the whole workflow from one recipe (prepare, baseline, fine-tune, evaluate,
// compare, report) into one run folder.
#include <fmt/format.h>

#include "cli/command.h"
#include "io/progress.h"
#include "pipeline/workflow.h"

namespace embedtune::cli {
namespace {

struct RunArgs {
  std::string recipe;
  std::vector<std::string> sets;
  std::string model, output;
  bool force = false;
  bool print_config = false;
};

void run_run(const RunArgs& args) {
  pipeline::Recipe recipe = pipeline::Recipe::load(args.recipe);
  for (const auto& assignment : args.sets) recipe.set(assignment, "--set");
  if (!args.model.empty()) recipe.set("model=" + args.model, "--model");
  if (!args.output.empty()) recipe.set("output=" + args.output, "--output");
  if (args.print_config) {  // parsed and overridden, not yet checked against models and files
    fmt::print("{}", recipe.to_yaml());
    return;
  }
  pipeline::RunOptions options;
  options.force = args.force;
  options.progress = io::progress_enabled();
  const pipeline::RunResult result = pipeline::run_workflow(std::move(recipe), options);
  if (!result.is_main) return;  // torchrun's other ranks: rank 0 prints
  fmt::print("\n{}\n", result.comparison_text);
  fmt::print("run folder: {}\nreport:     {}\n", result.run_dir.string(), result.report.string());
}

const Register kRegister("run", [](CLI::App& app) {
  auto args = std::make_shared<RunArgs>();
  CLI::App* cmd = app.add_subcommand(
      "run",
      "The whole workflow from one YAML recipe: prepare, baseline evaluation, Matryoshka "
      "fine-tuning, evaluation, comparison, report.html. Stages already done are not redone.");
  cmd->add_option("recipe", args->recipe, "YAML recipe (see recipes/demo.yaml)")->required();
  cmd->add_option(
      "--set", args->sets,
      "Override a recipe key: KEY=VALUE with dotted keys, e.g. training.learning_rate=3e-5, "
      "data.test_size=0.2, dims=384,128 (repeatable)");
  cmd->add_option("--model", args->model, "Shorthand for --set model=...");
  cmd->add_option("--output", args->output, "Shorthand for --set output=... (the run folder)");
  cmd->add_flag("--force", args->force, "Redo every stage, replacing the run folder's results");
  cmd->add_flag("--print-config", args->print_config,
                "Print the recipe as the run would record it (overrides applied) and exit");
  cmd->callback([args] { run_run(*args); });
});

}  // namespace
}  // namespace embedtune::cli
