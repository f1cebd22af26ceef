// load_encoder: config.json's model_type -> the architecture that runs it.
#include "model/architectures/encoder.h"

#include <fmt/ranges.h>

#include <array>
#include <nlohmann/json.hpp>
#include <string_view>

#include "io/error.h"
#include "model/architectures/bert.h"
#include "model/architectures/modernbert.h"
#include "model/architectures/mpnet.h"
#include "model/architectures/qwen3.h"
#include "model/architectures/xlm_roberta.h"
#include "model/weights.h"

namespace embedtune {
namespace fs = std::filesystem;
namespace {

using Factory = std::shared_ptr<Encoder> (*)(const nlohmann::json& config,
                                             const fs::path& config_path,
                                             const fs::path& weights_path,
                                             const WeightShapes& shapes);

struct ModelType {
  std::string_view name;  // config.json "model_type"
  Factory make;
};

// Every supported model type: one line each.
constexpr std::array<ModelType, 6> kModelTypes{{
    {"bert", make_bert},
    {"roberta", make_xlm_roberta},
    {"xlm-roberta", make_xlm_roberta},
    {"mpnet", make_mpnet},
    {"modernbert", make_modernbert},
    {"qwen3", make_qwen3},
}};

}  // namespace

void expect_weight_shape(const WeightShapes& shapes, const std::string& name,
                         const std::vector<int64_t>& shape, const char* keys,
                         const fs::path& config_path, const fs::path& weights_path) {
  const auto it = shapes.find(name);
  if (it == shapes.end()) {
    fail(
        "{}: tensor '{}' is missing, but {} says the model has it ({}); use the config.json "
        "that came with these weights",
        weights_path.string(), name, config_path.string(), keys);
  }
  if (it->second != shape) {
    fail(
        "{}: {} imply {} of shape [{}], but {} holds [{}]; use the config.json that came with "
        "these weights",
        config_path.string(), keys, name, fmt::join(shape, ", "), weights_path.string(),
        fmt::join(it->second, ", "));
  }
}

Embedding token_embedding(int64_t vocab_size, int64_t hidden_size,
                          std::optional<int64_t> padding_idx) {
  return Embedding(vocab_size, hidden_size, padding_idx);
}

void check_pad_token_id(std::optional<int64_t> pad_token_id, int64_t vocab_size,
                        const std::string& where) {
  if (pad_token_id && (*pad_token_id < 0 || *pad_token_id >= vocab_size)) {
    fail("{}: pad_token_id {} is not a token id below vocab_size {}; fix the config", where,
         *pad_token_id, vocab_size);
  }
}

std::vector<std::string> supported_model_types() {
  std::vector<std::string> names;
  for (const auto& type : kModelTypes) names.emplace_back(type.name);
  return names;
}

std::shared_ptr<Encoder> load_encoder(const nlohmann::json& config, const fs::path& config_path,
                                      const fs::path& weights_path) {
  if (!config.is_object()) {
    fail("{}: expected a JSON object, found {}", config_path.string(), config.type_name());
  }
  // No model_type: BERT, as embedtune read such folders before it knew other architectures.
  const auto it = config.find("model_type");
  std::string model_type = "bert";
  if (it != config.end() && !it->is_null())
    model_type = it->is_string() ? it->get<std::string>() : it->dump();
  const ModelType* found = nullptr;
  for (const auto& type : kModelTypes) {
    if (type.name == model_type) found = &type;
  }
  if (found == nullptr) {
    fail("{}: model_type '{}' is not supported; embedtune runs {}", config_path.string(),
         model_type, fmt::join(supported_model_types(), ", "));
  }
  if (!fs::exists(weights_path)) {
    fail(
        "{}: not found{}; embedtune reads safetensors weights (convert with transformers: "
        "save_pretrained(..., safe_serialization=True))",
        weights_path.string(),
        fs::exists(weights_path.parent_path() / "pytorch_model.bin")
            ? " (only pytorch_model.bin is there)"
            : "");
  }
  std::shared_ptr<Encoder> encoder =
      found->make(config, config_path, weights_path, weight_shapes(weights_path));
  load_weights(*encoder, weights_path);
  encoder->eval();
  return encoder;
}

}  // namespace embedtune
