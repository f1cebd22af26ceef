// BertConfig: the fields of a Hugging Face BERT config.json that the encoder needs, validated.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json_fwd.hpp>
#include <string>

namespace embedtune {

struct BertConfig {
  int64_t vocab_size = 30522;
  int64_t hidden_size = 768;
  int64_t num_hidden_layers = 12;
  int64_t num_attention_heads = 12;
  int64_t intermediate_size = 3072;
  std::string hidden_act = "gelu";
  double hidden_dropout_prob = 0.1;
  double attention_probs_dropout_prob = 0.1;
  int64_t max_position_embeddings = 512;
  int64_t type_vocab_size = 2;
  double layer_norm_eps = 1e-12;
  int64_t pad_token_id = 0;
  std::string model_type = "bert";

  int64_t head_dim() const { return hidden_size / num_attention_heads; }

  // Reads and validates `path` (config.json). Throws embedtune::Error naming the file and key for
  // a missing or malformed key, a model_type other than bert, an activation other than gelu, or
  // sizes that do not fit (hidden_size not divisible by num_attention_heads, non-positive sizes).
  static BertConfig load(const std::filesystem::path& path);
  static BertConfig from_json(const nlohmann::json& json, const std::string& where);
};

}  // namespace embedtune
