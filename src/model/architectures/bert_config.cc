// BertConfig: reading and validating config.json.
#include "model/architectures/bert_config.h"

#include <nlohmann/json.hpp>

#include "io/error.h"
#include "model/architectures/config_keys.h"
#include "model/architectures/encoder.h"

namespace embedtune {
BertConfig BertConfig::from_json(const nlohmann::json& json, const std::string& where,
                                 const BertConfig& defaults) {
  if (!json.is_object()) fail("{}: expected a JSON object, found {}", where, json.type_name());
  BertConfig c = defaults;
  read_config_key(json, where, "model_type", c.model_type);
  read_config_key(json, where, "vocab_size", c.vocab_size);
  read_config_key(json, where, "hidden_size", c.hidden_size);
  read_config_key(json, where, "num_hidden_layers", c.num_hidden_layers);
  read_config_key(json, where, "num_attention_heads", c.num_attention_heads);
  read_config_key(json, where, "intermediate_size", c.intermediate_size);
  read_config_key(json, where, "hidden_act", c.hidden_act);
  read_config_key(json, where, "hidden_dropout_prob", c.hidden_dropout_prob);
  read_config_key(json, where, "attention_probs_dropout_prob", c.attention_probs_dropout_prob);
  read_config_key(json, where, "max_position_embeddings", c.max_position_embeddings);
  read_config_key(json, where, "type_vocab_size", c.type_vocab_size);
  read_config_key(json, where, "layer_norm_eps", c.layer_norm_eps);
  read_config_key(json, where, "pad_token_id", c.pad_token_id);
  c.word_padding_idx = c.pad_token_id;
  read_config_key(json, where, "pad_token_id", c.word_padding_idx);  // null: no padding row

  std::string position_embedding_type = "absolute";
  read_config_key(json, where, "position_embedding_type", position_embedding_type);
  if (position_embedding_type != "absolute") {
    fail("{}: position_embedding_type '{}' is not supported; expected \"absolute\"", where,
         position_embedding_type);
  }
  if (c.hidden_act != "gelu") {
    fail("{}: hidden_act '{}' is not supported; expected \"gelu\" (erf GELU, as BERT uses)", where,
         c.hidden_act);
  }
  expect_positive(where, {{"vocab_size", c.vocab_size},
                          {"hidden_size", c.hidden_size},
                          {"num_hidden_layers", c.num_hidden_layers},
                          {"num_attention_heads", c.num_attention_heads},
                          {"intermediate_size", c.intermediate_size},
                          {"max_position_embeddings", c.max_position_embeddings},
                          {"type_vocab_size", c.type_vocab_size}});
  if (c.hidden_size % c.num_attention_heads != 0) {
    fail("{}: hidden_size {} is not a multiple of num_attention_heads {}", where, c.hidden_size,
         c.num_attention_heads);
  }
  if (!(c.layer_norm_eps > 0)) fail("{}: layer_norm_eps must be positive", where);
  check_pad_token_id(c.word_padding_idx, c.vocab_size, where);
  return c;
}

BertConfig BertConfig::from_json(const nlohmann::json& json, const std::string& where) {
  return from_json(json, where, BertConfig{});
}

}  // namespace embedtune
