// The whole workflow as one call: prepare -> baseline evaluation -> Matryoshka fine-tuning ->
// evaluation of the fine-tuned model -> comparison and report, in one run folder. Stages already
// done are not redone when the same recipe runs again on the same folder.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include "pipeline/recipe.h"

namespace embedtune::pipeline {

struct RunOptions {
  bool force = false;     // redo every stage (the run folder's previous results are removed)
  bool progress = false;  // progress bars on stderr (a terminal)
  // One line per stage event ("baseline: done in 21.3 s"); stderr when empty.
  std::function<void(const std::string&)> log;
};

struct RunResult {
  std::filesystem::path run_dir;
  std::string comparison_text;   // the table printed at the end
  std::filesystem::path report;  // report.html
  int stages_run = 0;            // how many stages did work (0: everything was already done)
  bool is_main = true;           // false on ranks 1..W-1 under torchrun: they print nothing
};

// Runs `recipe` (validated here first: nothing is written before every check passed). The run
// folder holds: recipe.yaml, data/{train,test}.jsonl + summary.json, baseline.json and
// baseline/ (ST's CSV files), model/ (checkpoints, then the final sentence-transformers model
// with its model card), training_state.json, finetuned.json and finetuned/, comparison.md,
// report.html, timings.json. A folder holding another recipe's run is an Error unless `force`.
RunResult run_workflow(Recipe recipe, const RunOptions& options);

}  // namespace embedtune::pipeline
