// Tests of TrainingArguments (parsing, errors naming the nearest key, validation), checkpoint
// rotation and state files, and the Trainer: exact resume, interruption, load_best_model_at_end,
// NaN loss. Trainer tests use the tiny random model from make_testdata and small generated pairs.
#include "training/trainer.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>

#include "evaluation/model_evaluation.h"
#include "io/checksum.h"
#include "io/error.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "test_support.h"
#include "training/checkpoint.h"
#include "training/training_arguments.h"

namespace embedtune::training {
namespace {
namespace fs = std::filesystem;
using testing::error_of;

void write(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }

// TrainingArguments ------------------------------------------------------------------------------

TEST(TrainingArguments, DefaultsMirrorTransformers) {
  TrainingArguments args;
  EXPECT_EQ(args.num_train_epochs, 3.0);
  EXPECT_EQ(args.per_device_train_batch_size, 8);
  EXPECT_EQ(args.learning_rate, 5e-5);
  EXPECT_EQ(args.max_grad_norm, 1.0);
  EXPECT_EQ(args.lr_scheduler_type, "linear");
  EXPECT_EQ(args.logging_steps, 500);
  EXPECT_EQ(args.save_strategy, "steps");
  EXPECT_EQ(args.seed, 42);
  EXPECT_EQ(args.optim, "adamw_torch_fused");
  EXPECT_TRUE(args.non_defaults().empty());
}

TEST(TrainingArguments, YamlAndCommandLineSetEveryKind) {
  const fs::path dir = testing::lasting_scratch_dir();
  write(
      dir / "r.yaml",
      "model: m\ntrain: t.jsonl\noutput_dir: out\nlearning_rate: 2.0e-5\nbf16: true\n"
      "matryoshka_dims: [384, 128]\ngreater_is_better: null\ntrain_columns: [positive, anchor]\n");
  TrainingArguments args;
  args.load_yaml(dir / "r.yaml");
  args.apply_command_line({"--per-device-train-batch-size", "32", "--tf32",
                           "--matryoshka_dims=256,64", "--max_steps", "-1", "--warmup_ratio",
                           "0.1"});
  EXPECT_EQ(args.learning_rate, 2e-5);
  EXPECT_TRUE(args.bf16);
  EXPECT_TRUE(args.tf32);
  EXPECT_EQ(args.per_device_train_batch_size, 32);
  EXPECT_EQ(args.matryoshka_dims, (std::vector<int64_t>{256, 64}));
  EXPECT_EQ(args.train_columns, (std::vector<std::string>{"positive", "anchor"}));
  EXPECT_EQ(args.warmup_ratio, 0.1);
  // to_yaml reads back to the same values.
  write(dir / "back.yaml", args.to_yaml());
  TrainingArguments back;
  back.load_yaml(dir / "back.yaml");
  EXPECT_EQ(back.all_values(), args.all_values());
}

TEST(TrainingArguments, UnknownKeyNamesTheNearestOne) {
  const fs::path dir = testing::lasting_scratch_dir();
  write(dir / "r.yaml", "model: m\nlearning_rat: 1e-5\n");
  TrainingArguments args;
  const std::string message = error_of([&] { args.load_yaml(dir / "r.yaml"); });
  EXPECT_NE(message.find("r.yaml:2"), std::string::npos) << message;
  EXPECT_NE(message.find("unknown key 'learning_rat'"), std::string::npos) << message;
  EXPECT_NE(message.find("did you mean 'learning_rate'"), std::string::npos) << message;
  const std::string cli =
      error_of([&] { args.apply_command_line({"--per_device_train_batchsize", "4"}); });
  EXPECT_NE(cli.find("did you mean 'per_device_train_batch_size'"), std::string::npos) << cli;
  // Other tools' short names point at ours: a part of the key, the start of parts, initials.
  for (const auto& [typed, meant] : std::vector<std::pair<std::string, std::string>>{
           {"epochs", "num_train_epochs"},
           {"batch_size", "per_device_train_batch_size"},
           {"eval-batch-size", "per_device_eval_batch_size"},
           {"lr", "learning_rate"},
           {"warmup", "warmup_ratio"},
           {"max_seq_len", "max_seq_length"},
           {"Seed", "seed"}}) {
    const std::string message = error_of([&] { args.apply_command_line({"--" + typed, "1"}); });
    EXPECT_NE(message.find(fmt::format("did you mean '{}'", meant)), std::string::npos) << message;
  }
}

TEST(TrainingArguments, BadYamlAndBadValuesAreOneLineErrors) {
  const fs::path dir = testing::lasting_scratch_dir();
  write(dir / "syntax.yaml", "model: [unclosed\n");
  write(dir / "list.yaml", "- a\n- b\n");
  write(dir / "type.yaml", "per_device_train_batch_size: many\n");
  TrainingArguments args;
  EXPECT_NE(error_of([&] { args.load_yaml(dir / "syntax.yaml"); }).find("invalid YAML"),
            std::string::npos);
  EXPECT_NE(error_of([&] { args.load_yaml(dir / "list.yaml"); }).find("expected a mapping"),
            std::string::npos);
  const std::string type = error_of([&] { args.load_yaml(dir / "type.yaml"); });
  EXPECT_NE(type.find("per_device_train_batch_size: expected an integer, found 'many'"),
            std::string::npos)
      << type;
  EXPECT_NE(error_of([&] {
              args.load_yaml(dir / "missing.yaml");
            }).find("missing.yaml: expected a readable file, found none"),
            std::string::npos);
}

TrainingArguments valid_args() {
  TrainingArguments args;
  args.model = "m";
  args.train = "t.jsonl";
  args.eval = "e.jsonl";
  args.output_dir = "out";
  return args;
}

TEST(TrainingArguments, ValidateChecksValuesAndCombinations) {
  auto check = [](const std::function<void(TrainingArguments&)>& change,
                  const std::string& expected) {
    TrainingArguments args = valid_args();
    change(args);
    const std::string message = error_of([&] { args.validate(); });
    EXPECT_NE(message.find(expected), std::string::npos)
        << "wanted '" << expected << "' in: " << message;
  };
  check([](auto& a) { a.per_device_train_batch_size = 0; },
        "per_device_train_batch_size: expected an integer >= 1");
  check([](auto& a) { a.gradient_accumulation_steps = 0; }, "gradient_accumulation_steps");
  check([](auto& a) { a.learning_rate = 0; }, "learning_rate: expected a number > 0");
  check([](auto& a) { a.warmup_ratio = 1.5; }, "warmup_ratio: expected a number in [0, 1]");
  check([](auto& a) { a.lr_scheduler_type = "cosin"; }, "did you mean 'cosine'");
  check([](auto& a) { a.batch_sampler = "no_duplicate"; }, "did you mean 'no_duplicates'");
  check([](auto& a) { a.loss = "CachedMNRL"; },
        "did you mean 'CachedMultipleNegativesRankingLoss'");
  check([](auto& a) { a.inner_loss = "mnrl"; }, "did you mean 'MultipleNegativesRankingLoss'");
  // A word near nothing gets no suggestion: the nearest by edit distance would be noise.
  {
    TrainingArguments args = valid_args();
    args.lr_scheduler_type = "poly";
    EXPECT_EQ(error_of([&] { args.validate(); }),
              "training arguments: lr_scheduler_type: expected one of linear, cosine, constant, "
              "constant_with_warmup, found 'poly'");
    EXPECT_EQ(error_of([&] { args.apply_command_line({"--frobnicate", "1"}); }),
              "command line: unknown key 'frobnicate' (`embedtune train --help` lists every key)");
  }
  check(
      [](auto& a) {
        a.matryoshka_dims = {64, 32, 16};
        a.matryoshka_weights = {1, 2};
      },
      "matryoshka_weights: expected 3 weights");
  check([](auto& a) { a.model.clear(); }, "model: expected a model folder");
  check(
      [](auto& a) {
        a.load_best_model_at_end = true;
        a.eval_strategy = "epoch";
        a.save_strategy = "steps";
      },
      "save_strategy: expected 'epoch'");
  check(
      [](auto& a) {
        a.load_best_model_at_end = true;
        a.eval_strategy = "epoch";
        a.save_strategy = "epoch";
      },
      "metric_for_best_model: expected an evaluation key");
  check(
      [](auto& a) {
        a.eval_strategy = "epoch";
        a.matryoshka_dims = {768, 512, 256, 128, 64};
        a.metric_for_best_model = "eval_dim_100_cosine_ndcg@10";
      },
      "did you mean 'eval_dim_128_cosine_ndcg@10'");

  TrainingArguments ok = valid_args();
  ok.eval_strategy = ok.save_strategy = "epoch";
  ok.load_best_model_at_end = true;
  ok.metric_for_best_model = "dim_64_cosine_ndcg@10";
  ok.validate();
  EXPECT_EQ(ok.metric_for_best_model, "eval_dim_64_cosine_ndcg@10");
  EXPECT_EQ(ok.greater_is_better, std::optional<bool>(true));
  EXPECT_EQ(ok.eval_steps, ok.logging_steps);
}

// Checkpoints ------------------------------------------------------------------------------------

TEST(Checkpoint, RotationKeepsTheNewestAndTheBest) {
  const fs::path dir = testing::lasting_scratch_dir();
  for (int step : {10, 20, 30, 40, 50}) fs::create_directories(dir / checkpoint_folder_name(step));
  fs::create_directories(dir / "other");
  const auto deleted = rotate_checkpoints(dir, 2, (dir / "checkpoint-20").string());
  EXPECT_EQ(deleted.size(), 3u);
  EXPECT_TRUE(fs::exists(dir / "checkpoint-20"));
  EXPECT_TRUE(fs::exists(dir / "checkpoint-50"));
  EXPECT_FALSE(fs::exists(dir / "checkpoint-10"));
  EXPECT_FALSE(fs::exists(dir / "checkpoint-40"));
  EXPECT_TRUE(fs::exists(dir / "other"));
  // A limit of 1 still keeps the best beside the newest, as transformers does.
  fs::create_directories(dir / "checkpoint-60");
  rotate_checkpoints(dir, 1, (dir / "checkpoint-20").string());
  EXPECT_EQ(sorted_checkpoints(dir),
            (std::vector<fs::path>{dir / "checkpoint-20", dir / "checkpoint-60"}));
  EXPECT_EQ(last_checkpoint(dir), dir / "checkpoint-60");
}

TEST(Checkpoint, TrainerStateRoundTripsWithTransformersFields) {
  TrainerState state;
  state.global_step = 12;
  state.epoch = 1.5;
  state.best_metric = 0.75;
  state.best_global_step = 8;
  state.best_model_checkpoint = "out/checkpoint-8";
  state.log_history.push_back({{"loss", 1.25}, {"step", 4}});
  const nlohmann::json json = state.to_json();
  for (const char* key :
       {"global_step", "epoch", "log_history", "best_metric", "best_model_checkpoint",
        "best_global_step", "max_steps", "logging_steps", "train_batch_size"}) {
    EXPECT_TRUE(json.contains(key)) << key;
  }
  const TrainerState back = TrainerState::from_json(json, "x");
  EXPECT_EQ(back.global_step, 12);
  EXPECT_EQ(back.best_model_checkpoint, state.best_model_checkpoint);
  EXPECT_EQ(back.log_history, state.log_history);
  EXPECT_NE(error_of([] {
              TrainerState::from_json(nlohmann::json::object(), "f.json");
            }).find("f.json: missing field"),
            std::string::npos);
  // An integer field holds a JSON integer within int64: nlohmann would convert a float or a larger
  // number unchecked (found by fuzz_checkpoint_state: fuzz/regressions/checkpoint_state/).
  for (const nlohmann::json& bad :
       {nlohmann::json(5.5e82), nlohmann::json(12.0), nlohmann::json(UINT64_MAX)}) {
    nlohmann::json edited = json;
    edited["global_step"] = bad;
    EXPECT_NE(error_of([&] { TrainerState::from_json(edited, "f.json"); })
                  .find("f.json: field 'global_step' has the wrong type (" + bad.dump() +
                        "; expected an integer)"),
              std::string::npos)
        << bad.dump();
  }
}

// Trainer ----------------------------------------------------------------------------------------

fs::path testdata() { return testing::required_env("EMBEDTUNE_TESTDATA"); }

// 48 train + 16 test pairs of made-up sentences with distinct words.
fs::path make_data(const fs::path& dir) {
  const char* words[] = {"river",  "stone",  "cloud",  "lamp",   "garden", "engine",
                         "window", "forest", "paper",  "silver", "orange", "bridge",
                         "winter", "candle", "harbor", "violin"};
  std::ofstream train(dir / "train.jsonl"), test(dir / "test.jsonl");
  for (int i = 0; i < 64; ++i) {
    const std::string a = words[i % 16], b = words[(i * 7 + 3) % 16], c = words[(i * 5 + 1) % 16];
    nlohmann::json row = {
        {"id", i},
        {"anchor", "what about the " + a + " " + b + " " + std::to_string(i) + "?"},
        {"positive",
         "The " + a + " and the " + b + " near a " + c + ", number " + std::to_string(i) + "."}};
    (i < 48 ? train : test) << row.dump() << "\n";
  }
  return dir;
}

TrainingArguments tiny_args(const fs::path& dir, const std::string& out) {
  TrainingArguments args;
  args.model = (testdata() / "models" / "mean").string();
  args.train = (dir / "train.jsonl").string();
  args.eval = (dir / "test.jsonl").string();
  args.output_dir = (dir / out).string();
  args.matryoshka_dims = {64, 32};
  args.per_device_train_batch_size = 8;
  args.gradient_accumulation_steps = 2;  // 6 micro-batches: 3 steps per epoch
  args.num_train_epochs = 2;
  args.learning_rate = 1e-3;
  args.lr_scheduler_type = "cosine";
  args.warmup_ratio = 0.2;
  args.logging_steps = 1;
  args.eval_strategy = "epoch";
  args.save_strategy = "epoch";
  return args;
}

TrainerOptions quiet() {
  TrainerOptions options;
  options.log_lines = false;
  options.handle_signals = false;
  return options;
}

std::string file_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(Trainer, ResumeAfterEpochOneEqualsTheUninterruptedRunBitForBit) {
  const fs::path dir = make_data(testing::lasting_scratch_dir());
  // Dropout stays on (0.1 in the tiny model): the RNG state must be restored too.
  Trainer full(tiny_args(dir, "full"), quiet());
  full.train();

  TrainingArguments resumed = tiny_args(dir, "resumed");
  resumed.resume_from_checkpoint = (dir / "full" / "checkpoint-3").string();
  Trainer second(resumed, quiet());
  const TrainOutput output = second.train();
  EXPECT_EQ(output.global_step, 6);
  EXPECT_EQ(file_bytes(dir / "resumed" / "model.safetensors"),
            file_bytes(dir / "full" / "model.safetensors"));
  EXPECT_EQ(file_bytes(dir / "resumed" / "checkpoint-6" / "optimizer.safetensors"),
            file_bytes(dir / "full" / "checkpoint-6" / "optimizer.safetensors"));
  const auto state = io::read_json_file(dir / "resumed" / "checkpoint-6" / kTrainerStateName);
  EXPECT_EQ(state["global_step"], 6);
  EXPECT_EQ(
      state["log_history"].size(),
      io::read_json_file(dir / "full" / "checkpoint-6" / kTrainerStateName)["log_history"].size());
}

TEST(Trainer, InterruptedMidEpochWritesACheckpointAndResumesExactly) {
  const fs::path dir = make_data(testing::lasting_scratch_dir());
  Trainer full(tiny_args(dir, "full"), quiet());
  full.train();

  TrainerCallbacks stop_at_two;
  stop_at_two.on_step_end = [](const TrainerState& state) { return state.global_step == 2; };
  Trainer first(tiny_args(dir, "cut"), quiet(), stop_at_two);
  const TrainOutput cut = first.train();
  EXPECT_TRUE(cut.interrupted);
  EXPECT_EQ(cut.checkpoint, dir / "cut" / "checkpoint-2");
  TrainingArguments again = tiny_args(dir, "cut");
  again.resume_from_checkpoint = "last";
  Trainer second(again, quiet());
  second.train();
  EXPECT_EQ(file_bytes(dir / "cut" / "model.safetensors"),
            file_bytes(dir / "full" / "model.safetensors"));
}

TEST(Trainer, GarbledGeneratorStatesBehindAValidManifestAreLocatedErrors) {
  const fs::path dir = make_data(testing::lasting_scratch_dir());
  TrainingArguments args = tiny_args(dir, "out");
  args.max_steps = 1;
  Trainer(args, quiet()).train();
  const fs::path checkpoint = dir / "out" / "checkpoint-1";
  const fs::path rng = checkpoint / kRngStateName;
  nlohmann::json state = io::read_json_file(rng);
  const nlohmann::json good = state;
  for (const auto& [field, value] :
       {std::pair{"torch_cpu", "00ff"}, {"mt19937_64", "not numbers"}}) {
    state = good;
    state[field] = value;
    io::write_json_file_atomic(rng, state);
    io::write_manifest(checkpoint);  // as if it had been written like this
    EXPECT_THAT(error_of([&] { load_checkpoint(checkpoint); }),
                ::testing::HasSubstr(rng.string() + ": " + field + " is not"))
        << field;
  }
}

TEST(Trainer, LoadBestModelAtEndAndRotationKeepTheBestCheckpoint) {
  const fs::path dir = make_data(testing::lasting_scratch_dir());
  TrainingArguments args = tiny_args(dir, "out");
  args.num_train_epochs = 3;
  args.save_total_limit = 1;
  args.load_best_model_at_end = true;
  args.metric_for_best_model = "eval_dim_32_cosine_ndcg@10";
  Trainer trainer(args, quiet());
  const TrainOutput output = trainer.train();
  const TrainerState& state = trainer.state();
  ASSERT_TRUE(state.best_global_step.has_value());
  ASSERT_TRUE(state.best_model_checkpoint.has_value());
  EXPECT_EQ(*state.best_model_checkpoint,
            (dir / "out" / checkpoint_folder_name(*state.best_global_step)).string());
  // save_total_limit 1 leaves only the best checkpoint at the end.
  EXPECT_EQ(sorted_checkpoints(dir / "out"), (std::vector<fs::path>{*state.best_model_checkpoint}));
  // The final model is the best checkpoint's.
  EXPECT_EQ(file_bytes(dir / "out" / "model.safetensors"),
            file_bytes(fs::path(*state.best_model_checkpoint) / "model.safetensors"));
  double best = -1;
  for (const auto& entry : state.log_history) {
    if (entry.contains(args.metric_for_best_model))
      best = std::max(best, entry[args.metric_for_best_model].get<double>());
  }
  EXPECT_EQ(*state.best_metric, best);
  const std::string card = file_bytes(dir / "out" / "README.md");
  EXPECT_NE(card.find(fmt::format("| **{}** |", *state.best_global_step)), std::string::npos)
      << card;
  EXPECT_NE(card.find("dim_32_cosine_ndcg@10"), std::string::npos);
  EXPECT_FALSE(output.final_eval.empty());
}

TEST(Trainer, NanLossStopsNamingTheStepAndKeepsTheLastCheckpoint) {
  const fs::path dir = make_data(testing::lasting_scratch_dir());
  TrainerCallbacks poison;
  poison.on_loss = [](at::Tensor& loss, int64_t step) {
    if (step == 4) loss = loss * std::numeric_limits<double>::quiet_NaN();
  };
  Trainer trainer(tiny_args(dir, "out"), quiet(), poison);
  const std::string message = error_of([&] { trainer.train(); });
  EXPECT_NE(message.find("training stopped at step 5"), std::string::npos) << message;
  EXPECT_NE(message.find("checkpoint-3"), std::string::npos) << message;
  EXPECT_TRUE(fs::exists(dir / "out" / "checkpoint-3" / "model.safetensors"));
  EXPECT_FALSE(fs::exists(dir / "out" / "checkpoint-6"));
}

TEST(Trainer, UnsetDimensionsAreTheModelsAsEvaluateDerivesThem) {
  const fs::path dir = make_data(testing::lasting_scratch_dir());
  TrainingArguments args = tiny_args(dir, "out");
  args.matryoshka_dims.clear();
  args.n_dims_per_step = 3;
  args.validate();  // what needs the dims waits for the model
  EXPECT_THAT(error_of([&] { Trainer trainer(args, quiet()); }),
              ::testing::HasSubstr("n_dims_per_step: expected -1 (all) or 1..1, found 3"));
  args.n_dims_per_step = -1;
  args.metric_for_best_model = "eval_dim_32_cosine_ndcg@10";
  EXPECT_THAT(error_of([&] { Trainer trainer(args, quiet()); }),
              ::testing::HasSubstr("did you mean 'eval_dim_64_cosine_ndcg@10'"));
  args.metric_for_best_model = "eval_dim_64_cosine_ndcg@10";
  Trainer trainer(args, quiet());
  EXPECT_EQ(trainer.args().matryoshka_dims, (std::vector<int64_t>{64}));  // the test model's
  EXPECT_EQ(evaluation::default_dims(384), (std::vector<int64_t>{384, 192, 96}));
  EXPECT_EQ(evaluation::default_dims(768), (std::vector<int64_t>{768, 512, 256, 128, 64}));
}

TEST(Trainer, DimensionLargerThanTheModelIsRejectedBeforeTraining) {
  const fs::path dir = make_data(testing::lasting_scratch_dir());
  TrainingArguments args = tiny_args(dir, "out");
  args.matryoshka_dims = {128, 64};
  const std::string message = error_of([&] { Trainer trainer(args, quiet()); });
  EXPECT_NE(message.find("matryoshka_dims: expected dimensions <= 64"), std::string::npos)
      << message;
}

}  // namespace
}  // namespace embedtune::training
