// The whole workflow as one call, with resumable stages.
#include "pipeline/workflow.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>

#include "data/prepare.h"
#include "data/records.h"
#include "data/retrieval_data.h"
#include "distributed/world.h"
#include "evaluation/compare.h"
#include "evaluation/model_evaluation.h"
#include "evaluation/results_io.h"
#include "io/atomic_file.h"
#include "io/error.h"
#include "io/file.h"
#include "io/json.h"
#include "io/plural.h"
#include "io/progress.h"
#include "io/settings.h"
#include "mining/hard_negatives.h"
#include "model/sentence_transformer.h"
#include "pipeline/report.h"
#include "training/distributed_evaluation.h"
#include "training/trainer.h"

namespace embedtune::pipeline {
namespace fs = std::filesystem;
namespace {

constexpr const char* kTrainingDone = ".embedtune-training-complete";

class Timer {
 public:
  double seconds() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

struct Paths {
  explicit Paths(const fs::path& root)
      : root(root),
        recipe(root / "recipe.yaml"),
        data(root / "data"),
        train(data / "train.jsonl"),
        test(data / "test.jsonl"),
        summary(data / "summary.json"),
        mined(data / "train-mined.jsonl"),
        mine_summary(data / "mine_summary.json"),
        baseline(root / "baseline.json"),
        baseline_csv(root / "baseline"),
        model(root / "model"),
        training_state(root / "training_state.json"),
        finetuned(root / "finetuned.json"),
        finetuned_csv(root / "finetuned"),
        comparison(root / "comparison.md"),
        report(root / "report.html"),
        timings(root / "timings.json") {}
  fs::path root, recipe, data, train, test, summary, mined, mine_summary, baseline, baseline_csv,
      model, training_state, finetuned, finetuned_csv, comparison, report, timings;
};

// The one place the run's evaluation options come from: the recipe's evaluation section (the
// list `embedtune evaluate` takes as flags) and its dims.
evaluation::ModelEvaluationOptions evaluation_options(const Recipe& recipe, bool progress) {
  evaluation::ModelEvaluationOptions options = evaluation::ModelEvaluationOptions::from_settings(
      recipe.evaluation, recipe.dims, "recipe", "evaluation.");
  if (progress) {
    options.progress = [queries = io::progress_printer("  encoding queries"),
                        corpus = io::progress_printer("  encoding corpus")](
                           const std::string& what, int64_t done, int64_t total) {
      (what == "queries" ? queries : corpus)(done, total);
    };
  }
  return options;
}

void write_evaluation(const evaluation::MetricList& metrics, const Recipe& recipe,
                      const fs::path& json, const fs::path& csv_dir) {
  fs::remove_all(csv_dir);
  evaluation::append_matryoshka_csvs(csv_dir, recipe.dims,
                                     evaluation_options(recipe, false).csv_config(), metrics);
  evaluation::write_results_json(json, metrics);
}

// The trainer's evaluation of the model it saved in output_dir, without the "eval_" prefix, or
// nothing when its last evaluation was of another step's weights.
std::optional<evaluation::MetricList> final_model_evaluation(const training::TrainOutput& out) {
  if (!out.final_eval_is_saved_model) return std::nullopt;
  evaluation::MetricList metrics;  // in the evaluator's order, sequential_score last
  for (const auto& [key, value] : out.final_eval) {
    if (key.rfind("eval_dim_", 0) == 0 || key == "eval_sequential_score") {
      metrics.emplace_back(key.substr(5), value);
    }
  }
  return metrics;
}

// Under torchrun every rank encodes its share of the batches (the sum is the whole encoding) and
// rank 0 writes the results.
void evaluate_to(const std::string& model, const Recipe& recipe, const Paths& paths,
                 const fs::path& json, const fs::path& csv_dir, bool progress,
                 const distributed::World* world) {
  // On the training device (under torchrun on CUDA: this rank's GPU), in fp32, as the reference
  // evaluates.
  c10::Device device(recipe.training.device);
  if (world != nullptr && device.is_cuda()) device = world->device();
  SentenceTransformer st = SentenceTransformer::load(model, device);
  if (recipe.training.max_seq_length > 0) st.set_max_seq_length(recipe.training.max_seq_length);
  const auto data = data::load_prepared_retrieval_data(paths.train, paths.test);
  auto options = evaluation_options(recipe, progress && (world == nullptr || world->is_main()));
  if (world != nullptr) training::share_evaluation(options, *world);
  const auto results = evaluation::evaluate_model(st, data, options);
  if (world == nullptr || world->is_main())
    write_evaluation(results.metrics, recipe, json, csv_dir);
}

// "dims: [384, 64] -> [384, 32]", the settings in which the recipe recorded in the run folder and
// `recipe` differ, in recipe order, at most four named; "" when the record cannot be read back.
std::string recipe_changes(const fs::path& recorded, const Recipe& recipe) {
  std::vector<std::pair<std::string, std::string>> before;
  try {
    before = io::setting_values(Recipe::load(recorded));
  } catch (const Error&) {
    return "";
  }
  std::vector<std::string> changes;
  for (const auto& [key, value] : io::setting_values(recipe)) {
    const auto it = std::find_if(before.begin(), before.end(),
                                 [&](const auto& entry) { return entry.first == key; });
    if (it == before.end() || it->second != value) {
      changes.push_back(
          fmt::format("{}: {} -> {}", key, it == before.end() ? "(not set)" : it->second, value));
    }
  }
  constexpr std::size_t kShown = 4;
  if (changes.size() > kShown) {
    const std::size_t more = changes.size() - kShown;
    changes.resize(kShown);
    changes.push_back(fmt::format("and {} more", more));
  }
  return fmt::format("{}", fmt::join(changes, "; "));
}

// Whether a stage's results are there and readable. Unreadable ones (edited by hand, or cut
// short outside embedtune) are named and the stage is done again.
bool have_results(const fs::path& path, std::string_view stage,
                  const std::function<void(const std::string&)>& log) {
  if (!fs::exists(path)) return false;
  try {
    evaluation::read_results_json(path);
    return true;
  } catch (const Error& error) {
    log(fmt::format("{}: doing it again, as its results cannot be read: {}", stage, error.what()));
    return false;
  }
}

// Under torchrun: rank 0's answer, on every rank, so that every rank takes the same stages.
bool agree(const distributed::World* world, bool decision) {
  if (world == nullptr) return decision;
  std::vector<at::Tensor> flag{at::full({1}, decision ? 1 : 0, at::kLong)};
  world->broadcast(flag, 0);
  return flag[0].item<int64_t>() != 0;
}

}  // namespace

RunResult run_workflow(Recipe recipe, const RunOptions& options) {
  // Under torchrun (or srun) every rank runs the recipe: rank 0 prepares, mines, writes and
  // reports; the evaluations share the encoding between the ranks, and training is data-parallel.
  const distributed::World* world =
      distributed::connect_world(std::chrono::seconds(recipe.training.ddp_timeout),
                                 c10::Device(recipe.training.device).is_cuda());
  const bool is_main = world == nullptr || world->is_main();
  auto log = [&](const std::string& line) {
    if (!is_main) return;
    if (options.log) {
      options.log(line);
    } else {
      std::fprintf(stderr, "%s\n", line.c_str());
    }
  };
  recipe.validate();  // everything checkable is checked before anything is written
  const Paths paths(recipe.output);
  const std::string recipe_yaml = recipe.to_yaml();

  if (fs::exists(paths.recipe) && !options.force) {
    if (io::read_file(paths.recipe) != recipe_yaml) {
      const std::string changes = recipe_changes(paths.recipe, recipe);
      fail(
          "{}: this run folder holds a run of a different recipe{}; pass --force to redo it with "
          "this recipe, or choose another output folder",
          paths.root.string(), changes.empty() ? "" : " (" + changes + ")");
    }
  }
  if (options.force && is_main) {
    for (const fs::path& p :
         {paths.data, paths.baseline, paths.baseline_csv, paths.model, paths.training_state,
          paths.finetuned, paths.finetuned_csv, paths.comparison, paths.report, paths.timings}) {
      fs::remove_all(p);
    }
  }
  if (is_main) {
    fs::create_directories(paths.root);
    io::write_file_atomic(paths.recipe, recipe_yaml);
  }

  nlohmann::ordered_json timings = nlohmann::ordered_json::object();
  if (fs::exists(paths.timings)) {
    const nlohmann::json previous = io::read_json_file(paths.timings);
    for (const auto& [key, value] : previous.items()) timings[key] = value;
  }
  RunResult result;
  result.run_dir = paths.root;
  result.is_main = is_main;
  auto stage_done = [&](const char* stage, const Timer& timer) {
    if (!is_main) return;
    timings[stage] = timer.seconds();
    io::write_file_atomic(paths.timings, timings.dump(2) + "\n");
    ++result.stages_run;
    log(fmt::format("{}: done in {:.1f} s", stage, timer.seconds()));
  };

  // 1. Prepare (or copy in prepared splits). Rank 0 alone prepares and mines; the others wait.
  if (!is_main) {
    // (the next agree() waits for rank 0)
  } else if (!fs::exists(paths.summary)) {
    Timer timer;
    log("prepare: splitting the dataset");
    if (!recipe.data.input.empty()) {
      const auto summary =
          data::prepare_dataset(recipe.data.options(paths.data, "recipe", "data."));
      log(data::format_summary(summary));
    } else {
      fs::create_directories(paths.data);
      fs::copy_file(recipe.data_train, paths.train, fs::copy_options::overwrite_existing);
      fs::copy_file(recipe.data_test, paths.test, fs::copy_options::overwrite_existing);
      io::write_json_file_atomic(paths.summary,
                                 {{"train", recipe.data_train}, {"test", recipe.data_test}});
    }
    stage_done("prepare", timer);
  } else {
    log("prepare: already done");
  }

  // 1b. Hard negatives for the training pairs, mined with the model being fine-tuned.
  if (is_main && recipe.mine_enabled.value_or(false)) {
    if (!fs::exists(paths.mined)) {
      Timer timer;
      log(fmt::format("mine: {} per pair with {}",
                      io::counted(recipe.mine.num_negatives, "negative"), recipe.model));
      SentenceTransformer st =
          SentenceTransformer::load(recipe.model, c10::Device(recipe.training.device));
      if (recipe.training.max_seq_length > 0) st.set_max_seq_length(recipe.training.max_seq_length);
      data::InvalidRows invalid(paths.train, false, "fix the row");
      std::vector<std::string> anchors, positives;
      for (const data::Record& record :
           data::read_records(paths.train, data::DataFormat::kJsonLines, invalid)) {
        anchors.push_back(record.columns.at("anchor").get<std::string>());
        positives.push_back(record.columns.at("positive").get<std::string>());
      }
      mining::MineProgress progress;
      if (options.progress) {
        progress = [corpus = io::progress_printer("  encoding corpus"),
                    queries = io::progress_printer("  encoding anchors")](
                       std::string_view what, int64_t done, int64_t total) {
          (what == "corpus" ? corpus : queries)(done, total);
        };
      }
      const mining::MineResult mined =
          mining::mine_hard_negatives(st, anchors, positives, nullptr, recipe.mine, progress);
      io::write_json_file_atomic(paths.mine_summary, mining::summary_json(mined));
      mining::write_mined_jsonl(paths.mined, mined);  // last: it marks the stage done
      log(mined.report);
      stage_done("mine", timer);
    } else {
      log("mine: already done");
    }
  }

  // 2. Baseline evaluation.
  if (agree(world, !have_results(paths.baseline, "baseline", log))) {
    Timer timer;
    log(fmt::format("baseline: evaluating {} at dims {}", recipe.model,
                    fmt::join(recipe.dims, ",")));
    evaluate_to(recipe.model, recipe, paths, paths.baseline, paths.baseline_csv, options.progress,
                world);
    stage_done("baseline", timer);
  } else {
    log("baseline: already done");
  }

  // 3. Fine-tuning (resumed from the newest checkpoint when a previous run was cut short).
  const bool trained = agree(world, fs::exists(paths.model / kTrainingDone));
  bool finetuned_from_trainer = false;  // the trainer's final evaluation was written as stage 4
  if (!trained) {
    Timer timer;
    training::TrainingArguments args = recipe.training;
    bool has_checkpoint = false;
    if (fs::exists(paths.model)) {
      for (const auto& entry : fs::directory_iterator(paths.model)) {
        has_checkpoint |= entry.path().filename().string().rfind("checkpoint-", 0) == 0;
      }
    }
    if (has_checkpoint) args.resume_from_checkpoint = "last";
    log(has_checkpoint ? "train: resuming from the newest checkpoint" : "train: fine-tuning");
    training::TrainerOptions trainer_options;
    // The trainer evaluates as the baseline was evaluated: same settings, prompts included.
    trainer_options.eval_config = evaluation_options(recipe, false).config;
    trainer_options.eval_bf16 = recipe.evaluation.bf16;
    trainer_options.progress_bar = options.progress;
    trainer_options.log_lines = !options.progress;
    training::Trainer trainer(args, trainer_options);
    const training::TrainOutput out = trainer.train();
    if (is_main)
      io::write_file_atomic(paths.training_state, trainer.state().to_json().dump(2) + "\n");
    if (out.interrupted) {
      fail(
          "train: interrupted at step {}; checkpoint {} written; run the same command again to "
          "resume",
          out.global_step, out.checkpoint.string());
    }
    if (is_main) {
      io::write_file_atomic(paths.model / kTrainingDone, "");
      fs::remove(paths.finetuned);
    }
    stage_done("train", timer);
    // The trainer evaluates float32 only: with quantized precisions the final model is encoded
    // again below.
    auto metrics = recipe.evaluation.precisions == std::vector<std::string>{"float32"}
                       ? final_model_evaluation(out)
                       : std::nullopt;
    if (metrics && is_main) {
      // The trainer already evaluated the saved model on the same data with the same evaluator:
      // that is the fine-tuned evaluation, so the model is not encoded again.
      Timer eval_timer;
      write_evaluation(*metrics, recipe, paths.finetuned, paths.finetuned_csv);
      log("finetuned: taken from the trainer's evaluation of the final model");
      stage_done("finetuned", eval_timer);
      finetuned_from_trainer = true;
    }
  } else {
    log("train: already done");
  }

  // 4. Evaluation of the fine-tuned model.
  if (agree(world, !have_results(paths.finetuned, "finetuned", log))) {
    Timer timer;
    log("finetuned: evaluating the fine-tuned model");
    evaluate_to(paths.model.string(), recipe, paths, paths.finetuned, paths.finetuned_csv,
                options.progress, world);
    stage_done("finetuned", timer);
  } else if (!finetuned_from_trainer) {
    log("finetuned: already done");
  }

  // 5. Comparison and report (cheap: always written from the results on disk), by rank 0.
  if (!is_main) return result;
  const auto baseline = evaluation::read_results_json(paths.baseline);
  const auto finetuned = evaluation::read_results_json(paths.finetuned);
  const auto comparison = evaluation::compare_results(baseline, finetuned, paths.baseline.string(),
                                                      paths.finetuned.string());
  io::write_file_atomic(paths.comparison, evaluation::render_markdown(comparison));
  result.comparison_text = evaluation::render_text(comparison);

  ReportInputs report;
  report.title = recipe.name;
  report.baseline = baseline;
  report.finetuned = finetuned;
  if (fs::exists(paths.training_state)) {
    const auto state = io::read_json_file(paths.training_state);
    report.log_history = state.value("log_history", nlohmann::json::array());
    if (state.contains("best_global_step") && state["best_global_step"].is_number_integer()) {
      report.best_step = state["best_global_step"].get<int64_t>();
    }
  }
  if (recipe.mine_enabled.value_or(false) && fs::exists(paths.mine_summary))
    report.mining = io::read_json_file(paths.mine_summary);
  report.settings = recipe.settings_json();
  for (const auto& [key, value] : timings.items())
    report.timings.emplace_back(key, value.get<double>());
  write_report(paths.report, report);
  result.report = paths.report;
  return result;
}

}  // namespace embedtune::pipeline
