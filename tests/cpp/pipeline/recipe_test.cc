// Recipe: one reader and one writer. Every key round-trips through to_yaml() and load() with a
// value unlike its default (strings with commas, colons and quotes; lists with commas inside
// items); an all-default recipe round-trips too; values are spelled as TrainingArguments spells
// them; derived and unknown keys are refused with the key named.
#include "pipeline/recipe.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <type_traits>

#include "io/settings.h"
#include "test_support.h"

namespace embedtune::pipeline {
namespace {

using ::testing::AllOf;
using testing::error_of;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::ScratchDir;

// A value of the field's type that differs from `default_value`.
template <class T>
T other_value(const T& default_value, size_t salt) {
  if constexpr (std::is_same_v<T, std::string>) {
    return default_value + "x, \"y\": z #" + std::to_string(salt) + " yes";
  } else if constexpr (std::is_same_v<T, int64_t>) {
    return default_value + 7 + static_cast<int64_t>(salt);
  } else if constexpr (std::is_same_v<T, double>) {
    return default_value * 2 + 0.125 + static_cast<double>(salt);
  } else if constexpr (std::is_same_v<T, bool>) {
    return !default_value;
  } else if constexpr (std::is_same_v<T, std::optional<bool>>) {
    return default_value ? std::optional<bool>() : std::optional<bool>(false);
  } else if constexpr (std::is_same_v<T, std::optional<int64_t>>) {
    return default_value ? std::optional<int64_t>() : std::optional<int64_t>(11 + salt);
  } else if constexpr (std::is_same_v<T, std::optional<double>>) {
    return default_value ? std::optional<double>() : std::optional<double>(0.375 + salt);
  } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
    return {3, 1, static_cast<int64_t>(salt) + 2};
  } else if constexpr (std::is_same_v<T, std::vector<double>>) {
    return {0.25, 1e-7, 3.0};
  } else {
    return {"a,b", "c: d", "[e]"};
  }
}

Recipe every_key_changed() {
  Recipe recipe;
  size_t salt = 0;
  Recipe::for_each(recipe,
                   [&](auto& field, std::string_view, const auto& default_value, std::string_view) {
                     using T = std::decay_t<decltype(field)>;
                     field = other_value(static_cast<T>(default_value), ++salt);
                   });
  return recipe;
}

Recipe load_text(const ScratchDir& dir, const std::string& yaml) {
  return Recipe::load(dir.write("recipe.yaml", yaml));
}

TEST(Recipe, EveryKeyRoundTripsThroughYaml) {
  const Recipe changed = every_key_changed();
  const auto values = io::setting_values(changed);
  ASSERT_EQ(values.size(), Recipe::keys().size());
  // Every key really differs from its default, so a key the writer drops cannot pass unseen.
  EXPECT_EQ(io::setting_values(changed, /*only_changed=*/true).size(), values.size());

  ScratchDir dir;
  const std::string yaml = changed.to_yaml();
  const Recipe loaded = load_text(dir, yaml);
  EXPECT_EQ(io::setting_values(loaded), values) << yaml;
  EXPECT_EQ(loaded.to_yaml(), yaml);
}

TEST(Recipe, AllDefaultsRoundTripIncludingEmptySections) {
  ScratchDir dir;
  const Recipe defaults;
  const Recipe loaded = load_text(dir, defaults.to_yaml());
  EXPECT_EQ(io::setting_values(loaded), io::setting_values(defaults));
  // A section written with nothing under it is accepted as empty.
  const Recipe bare = load_text(dir, "model: m\ntraining:\nevaluation:\n");
  EXPECT_EQ(bare.model, "m");
}

TEST(Recipe, ValuesAreSpelledAsTrainingArgumentsSpellThem) {
  ScratchDir dir;
  const Recipe recipe = load_text(dir,
                                  "data:\n  skip_invalid: on\ntraining:\n  bf16: on\n"
                                  "  tf32: Yes\n  greater_is_better: auto\n");
  EXPECT_TRUE(recipe.data.skip_invalid);
  EXPECT_TRUE(recipe.training.bf16);
  EXPECT_TRUE(recipe.training.tf32);
  EXPECT_FALSE(recipe.training.greater_is_better.has_value());
  training::TrainingArguments args;
  args.load_yaml(dir.write("args.yaml", "bf16: on\ntf32: Yes\n"));
  EXPECT_EQ(args.bf16, recipe.training.bf16);
  EXPECT_EQ(args.tf32, recipe.training.tf32);
}

TEST(Recipe, ListItemsKeepTheirCommas) {
  ScratchDir dir;
  const Recipe recipe = load_text(
      dir, "training:\n  train_columns: [\"question, long\", answer]\ndims: [384, 128]\n");
  EXPECT_EQ(recipe.training.train_columns, (std::vector<std::string>{"question, long", "answer"}));
  EXPECT_EQ(recipe.dims, (std::vector<int64_t>{384, 128}));
}

TEST(Recipe, SetOverridesWithTheSameSpellings) {
  Recipe recipe;
  recipe.set("training.learning_rate=3e-5");
  recipe.set("dims=384,128");
  recipe.set("data.skip_invalid=on");
  recipe.set("evaluation.query_prompt=query: ");
  recipe.set("evaluation.score-functions=[cosine, dot]");
  EXPECT_EQ(recipe.training.learning_rate, 3e-5);
  EXPECT_EQ(recipe.dims, (std::vector<int64_t>{384, 128}));
  EXPECT_TRUE(recipe.data.skip_invalid);
  EXPECT_EQ(recipe.evaluation.query_prompt, "query: ");
  EXPECT_EQ(recipe.evaluation.score_functions, (std::vector<std::string>{"cosine", "dot"}));
}

TEST(Recipe, UnknownDerivedAndMistypedKeysAreNamed) {
  ScratchDir dir;
  EXPECT_THAT(error_of([&] { load_text(dir, "training:\n  learning_rte: 1e-5\n"); }),
              HasSubstr("recipe.yaml:2: unknown key 'training.learning_rte'; did you mean "
                        "'training.learning_rate'?"));
  EXPECT_THAT(error_of([&] { load_text(dir, "epochs: 2\n"); }),
              HasSubstr("recipe.yaml:1: unknown key 'epochs'; did you mean "
                        "'training.num_train_epochs'?"));
  EXPECT_THAT(error_of([&] { load_text(dir, "training:\n  per_device_eval_batch_size: 8\n"); }),
              HasSubstr("training.per_device_eval_batch_size is set by the run itself (from "
                        "evaluation.batch_size)"));
  EXPECT_THAT(error_of([&] { load_text(dir, "data:\n  seed: many\n"); }),
              HasSubstr("recipe.yaml:2: data.seed: expected an integer, found 'many'"));
  EXPECT_THAT(error_of([&] { load_text(dir, "data: 3\n"); }),
              HasSubstr("data: expected a mapping of data settings"));
  EXPECT_THAT(error_of([&] { load_text(dir, "model: a\nmodel: b\n"); }),
              HasSubstr("key 'model' is given twice"));
  EXPECT_THAT(error_of([&] { load_text(dir, "dims: [1, [2]]\n"); }),
              HasSubstr("dims: expected a flat list"));
  EXPECT_THAT(error_of([&] { load_text(dir, "model: [unclosed\n"); }), HasSubstr("invalid YAML"));
  // Bytes that are not UTF-8 would pass through into the values and not write back the same
  // (found by fuzz_recipe: fuzz/regressions/recipe/invalid-utf8-in-name.yaml).
  EXPECT_THAT(error_of([&] { load_text(dir, "model: m\nname: caf\xC1\n"); }),
              HasSubstr("recipe.yaml:2: expected UTF-8 text, found the byte 0xC1; save the file "
                        "as UTF-8"));
  // yaml-cpp puts the bad escape's raw character in its message (found by fuzz_recipe:
  // fuzz/regressions/recipe/yaml-escape-newline.yaml); it is written as \xNN.
  EXPECT_THAT(error_of([&] { load_text(dir, "model: \"a\\\x01\"\n"); }),
              HasSubstr("unknown escape character: \\x01; fix the syntax"));
  EXPECT_THAT(error_of([&] { load_text(dir, "model: \"a\\\x1f\"\n"); }), Not(HasSubstr("\x1f")));
  // A quoted key may hold a newline (fuzz/regressions/recipe/key-with-newline.yaml); every Error
  // writes control characters as \xNN.
  EXPECT_THAT(error_of([&] { load_text(dir, "\"lr\\nx\": 1\n"); }),
              AllOf(HasSubstr("unknown key 'lr\\x0ax'"), Not(HasSubstr("\n"))));
  Recipe recipe;
  EXPECT_THAT(error_of([&] { recipe.set("training.model=x"); }),
              HasSubstr("training.model is set by the run itself"));
  EXPECT_THAT(error_of([&] { recipe.set("dims"); }), HasSubstr("expected key=value"));
}

// A recipe on the 64-d test model with one prepared row in each split, and no dims.
Recipe recipe_on_the_mean_model(ScratchDir& dir) {
  const std::string row = "{\"id\": 0, \"anchor\": \"a question\", \"positive\": \"a passage\"}\n";
  Recipe recipe;
  recipe.model = testing::required_env("EMBEDTUNE_TESTDATA") + "/models/mean";
  recipe.output = (dir.path() / "run").string();
  recipe.data_train = dir.write("train.jsonl", row).string();
  recipe.data_test = dir.write("test.jsonl", row).string();
  return recipe;
}

TEST(Recipe, DimsLeftOutAreTheModelsAsEvaluatePicksThem) {
  ScratchDir dir;
  Recipe recipe = recipe_on_the_mean_model(dir);
  recipe.validate();
  EXPECT_EQ(recipe.dims, (std::vector<int64_t>{64}));
  EXPECT_EQ(recipe.training.matryoshka_dims, (std::vector<int64_t>{64}));
  EXPECT_THAT(recipe.to_yaml(), HasSubstr("dims: [64]"));  // the run records what it used
}

TEST(Recipe, DimsOutsideTheModelNameTheValue) {
  ScratchDir dir;
  const Recipe recipe = recipe_on_the_mean_model(dir);
  for (const auto& [dims, found] : std::vector<std::pair<std::vector<int64_t>, int64_t>>{
           {{32, 100}, 100}, {{64, 0}, 0}, {{-8, 32}, -8}}) {
    Recipe r = recipe;
    r.dims = dims;
    EXPECT_EQ(error_of([&] { r.validate(); }),
              fmt::format("recipe: dims: expected dimensions in 1..64 (the embedding size of {}), "
                          "found {}; drop it, or leave dims out for the model's dimension and its "
                          "halvings",
                          recipe.model, found));
  }
}

}  // namespace
}  // namespace embedtune::pipeline
