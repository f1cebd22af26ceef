// `embedtune compare BASELINE.json FINETUNED.json`: NDCG@10 per Matryoshka dimension, before and
// after.
#include "evaluation/compare.h"

#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <string>

#include "cli/command.h"
#include "io/atomic_file.h"

namespace embedtune::cli {
namespace {

struct CompareArgs {
  std::string baseline, finetuned, format = "markdown", output;
};

void run_compare(const CompareArgs& args) {
  const evaluation::Comparison comparison =
      evaluation::compare_result_files(args.baseline, args.finetuned);
  std::string text = args.format == "text" ? evaluation::render_text(comparison)
                                           : evaluation::render_markdown(comparison);
  const evaluation::MetricList baseline = evaluation::read_results_json(args.baseline);
  const evaluation::MetricList finetuned = evaluation::read_results_json(args.finetuned);
  const evaluation::Frontier frontier =
      evaluation::compute_frontier(baseline, finetuned, args.baseline, args.finetuned);
  // With quantized results (evaluate --precisions), the quality at every storage size follows.
  if (frontier.quantized) {
    text += "\nQuality against storage (every dimension and precision):\n\n" +
            evaluation::render_frontier_markdown(frontier);
  }
  if (args.output.empty()) {
    std::cout << text;
  } else {
    io::write_file_atomic(args.output, text);
  }
}

const Register kRegister("compare", [](CLI::App& app) {
  auto args = std::make_shared<CompareArgs>();
  CLI::App* cmd = app.add_subcommand(
      "compare",
      "Compare two results JSON files (baseline, fine-tuned): cosine NDCG@10 per Matryoshka "
      "dimension, relative improvement and the share of the full-size score kept");
  cmd->add_option("baseline", args->baseline, "Results JSON of the baseline model")->required();
  cmd->add_option("finetuned", args->finetuned, "Results JSON of the fine-tuned model")->required();
  cmd->add_option("--format", args->format, "markdown|text")
      ->check(CLI::IsMember({"markdown", "text"}))
      ->capture_default_str();
  cmd->add_option("--output", args->output, "Write the table to this file (default: stdout)");
  cmd->callback([args] { run_compare(*args); });
});

}  // namespace
}  // namespace embedtune::cli
