// Recipe: reading, overriding and writing a run's YAML recipe, all through Recipe::for_each and
// io/settings.h. Plain C++ (validate(), which loads the model, is in recipe_validate.cc).
#include "pipeline/recipe.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <functional>

#include "io/error.h"
#include "io/settings.h"

namespace embedtune::pipeline {
namespace fs = std::filesystem;
namespace {

// Training keys the run fills itself, and where from; a recipe setting them would be
// overwritten silently, so setting one is an error naming the key to set instead.
struct DerivedKey {
  const char* key;
  const char* from;
};
constexpr DerivedKey kDerivedTrainingKeys[] = {
    {"model", "model"},
    {"train", "the run folder (data.input or data.train)"},
    {"eval", "the run folder (data.input or data.test)"},
    {"eval_corpus", "the run folder (its train.jsonl)"},
    {"output_dir", "output"},
    {"matryoshka_dims", "dims"},
    {"per_device_eval_batch_size", "evaluation.batch_size"},
    {"query_prompt", "evaluation.query_prompt"},
    {"query_prompt_name", "evaluation.query_prompt_name"},
    {"corpus_prompt", "evaluation.corpus_prompt"},
    {"corpus_prompt_name", "evaluation.corpus_prompt_name"},
};

const DerivedKey* find_derived(std::string_view key) {
  for (const DerivedKey& derived : kDerivedTrainingKeys) {
    if (key == derived.key) return &derived;
  }
  return nullptr;
}

// Sets dotted `key` from `raw`; throws Error "WHERE: ..." naming the nearest key when the
// recipe has no such key.
void set_key(Recipe& recipe, const std::string& key, const io::RawSetting& raw,
             std::string_view where) {
  if (key.rfind("training.", 0) == 0) {
    if (const DerivedKey* derived = find_derived(std::string_view(key).substr(9))) {
      fail("{}: {} is set by the run itself (from {}); remove it from the recipe", where, key,
           derived->from);
    }
  }
  if (key.rfind("mine.", 0) == 0 && key != "mine.enabled") recipe.mine_section_given = true;
  if (!io::set_setting(recipe, key, raw, where)) {
    fail("{}: unknown key '{}'{}", where, key, io::did_you_mean(key, Recipe::keys()));
  }
}

}  // namespace

Recipe::Recipe() { io::reset_settings(*this); }

bool Recipe::is_derived_training_key(std::string_view key) { return find_derived(key) != nullptr; }

const std::vector<std::string>& Recipe::keys() {
  static const std::vector<std::string> list = io::setting_keys<Recipe>();
  return list;
}

void Recipe::set(std::string_view assignment, std::string_view origin) {
  const auto eq = assignment.find('=');
  if (eq == std::string_view::npos) {
    fail("{}: expected key=value (e.g. training.learning_rate=3e-5), found '{}'", origin,
         assignment);
  }
  std::string key(assignment.substr(0, eq));
  key.erase(0, key.find_first_not_of(" \t"));
  key.erase(key.find_last_not_of(" \t") + 1);
  set_key(*this, io::normalize_setting_key(key), io::raw_from_text(assignment.substr(eq + 1)),
          origin);
}

Recipe Recipe::load(const fs::path& path) {
  if (!fs::exists(path))
    fail("{}: recipe not found; pass a YAML recipe such as recipes/demo.yaml", path.string());
  Recipe recipe;
  // Derived training keys are not among keys(); they are named by set_key's message instead of
  // "unknown key".
  std::vector<std::string> accepted = keys();
  for (const DerivedKey& derived : kDerivedTrainingKeys)
    accepted.push_back(std::string("training.") + derived.key);
  io::read_yaml_settings(path, accepted,
                         [&](const std::string& key, const io::RawSetting& raw,
                             const std::string& where) { set_key(recipe, key, raw, where); });
  return recipe;
}

std::string Recipe::to_yaml() const { return io::settings_to_yaml(*this); }

nlohmann::json Recipe::settings_json() const {
  nlohmann::ordered_json json;
  for (const auto& [key, value] : io::setting_values(*this)) json[key] = value;
  return nlohmann::json::parse(json.dump());
}

}  // namespace embedtune::pipeline
