// Pooling: config reading/writing and the packed-token reductions.
#include "model/pooling.h"

#include <ATen/ATen.h>

#include <array>
#include <nlohmann/json.hpp>

#include "io/error.h"
#include "io/json.h"

namespace embedtune {
namespace {

// sentence-transformers' legacy flag -> mode, in its concatenation order.
constexpr std::array<std::pair<const char*, const char*>, 6> kLegacyFlags{{
    {"pooling_mode_cls_token", "cls"},
    {"pooling_mode_max_tokens", "max"},
    {"pooling_mode_mean_tokens", "mean"},
    {"pooling_mode_mean_sqrt_len_tokens", "mean_sqrt_len_tokens"},
    {"pooling_mode_weightedmean_tokens", "weightedmean"},
    {"pooling_mode_lasttoken", "lasttoken"},
}};

bool known_mode(const std::string& mode) {
  for (const auto& [flag, name] : kLegacyFlags) {
    if (mode == name) return true;
  }
  return false;
}

}  // namespace

PoolingConfig PoolingConfig::load(const std::filesystem::path& path) {
  const nlohmann::json json = io::read_json_file(path);
  const std::string where = path.string();
  if (!json.is_object()) fail("{}: expected a JSON object", where);
  PoolingConfig config;
  config.modes.clear();
  try {
    if (json.contains("pooling_mode")) {
      const auto& mode = json.at("pooling_mode");
      if (mode.is_string()) {
        config.modes.push_back(mode.get<std::string>());
      } else {
        config.modes = mode.get<std::vector<std::string>>();
      }
    } else {
      for (const auto& [flag, name] : kLegacyFlags) {
        if (json.value(flag, false)) config.modes.emplace_back(name);
      }
    }
    if (config.modes.empty()) config.modes.emplace_back("mean");  // as sentence-transformers
    for (const char* key : {"embedding_dimension", "word_embedding_dimension"}) {
      if (!json.contains(key)) continue;
      const std::optional<int64_t> dimension = io::json_int64(json.at(key));
      if (!dimension) {
        fail("{}: {} must be an integer, found {}; fix the file", where, key,
             io::json_preview(json.at(key)));
      }
      config.embedding_dimension = *dimension;
      break;
    }
    config.include_prompt = json.value("include_prompt", true);
  } catch (const nlohmann::json::exception& e) {
    fail("{}: a pooling key has the wrong type ({}); expected pooling_mode as a string or list",
         where, e.what());
  }
  for (const auto& mode : config.modes) {
    if (!known_mode(mode)) {
      fail(
          "{}: unknown pooling mode '{}'; expected one of cls, max, mean, mean_sqrt_len_tokens, "
          "weightedmean, lasttoken",
          where, mode);
    }
  }
  return config;
}

nlohmann::json PoolingConfig::to_json() const {
  nlohmann::json json;
  json["word_embedding_dimension"] = embedding_dimension;
  for (const auto& [flag, name] : kLegacyFlags) {
    json[flag] = std::find(modes.begin(), modes.end(), name) != modes.end();
  }
  json["include_prompt"] = include_prompt;
  return json;
}

at::Tensor pool(const PoolingConfig& config, const at::Tensor& tokens, const PackedBatch& batch,
                int64_t prompt_length) {
  const int64_t b = batch.batch_size();
  const int64_t h = tokens.size(1);
  const at::Tensor starts = batch.offsets.slice(0, 0, b), ends = batch.offsets.slice(0, 1);
  // The tokens pooled: all, or those after the prompt. `kept` is (N, 1) in the tokens' type.
  const bool skip = prompt_length > 0;
  at::Tensor kept, pooled = tokens;
  if (skip) {
    kept = batch.position_ids.ge(prompt_length).to(tokens.scalar_type()).unsqueeze(1);
    pooled = tokens * kept;
  }
  std::vector<at::Tensor> outputs;
  at::Tensor lengths;  // (B, 1), float, made once for the mean variants
  auto get_lengths = [&]() {
    if (!lengths.defined()) {
      lengths = skip ? at::zeros({b, 1}, tokens.options()).index_add(0, batch.segment_ids, kept)
                     : (ends - starts).to(tokens.scalar_type()).unsqueeze(1);
    }
    return lengths;
  };
  auto segment_sum = [&](const at::Tensor& values) {
    return at::zeros({b, h}, values.options()).index_add(0, batch.segment_ids, values);
  };
  // Sequences with tokens after the prompt: (B) bool.
  auto longer = [&]() { return (ends - starts).gt(prompt_length); };
  for (const auto& mode : config.modes) {
    if (mode == "cls") {
      at::Tensor first = starts;
      if (skip) first = starts + at::where(longer(), prompt_length, 0);
      outputs.push_back(tokens.index_select(0, first));
    } else if (mode == "lasttoken") {
      at::Tensor last = tokens.index_select(0, ends - 1);
      if (skip) last = last * longer().to(tokens.scalar_type()).unsqueeze(1);
      outputs.push_back(last);
    } else if (mode == "max") {
      const at::Tensor values =
          skip ? tokens.masked_fill(kept.eq(0), -std::numeric_limits<float>::infinity()) : tokens;
      outputs.push_back(at::full({b, h}, -std::numeric_limits<float>::infinity(), tokens.options())
                            .index_reduce(0, batch.segment_ids, values, "amax"));
    } else if (mode == "mean") {
      outputs.push_back(segment_sum(pooled) / get_lengths().clamp_min(1e-9));
    } else if (mode == "mean_sqrt_len_tokens") {
      outputs.push_back(segment_sum(pooled) / get_lengths().clamp_min(1e-9).sqrt());
    } else if (mode == "weightedmean") {
      // Weights 1..len within each sequence, as sentence-transformers with right padding.
      at::Tensor weights = (batch.position_ids + 1).to(tokens.scalar_type()).unsqueeze(1);
      if (skip) weights = weights * kept;
      at::Tensor weight_sums =
          at::zeros({b, 1}, tokens.options()).index_add(0, batch.segment_ids, weights);
      outputs.push_back(segment_sum(tokens * weights) / weight_sums.clamp_min(1e-9));
    } else {
      TORCH_INTERNAL_ASSERT(false, "unknown pooling mode ", mode);
    }
  }
  return outputs.size() == 1 ? outputs[0] : at::cat(outputs, 1);
}

}  // namespace embedtune
