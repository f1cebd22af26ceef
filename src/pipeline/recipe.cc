// Recipe: reading, overriding, validating and writing a run's YAML recipe.
#include "pipeline/recipe.h"

#include <ATen/Context.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <functional>
#include <map>

#include "io/error.h"
#include "model/sentence_transformer.h"

namespace embedtune::pipeline {
namespace fs = std::filesystem;
namespace {

std::string trim(std::string_view text) {
  const auto begin = text.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return {};
  const auto end = text.find_last_not_of(" \t");
  return std::string(text.substr(begin, end - begin + 1));
}

int64_t parse_int(std::string_view origin, std::string_view key, std::string_view text) {
  const std::string t = trim(text);
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), value);
  if (ec != std::errc() || ptr != t.data() + t.size() || t.empty()) {
    fail("{}: {} expects a whole number, found '{}'", origin, key, text);
  }
  return value;
}

bool parse_bool(std::string_view origin, std::string_view key, std::string_view text) {
  const std::string t = trim(text);
  if (t == "true" || t == "yes" || t == "1" || t == "True") return true;
  if (t == "false" || t == "no" || t == "0" || t == "False") return false;
  fail("{}: {} expects true or false, found '{}'", origin, key, text);
}

std::vector<int64_t> parse_int_list(std::string_view origin, std::string_view key,
                                    std::string_view text) {
  std::string t = trim(text);
  if (t.size() >= 2 && t.front() == '[' && t.back() == ']') t = t.substr(1, t.size() - 2);
  std::vector<int64_t> values;
  size_t start = 0;
  while (start <= t.size()) {
    size_t end = t.find(',', start);
    if (end == std::string::npos) end = t.size();
    const std::string item = trim(std::string_view(t).substr(start, end - start));
    if (!item.empty()) values.push_back(parse_int(origin, key, item));
    start = end + 1;
  }
  return values;
}

// The recipe's own keys (not training.*): dotted name -> how to set it from text.
using Setter = std::function<void(Recipe&, std::string_view origin, std::string_view text)>;
const std::map<std::string, Setter>& own_keys() {
  static const std::map<std::string, Setter> keys = {
      {"name", [](Recipe& r, auto, auto t) { r.name = std::string(t); }},
      {"model", [](Recipe& r, auto, auto t) { r.model = std::string(t); }},
      {"output", [](Recipe& r, auto, auto t) { r.output = std::string(t); }},
      {"dims", [](Recipe& r, auto o, auto t) { r.dims = parse_int_list(o, "dims", t); }},
      {"data.input", [](Recipe& r, auto, auto t) { r.data_input = std::string(t); }},
      {"data.train", [](Recipe& r, auto, auto t) { r.data_train = std::string(t); }},
      {"data.test", [](Recipe& r, auto, auto t) { r.data_test = std::string(t); }},
      {"data.format", [](Recipe& r, auto, auto t) { r.data_format = std::string(t); }},
      {"data.anchor_column", [](Recipe& r, auto, auto t) { r.anchor_column = std::string(t); }},
      {"data.positive_column", [](Recipe& r, auto, auto t) { r.positive_column = std::string(t); }},
      {"data.negative_column", [](Recipe& r, auto, auto t) { r.negative_column = std::string(t); }},
      {"data.test_size", [](Recipe& r, auto, auto t) { r.test_size = trim(t); }},
      {"data.seed", [](Recipe& r, auto o, auto t) { r.data_seed = parse_int(o, "data.seed", t); }},
      {"data.skip_invalid",
       [](Recipe& r, auto o, auto t) { r.skip_invalid = parse_bool(o, "data.skip_invalid", t); }},
      {"evaluation.batch_size",
       [](Recipe& r, auto o, auto t) {
         r.eval_batch_size = parse_int(o, "evaluation.batch_size", t);
       }},
      {"evaluation.query_prompt", [](Recipe& r, auto, auto t) { r.query_prompt = std::string(t); }},
      {"evaluation.corpus_prompt",
       [](Recipe& r, auto, auto t) { r.corpus_prompt = std::string(t); }},
  };
  return keys;
}

// Keys the workflow fills itself; a recipe setting them would be overwritten silently.
const std::vector<std::string> kDerivedTrainingKeys{"model", "train", "eval", "output_dir",
                                                    "matryoshka_dims"};

std::string scalar_text(const YAML::Node& node) {
  if (node.IsNull()) return {};
  if (node.IsScalar()) return node.Scalar();
  std::vector<std::string> items;
  for (const auto& item : node) items.push_back(item.IsScalar() ? item.Scalar() : YAML::Dump(item));
  return fmt::format("{}", fmt::join(items, ","));
}

void apply_node(Recipe& recipe, const YAML::Node& node, const std::string& prefix,
                const fs::path& file) {
  for (const auto& entry : node) {
    const std::string key = prefix + entry.first.as<std::string>();
    const YAML::Node& value = entry.second;
    const std::string origin = fmt::format("{}:{}", file.string(), entry.first.Mark().line + 1);
    if (value.IsMap()) {
      if (key != "data" && key != "evaluation" && key != "training") {
        fail("{}: '{}' is not a section; the sections are data, evaluation and training", origin,
             key);
      }
      apply_node(recipe, value, key + ".", file);
      continue;
    }
    recipe.set(key + "=" + scalar_text(value), origin);
  }
}

}  // namespace

std::vector<std::string> Recipe::keys() {
  std::vector<std::string> keys;
  for (const auto& [key, setter] : own_keys()) keys.push_back(key);
  for (const auto& key : training::TrainingArguments::keys()) {
    if (std::find(kDerivedTrainingKeys.begin(), kDerivedTrainingKeys.end(), key) ==
        kDerivedTrainingKeys.end()) {
      keys.push_back("training." + key);
    }
  }
  return keys;
}

void Recipe::set(std::string_view assignment, std::string_view origin) {
  const auto eq = assignment.find('=');
  if (eq == std::string_view::npos) {
    fail("{}: expected key=value (e.g. training.learning_rate=3e-5), found '{}'", origin,
         assignment);
  }
  std::string key = trim(assignment.substr(0, eq));
  std::replace(key.begin(), key.end(), '-', '_');
  const std::string_view text = assignment.substr(eq + 1);
  if (auto it = own_keys().find(key); it != own_keys().end()) {
    it->second(*this, origin, text);
    return;
  }
  if (key.rfind("training.", 0) == 0) {
    const std::string inner = key.substr(9);
    if (std::find(kDerivedTrainingKeys.begin(), kDerivedTrainingKeys.end(), inner) !=
        kDerivedTrainingKeys.end()) {
      fail("{}: training.{} is set by the run itself (from {}); remove it from the recipe", origin,
           inner,
           inner == "matryoshka_dims" ? "dims"
           : inner == "model"         ? "model"
                                      : "the run folder");
    }
    const auto& training_keys = training::TrainingArguments::keys();
    if (std::find(training_keys.begin(), training_keys.end(), inner) != training_keys.end()) {
      training.set(inner, text, origin);
      return;
    }
  }
  fail("{}: unknown key '{}'; did you mean '{}'?", origin, key, training::nearest_key(key, keys()));
}

Recipe Recipe::load(const fs::path& path) {
  if (!fs::exists(path))
    fail("{}: recipe not found; pass a YAML recipe such as recipes/demo.yaml", path.string());
  YAML::Node root;
  try {
    root = YAML::LoadFile(path.string());
  } catch (const YAML::Exception& e) {
    fail("{}:{}: malformed YAML: {}", path.string(), e.mark.line + 1, e.msg);
  }
  if (!root.IsMap())
    fail("{}: a recipe is a YAML mapping of keys (model, output, data, dims, ...)", path.string());
  Recipe recipe;
  try {
    apply_node(recipe, root, "", path);
  } catch (const YAML::Exception& e) {
    fail("{}:{}: {}", path.string(), e.mark.line + 1, e.msg);
  }
  return recipe;
}

void Recipe::validate() {
  if (model.empty()) fail("recipe: 'model' is missing; name a model folder or a Hugging Face id");
  if (output.empty()) fail("recipe: 'output' is missing; name the run folder (e.g. runs/demo)");
  const bool raw = !data_input.empty();
  const bool prepared = !data_train.empty() || !data_test.empty();
  if (raw == prepared) {
    fail(
        "recipe: give either data.input (a raw dataset) or data.train and data.test (prepare's "
        "splits)");
  }
  for (const auto& [key, path] : {std::pair{"data.input", data_input},
                                  {"data.train", data_train},
                                  {"data.test", data_test}}) {
    if (!path.empty() && !fs::exists(path)) {
      fail(
          "recipe: {} '{}' does not exist; check the path (relative paths start from the current "
          "folder)",
          key, path.string());
    }
  }
  if (prepared && (data_train.empty() || data_test.empty()))
    fail("recipe: data.train and data.test go together");
  if (eval_batch_size < 1)
    fail("recipe: evaluation.batch_size must be at least 1, found {}", eval_batch_size);
  if (dims.empty())
    fail("recipe: 'dims' is missing; list the Matryoshka dimensions, e.g. [384, 256, 128, 64, 32]");
  std::sort(dims.begin(), dims.end(), std::greater<>());
  if (std::adjacent_find(dims.begin(), dims.end()) != dims.end())
    fail("recipe: 'dims' lists a dimension twice");
  const SentenceTransformer st = SentenceTransformer::load(model);
  if (dims.front() > st.dimension() || dims.back() < 1) {
    fail("recipe: dims {} do not fit the model: its embedding dimension is {}; use dims in 1..{}",
         fmt::join(dims, ","), st.dimension(), st.dimension());
  }
  training.model = model;
  training.output_dir = (output / "model").string();
  training.train = (output / "data" / "train.jsonl").string();
  training.eval = (output / "data" / "test.jsonl").string();
  training.matryoshka_dims = dims;
  training.validate();
  if (c10::Device(training.device).is_cuda() && !at::hasCUDA()) {
    fail(
        "recipe: training.device is '{}' but this build or machine has no CUDA; run on a GPU "
        "machine or "
        "use --set training.device=cpu",
        training.device);
  }
}

std::string Recipe::to_yaml() const {
  std::string out = fmt::format("name: {}\nmodel: {}\noutput: {}\ndims: [{}]\n",
                                YAML::Dump(YAML::Node(name)), YAML::Dump(YAML::Node(model)),
                                YAML::Dump(YAML::Node(output.string())), fmt::join(dims, ", "));
  auto line = [](const char* key, const std::string& value) {
    return fmt::format("  {}: {}\n", key, YAML::Dump(YAML::Node(value)));
  };
  out += "data:\n";
  if (!data_input.empty()) out += line("input", data_input.string());
  if (!data_train.empty())
    out += line("train", data_train.string()) + line("test", data_test.string());
  if (!data_format.empty()) out += line("format", data_format);
  out += line("anchor_column", anchor_column) + line("positive_column", positive_column);
  if (!negative_column.empty()) out += line("negative_column", negative_column);
  out += line("test_size", test_size) +
         fmt::format("  seed: {}\n  skip_invalid: {}\n", data_seed, skip_invalid);
  out += fmt::format("evaluation:\n  batch_size: {}\n", eval_batch_size);
  out += line("query_prompt", query_prompt) + line("corpus_prompt", corpus_prompt);
  out += "training:\n";
  for (const auto& [key, value] : training.non_defaults()) {
    if (std::find(kDerivedTrainingKeys.begin(), kDerivedTrainingKeys.end(), key) !=
        kDerivedTrainingKeys.end())
      continue;
    out += fmt::format("  {}: {}\n", key, value);
  }
  return out;
}

nlohmann::json Recipe::settings_json() const {
  nlohmann::ordered_json json;
  json["name"] = name;
  json["model"] = model;
  json["output"] = output.string();
  json["dims"] = fmt::format("{}", fmt::join(dims, ","));
  if (!data_input.empty()) json["data.input"] = data_input.string();
  if (!data_train.empty())
    json["data.train"] = data_train.string(), json["data.test"] = data_test.string();
  json["data.anchor_column"] = anchor_column;
  json["data.positive_column"] = positive_column;
  if (!negative_column.empty()) json["data.negative_column"] = negative_column;
  json["data.test_size"] = test_size;
  json["data.seed"] = data_seed;
  json["evaluation.batch_size"] = eval_batch_size;
  if (!query_prompt.empty()) json["evaluation.query_prompt"] = query_prompt;
  if (!corpus_prompt.empty()) json["evaluation.corpus_prompt"] = corpus_prompt;
  for (const auto& [key, value] : training.all_values()) json["training." + key] = value;
  return nlohmann::json::parse(json.dump());
}

}  // namespace embedtune::pipeline
