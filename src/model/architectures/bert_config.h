// BertConfig: the fields of a Hugging Face BERT config.json that the encoder needs, validated.
// RoBERTa, XLM-RoBERTa and MPNet configs have the same fields (their own defaults aside).
#pragma once

#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
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
  // The padding_idx of the word embeddings: pad_token_id, none when config.json sets it to null.
  std::optional<int64_t> word_padding_idx = 0;
  std::string model_type = "bert";

  int64_t head_dim() const { return hidden_size / num_attention_heads; }

  // Reads and validates config.json (`where` names it in errors). Keys that are absent keep the
  // values in `defaults` (the architecture's transformers defaults). Throws embedtune::Error
  // naming the file and key for a malformed key, an activation other than gelu, or sizes that do
  // not fit (hidden_size not divisible by num_attention_heads, non-positive sizes). model_type
  // is read, not checked: load_encoder() chose the architecture from it.
  static BertConfig from_json(const nlohmann::json& json, const std::string& where,
                              const BertConfig& defaults);
  static BertConfig from_json(const nlohmann::json& json, const std::string& where);
};

}  // namespace embedtune
