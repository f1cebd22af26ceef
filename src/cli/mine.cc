// `embedtune mine`: hard negatives for (anchor, positive) pairs, as sentence-transformers'
// mine_hard_negatives, written as JSON Lines that `train` (and `prepare`) read.
#include <fmt/format.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <tuple>

#include "cli/command.h"
#include "cli/model_options.h"
#include "cli/settings_options.h"
#include "data/hub_input.h"
#include "data/records.h"
#include "data/text_input.h"
#include "io/atomic_file.h"
#include "io/error.h"
#include "io/plural.h"
#include "io/progress.h"
#include "mining/hard_negatives.h"

namespace embedtune::cli {
namespace {

struct MineArgs {
  ModelOptions model;
  std::string input, format, corpus, corpus_field = "text", output;
  mining::MineSettings settings;
};

void run_mine(const MineArgs& args) {
  io::check_output_file(args.output, "--output");
  io::check_output_extension(args.output, "--output", ".jsonl", "the mined rows as JSON Lines");
  args.settings.validate("--");
  const std::filesystem::path input = data::local_dataset_file(args.input);  // hf://datasets/...
  const data::DataFormat format =
      args.format.empty() ? data::format_for_path(input) : data::parse_format(args.format);
  data::InvalidRows invalid(input, false, "fix the row");
  const std::vector<data::Record> records = data::read_records(input, format, invalid);
  std::vector<std::string> anchors, positives;
  for (auto [field, flag, texts] :
       {std::tuple(&args.settings.anchor_column_name, "--anchor_column_name", &anchors),
        std::tuple(&args.settings.positive_column_name, "--positive_column_name", &positives)}) {
    for (std::vector<std::string>& row :
         data::text_fields(args.input, records, {*field}, fmt::format("set {}", flag))) {
      texts->push_back(std::move(row[0]));
    }
  }
  if (anchors.empty()) {
    fail("{}: no rows; give (anchor, positive) pairs, e.g. prepare's train.jsonl", args.input);
  }
  std::vector<std::string> corpus;
  if (!args.corpus.empty())
    corpus = data::read_texts(args.corpus, args.corpus_field, "--corpus-field");

  SentenceTransformer model = args.model.load();
  const auto start = std::chrono::steady_clock::now();
  mining::MineProgress progress;
  if (io::progress_enabled()) {
    auto corpus_bar = io::progress_printer("mine: encode corpus");
    auto query_bar = io::progress_printer("mine: encode anchors");
    progress = [corpus_bar, query_bar](std::string_view what, int64_t done, int64_t total) {
      (what == "corpus" ? corpus_bar : query_bar)(done, total);
    };
  }
  const mining::MineResult result = mining::mine_hard_negatives(
      model, anchors, positives, args.corpus.empty() ? nullptr : &corpus, args.settings, progress);
  mining::write_mined_jsonl(args.output, result);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << result.report << std::flush;
  fmt::print(
      stderr, "mine: {} ({}) -> {} ({}: {}) in {:.1f} s\n", io::counted(anchors.size(), "pair"),
      io::counted(result.unique_anchors, "unique anchor"), io::counted(result.rows.size(), "row"),
      args.settings.include_positives ? "n-tuple" : args.settings.output_format, args.output,
      seconds);
}

const Register kRegister("mine", [](CLI::App& app) {
  auto args = std::make_shared<MineArgs>();
  CLI::App* cmd = app.add_subcommand(
      "mine",
      "Mine hard negatives for (anchor, positive) pairs as sentence-transformers' "
      "mine_hard_negatives does (exact top-k; no cross-encoder), into JSON Lines for `train`");
  args->model.add_to(*cmd);
  cmd->add_option(
         "--input", args->input,
         "(anchor, positive) rows: .jsonl, .json, .csv or .parquet (prepare's train.jsonl)")
      ->required();
  cmd->add_option("--format", args->format,
                  "Input format: jsonl, json, csv or parquet (default: from the extension)");
  cmd->add_option("--corpus", args->corpus,
                  "More candidate documents besides the positives: .txt (one per line) or "
                  ".jsonl/.json/.csv/.parquet records (see --corpus-field)");
  cmd->add_option("--corpus-field", args->corpus_field, "Record field holding a corpus text")
      ->capture_default_str();
  cmd->add_option("--output", args->output,
                  "Output .jsonl: triplet rows {anchor, positive, negative}, n-tuple rows "
                  "{anchor, positive, negative_1..n}, or the labeled formats")
      ->required();
  add_setting_options(*cmd, args->settings, {}, /*python_spelling=*/true);
  cmd->footer(
      "The summary of scores (positive, negative, difference) and what each filter skipped are "
      "printed as sentence-transformers prints them. Random sampling draws as Python's "
      "random.seed(--seed).");
  cmd->callback([args] { run_mine(*args); });
});

}  // namespace
}  // namespace embedtune::cli
