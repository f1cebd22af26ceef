// Recipe: reading, overriding, validating and writing a run's YAML recipe, all through
// Recipe::for_each and io/settings.h.
#include "pipeline/recipe.h"

#include <ATen/Context.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <functional>

#include "io/error.h"
#include "io/settings.h"
#include "model/sentence_transformer.h"

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
    {"output_dir", "output"},
    {"matryoshka_dims", "dims"},
    {"per_device_eval_batch_size", "evaluation.batch_size"},
    {"query_prompt", "evaluation.query_prompt"},
    {"corpus_prompt", "evaluation.corpus_prompt"},
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
  if (!io::set_setting(recipe, key, raw, where)) {
    fail("{}: unknown key '{}'; did you mean '{}'?", where, key,
         io::nearest_key(key, Recipe::keys()));
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

void Recipe::validate() {
  if (model.empty()) fail("recipe: 'model' is missing; name a model folder or a Hugging Face id");
  if (output.empty()) fail("recipe: 'output' is missing; name the run folder (e.g. runs/demo)");
  const bool raw = !data.input.empty();
  const bool prepared = !data_train.empty() || !data_test.empty();
  if (raw == prepared) {
    fail(
        "recipe: give either data.input (a raw dataset) or data.train and data.test (prepare's "
        "splits)");
  }
  if (prepared && (data_train.empty() || data_test.empty()))
    fail("recipe: data.train and data.test go together");
  for (const auto& [key, path] : {std::pair{"data.input", data.input},
                                  {"data.train", data_train},
                                  {"data.test", data_test}}) {
    if (!path.empty() && !fs::is_regular_file(path)) {
      fail(
          "recipe: {} '{}' is not a file; check the path (relative paths start from the current "
          "folder)",
          key, path);
    }
  }
  if (raw) data.options(fs::path(output) / "data", "recipe", "data.");  // checks the values
  if (dims.empty())
    fail("recipe: 'dims' is missing; list the Matryoshka dimensions, e.g. [384, 256, 128, 64, 32]");
  std::sort(dims.begin(), dims.end(), std::greater<>());
  if (std::adjacent_find(dims.begin(), dims.end()) != dims.end())
    fail("recipe: dims: {} is listed twice; list each dimension once",
         *std::adjacent_find(dims.begin(), dims.end()));
  evaluation.config("recipe", "evaluation.");  // checks the values
  const SentenceTransformer st = SentenceTransformer::load(model);
  if (dims.front() > st.dimension() || dims.back() < 1) {
    fail("recipe: dims {} do not fit the model: its embedding dimension is {}; use dims in 1..{}",
         fmt::join(dims, ","), st.dimension(), st.dimension());
  }
  training.model = model;
  training.output_dir = (fs::path(output) / "model").string();
  training.train = (fs::path(output) / "data" / "train.jsonl").string();
  training.eval = (fs::path(output) / "data" / "test.jsonl").string();
  training.matryoshka_dims = dims;
  training.per_device_eval_batch_size = evaluation.batch_size;
  training.query_prompt = evaluation.query_prompt;
  training.corpus_prompt = evaluation.corpus_prompt;
  training.validate();
  if (c10::Device(training.device).is_cuda() && !at::hasCUDA()) {
    fail(
        "recipe: training.device is '{}' but this build or machine has no CUDA; run on a GPU "
        "machine or use --set training.device=cpu",
        training.device);
  }
}

std::string Recipe::to_yaml() const { return io::settings_to_yaml(*this); }

nlohmann::json Recipe::settings_json() const {
  nlohmann::ordered_json json;
  for (const auto& [key, value] : io::setting_values(*this)) json[key] = value;
  return nlohmann::json::parse(json.dump());
}

}  // namespace embedtune::pipeline
