// ModernBertModel: pre-norm layers with rotary attention, global or sliding-window, on packed
// tokens.
#include "model/architectures/modernbert.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <string>

#include "io/error.h"
#include "model/architectures/config_keys.h"
#include "model/attention.h"
#include "model/dropout.h"

namespace embedtune {
namespace {

// rope_parameters[kind].rope_theta (transformers 5), else the legacy key, else the default.
double rope_theta(const nlohmann::json& json, const std::string& where, const char* kind,
                  const char* legacy_key, double fallback) {
  double theta = fallback;
  read_config_key(json, where, legacy_key, theta);
  const auto params = json.find("rope_parameters");
  if (params != json.end() && params->is_object() && params->contains(kind)) {
    theta = read_rope_theta((*params)[kind], where, std::string("rope_parameters.") + kind, theta);
  }
  if (!(theta > 0)) fail("{}: the {} rope theta must be positive, found {}", where, kind, theta);
  return theta;
}

}  // namespace

ModernBertConfig ModernBertConfig::from_json(const nlohmann::json& json, const std::string& where) {
  if (!json.is_object()) fail("{}: expected a JSON object, found {}", where, json.type_name());
  ModernBertConfig c;
  read_config_key(json, where, "vocab_size", c.vocab_size);
  read_config_key(json, where, "hidden_size", c.hidden_size);
  read_config_key(json, where, "intermediate_size", c.intermediate_size);
  read_config_key(json, where, "num_hidden_layers", c.num_hidden_layers);
  read_config_key(json, where, "num_attention_heads", c.num_attention_heads);
  read_config_key(json, where, "max_position_embeddings", c.max_position_embeddings);
  read_config_key(json, where, "norm_eps", c.norm_eps);
  read_config_key(json, where, "norm_bias", c.norm_bias);
  read_config_key(json, where, "attention_bias", c.attention_bias);
  read_config_key(json, where, "mlp_bias", c.mlp_bias);
  read_config_key(json, where, "attention_dropout", c.attention_dropout);
  read_config_key(json, where, "embedding_dropout", c.embedding_dropout);
  read_config_key(json, where, "mlp_dropout", c.mlp_dropout);
  read_config_key(json, where, "local_attention", c.local_attention);
  read_config_key(json, where, "pad_token_id", c.pad_token_id);
  expect_activation(json, where, "hidden_activation", "gelu", "erf GELU");
  refuse_rope_scaling(json, where);
  expect_positive(where, {{"vocab_size", c.vocab_size},
                          {"hidden_size", c.hidden_size},
                          {"intermediate_size", c.intermediate_size},
                          {"num_hidden_layers", c.num_hidden_layers},
                          {"num_attention_heads", c.num_attention_heads},
                          {"max_position_embeddings", c.max_position_embeddings},
                          {"local_attention", c.local_attention}});
  if (c.hidden_size % c.num_attention_heads != 0 || c.head_dim() % 2 != 0) {
    fail("{}: hidden_size {} over num_attention_heads {} must give an even head size", where,
         c.hidden_size, c.num_attention_heads);
  }
  if (!(c.norm_eps > 0)) fail("{}: norm_eps must be positive", where);
  check_pad_token_id(c.pad_token_id, c.vocab_size, where);
  c.global_rope_theta =
      rope_theta(json, where, "full_attention", "global_rope_theta", c.global_rope_theta);
  c.local_rope_theta =
      rope_theta(json, where, "sliding_attention", "local_rope_theta", c.local_rope_theta);

  // transformers 5 writes layer_types; older configs say global_attn_every_n_layers.
  if (json.contains("layer_types") && !json["layer_types"].is_null()) {
    std::vector<std::string> types;
    read_config_key(json, where, "layer_types", types);
    if (static_cast<int64_t>(types.size()) != c.num_hidden_layers) {
      fail("{}: layer_types has {} entries for num_hidden_layers {}", where, types.size(),
           c.num_hidden_layers);
    }
    for (const auto& type : types) {
      if (type != "full_attention" && type != "sliding_attention") {
        fail(
            "{}: layer_types entry '{}' is not supported; expected \"full_attention\" or "
            "\"sliding_attention\"",
            where, type);
      }
      c.sliding.push_back(type == "sliding_attention");
    }
  } else {
    int64_t every = 3;
    read_config_key(json, where, "global_attn_every_n_layers", every);
    expect_positive(where, {{"global_attn_every_n_layers", every}});
    for (int64_t i = 0; i < c.num_hidden_layers; ++i) c.sliding.push_back(i % every != 0);
  }
  return c;
}

ModernBertLayerNorm::ModernBertLayerNorm(int64_t size, double eps, bool with_bias) : eps(eps) {
  weight = register_parameter("weight", at::ones({size}));
  if (with_bias) bias = register_parameter("bias", at::zeros({size}));
}

at::Tensor ModernBertLayerNorm::forward(const at::Tensor& x) {
  std::optional<at::Tensor> b;
  if (bias.defined()) b = bias;
  return at::layer_norm(x, {weight.size(0)}, weight, b, eps);
}

ModernBertEmbeddings::ModernBertEmbeddings(const ModernBertConfig& config)
    : dropout_p(config.embedding_dropout) {
  tok_embeddings =
      register_module("tok_embeddings",
                      token_embedding(config.vocab_size, config.hidden_size, config.pad_token_id));
  norm = register_module("norm", std::make_shared<ModernBertLayerNorm>(
                                     config.hidden_size, config.norm_eps, config.norm_bias));
}

at::Tensor ModernBertEmbeddings::forward(const PackedBatch& batch) {
  // As transformers: drop(norm(tok_embeddings(ids))); positions come in through the rotary.
  return token_dropout(norm->forward(tok_embeddings->forward(batch.input_ids)), dropout_p,
                       is_training(), batch);
}

ModernBertAttention::ModernBertAttention(const ModernBertConfig& config)
    : num_heads(config.num_attention_heads),
      head_dim(config.head_dim()),
      dropout_p(config.attention_dropout) {
  const int64_t h = config.hidden_size;
  Wqkv = register_module("Wqkv", Linear(h, 3 * h, config.attention_bias));
  Wo = register_module("Wo", Linear(h, h, config.attention_bias));
}

at::Tensor ModernBertAttention::forward(const at::Tensor& hidden, const RotaryTables& rotary,
                                        const AttentionPattern& pattern, const PackedBatch& batch) {
  const int64_t n = hidden.size(0);
  // (N, 3H) -> (N, 3, heads, d): query, key, value; rotate query and key.
  const std::vector<at::Tensor> qkv =
      Wqkv->forward(hidden).view({n, 3, num_heads, head_dim}).unbind(1);
  const at::Tensor rotated = at::stack(
      {apply_rotary(qkv[0], rotary), apply_rotary(qkv[1], rotary), qkv[2]}, 1);  // (N, 3, .., d)
  at::Tensor context = packed_attention(rotated.view({n, 3 * num_heads * head_dim}), batch,
                                        {.num_heads = num_heads,
                                         .head_dim = head_dim,
                                         .dropout_p = dropout_p,
                                         .training = is_training(),
                                         .score_bias = {},
                                         .pattern = pattern});
  // out_drop(Wo(context)), the attention dropout again, as transformers.
  return token_dropout(Wo->forward(context), dropout_p, is_training(), batch);
}

ModernBertMLP::ModernBertMLP(const ModernBertConfig& config) : dropout_p(config.mlp_dropout) {
  const int64_t h = config.hidden_size, i = config.intermediate_size;
  Wi = register_module("Wi", Linear(h, 2 * i, config.mlp_bias));
  Wo = register_module("Wo", Linear(i, h, config.mlp_bias));
}

at::Tensor ModernBertMLP::forward(const at::Tensor& hidden, const PackedBatch& batch) {
  // GeGLU: Wi gives (input, gate) side by side; Wo(drop(gelu(input) * gate)).
  const std::vector<at::Tensor> parts = Wi->forward(hidden).chunk(2, -1);
  at::Tensor inner = at::gelu(parts[0]) * parts[1];  // (N, I)
  return Wo->forward(token_dropout(inner, dropout_p, is_training(), batch));
}

ModernBertEncoderLayer::ModernBertEncoderLayer(const ModernBertConfig& config, int64_t index) {
  if (index > 0) {
    attn_norm =
        register_module("attn_norm", std::make_shared<ModernBertLayerNorm>(
                                         config.hidden_size, config.norm_eps, config.norm_bias));
  }
  attn = register_module("attn", std::make_shared<ModernBertAttention>(config));
  mlp_norm = register_module(
      "mlp_norm",
      std::make_shared<ModernBertLayerNorm>(config.hidden_size, config.norm_eps, config.norm_bias));
  mlp = register_module("mlp", std::make_shared<ModernBertMLP>(config));
}

at::Tensor ModernBertEncoderLayer::forward(const at::Tensor& hidden, const RotaryTables& rotary,
                                           const AttentionPattern& pattern,
                                           const PackedBatch& batch) {
  const at::Tensor normed = attn_norm ? attn_norm->forward(hidden) : hidden;
  at::Tensor x = hidden + attn->forward(normed, rotary, pattern, batch);
  return x + mlp->forward(mlp_norm->forward(x), batch);
}

ModernBertModel::ModernBertModel(const ModernBertConfig& config) : config_(config) {
  embeddings_ = register_module("embeddings", std::make_shared<ModernBertEmbeddings>(config));
  layers_ = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < config.num_hidden_layers; ++i) {
    layers_->push_back(std::make_shared<ModernBertEncoderLayer>(config, i));
  }
  final_norm_ = register_module(
      "final_norm",
      std::make_shared<ModernBertLayerNorm>(config.hidden_size, config.norm_eps, config.norm_bias));
  global_inv_freq_ = rotary_inv_freq(config.global_rope_theta, config.head_dim());
  local_inv_freq_ = rotary_inv_freq(config.local_rope_theta, config.head_dim());
}

at::Tensor ModernBertModel::forward(const PackedBatch& batch) {
  at::Tensor hidden = embeddings_->forward(batch);
  // Positions 0..len-1 per sequence, as transformers' arange over right-padded inputs.
  const RotaryTables global = rotary_tables(batch.position_ids, global_inv_freq_);
  const RotaryTables local = rotary_tables(batch.position_ids, local_inv_freq_);
  // The window: |query - key| <= local_attention / 2.
  const AttentionPattern window =
      AttentionPattern::sliding_window(batch, config_.local_attention / 2);
  const AttentionPattern full = AttentionPattern::full();
  for (size_t i = 0; i < layers_->size(); ++i) {
    const bool sliding = config_.sliding[i];
    hidden = layers_[i]->as<ModernBertEncoderLayer>()->forward(hidden, sliding ? local : global,
                                                               sliding ? window : full, batch);
  }
  return final_norm_->forward(hidden);
}

std::string ModernBertModel::summary() const {
  int64_t global_layers = 0;
  for (const bool sliding : config_.sliding) global_layers += sliding ? 0 : 1;
  return fmt::format(
      "{} layers ({} global, {} local with window {}), {} heads, hidden {}, intermediate {}",
      config_.num_hidden_layers, global_layers, config_.num_hidden_layers - global_layers,
      config_.local_attention, config_.num_attention_heads, config_.hidden_size,
      config_.intermediate_size);
}

std::shared_ptr<Encoder> make_modernbert(const nlohmann::json& json,
                                         const std::filesystem::path& config_path,
                                         const std::filesystem::path& weights_path,
                                         const WeightShapes& shapes) {
  const ModernBertConfig config = ModernBertConfig::from_json(json, config_path.string());
  auto expect = [&](const std::string& name, std::vector<int64_t> shape, const char* keys) {
    expect_weight_shape(shapes, name, shape, keys, config_path, weights_path);
  };
  expect("embeddings.tok_embeddings.weight", {config.vocab_size, config.hidden_size},
         "vocab_size and hidden_size");
  expect("layers.0.attn.Wqkv.weight", {3 * config.hidden_size, config.hidden_size}, "hidden_size");
  expect(fmt::format("layers.{}.mlp.Wi.weight", config.num_hidden_layers - 1),
         {2 * config.intermediate_size, config.hidden_size},
         "num_hidden_layers, intermediate_size and hidden_size");
  return std::make_shared<ModernBertModel>(config);
}

}  // namespace embedtune
