// Qwen3Model: pre-norm decoder layers with causal grouped-query attention, on packed tokens.
#include "model/architectures/qwen3.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "io/error.h"
#include "model/architectures/config_keys.h"
#include "model/attention.h"

namespace embedtune {

Qwen3Config Qwen3Config::from_json(const nlohmann::json& json, const std::string& where) {
  if (!json.is_object()) fail("{}: expected a JSON object, found {}", where, json.type_name());
  Qwen3Config c;
  read_config_key(json, where, "vocab_size", c.vocab_size);
  read_config_key(json, where, "hidden_size", c.hidden_size);
  read_config_key(json, where, "intermediate_size", c.intermediate_size);
  read_config_key(json, where, "num_hidden_layers", c.num_hidden_layers);
  read_config_key(json, where, "num_attention_heads", c.num_attention_heads);
  c.num_key_value_heads = c.num_attention_heads;  // transformers: None means as many as queries
  read_config_key(json, where, "num_key_value_heads", c.num_key_value_heads);
  read_config_key(json, where, "head_dim", c.head_dim);
  read_config_key(json, where, "max_position_embeddings", c.max_position_embeddings);
  read_config_key(json, where, "rms_norm_eps", c.rms_norm_eps);
  read_config_key(json, where, "attention_bias", c.attention_bias);
  read_config_key(json, where, "attention_dropout", c.attention_dropout);
  read_config_key(json, where, "pad_token_id", c.pad_token_id);
  expect_activation(json, where, "hidden_act", "silu", "SwiGLU, as Qwen3");
  refuse_rope_scaling(json, where);
  read_config_key(json, where, "rope_theta", c.rope_theta);  // the layout on the Hub
  const auto params = json.find("rope_parameters");          // transformers 5
  if (params != json.end() && !params->is_null()) {
    c.rope_theta = read_rope_theta(*params, where, "rope_parameters", c.rope_theta);
  }
  // Sliding-window layers: Qwen3-Embedding has none (use_sliding_window false).
  bool sliding = false;
  read_config_key(json, where, "use_sliding_window", sliding);
  std::vector<std::string> layer_types;
  read_config_key(json, where, "layer_types", layer_types);
  for (const auto& type : layer_types) sliding = sliding || type != "full_attention";
  if (sliding) {
    fail(
        "{}: sliding-window attention (use_sliding_window, layer_types) is not supported; "
        "embedtune runs Qwen3 with full causal attention in every layer",
        where);
  }
  expect_positive(where, {{"vocab_size", c.vocab_size},
                          {"hidden_size", c.hidden_size},
                          {"intermediate_size", c.intermediate_size},
                          {"num_hidden_layers", c.num_hidden_layers},
                          {"num_attention_heads", c.num_attention_heads},
                          {"num_key_value_heads", c.num_key_value_heads},
                          {"head_dim", c.head_dim},
                          {"max_position_embeddings", c.max_position_embeddings}});
  if (c.num_attention_heads % c.num_key_value_heads != 0) {
    fail("{}: num_attention_heads {} is not a multiple of num_key_value_heads {}", where,
         c.num_attention_heads, c.num_key_value_heads);
  }
  if (c.head_dim % 2 != 0) fail("{}: head_dim must be even for rotary embeddings", where);
  if (!(c.rms_norm_eps > 0)) fail("{}: rms_norm_eps must be positive", where);
  check_pad_token_id(c.pad_token_id, c.vocab_size, where);
  return c;
}

Qwen3RMSNorm::Qwen3RMSNorm(int64_t size, double eps) : eps(eps) {
  weight = register_parameter("weight", at::ones({size}));
}

at::Tensor Qwen3RMSNorm::forward(const at::Tensor& x) {
  // As transformers: in float32, back to the input's type before the weight.
  const at::Tensor xf = x.to(at::kFloat);
  const at::Tensor variance = xf.pow(2).mean(-1, /*keepdim=*/true);
  return weight * (xf * at::rsqrt(variance + eps)).to(x.scalar_type());
}

Qwen3Attention::Qwen3Attention(const Qwen3Config& config)
    : num_heads(config.num_attention_heads),
      num_kv_heads(config.num_key_value_heads),
      head_dim(config.head_dim),
      dropout_p(config.attention_dropout) {
  const int64_t h = config.hidden_size;
  auto linear = [&](int64_t in, int64_t out) { return Linear(in, out, config.attention_bias); };
  q_proj = register_module("q_proj", linear(h, num_heads * head_dim));
  k_proj = register_module("k_proj", linear(h, num_kv_heads * head_dim));
  v_proj = register_module("v_proj", linear(h, num_kv_heads * head_dim));
  o_proj = register_module("o_proj", linear(num_heads * head_dim, h));
  q_norm = register_module("q_norm", std::make_shared<Qwen3RMSNorm>(head_dim, config.rms_norm_eps));
  k_norm = register_module("k_norm", std::make_shared<Qwen3RMSNorm>(head_dim, config.rms_norm_eps));
}

at::Tensor Qwen3Attention::forward(const at::Tensor& hidden, const RotaryTables& rotary,
                                   const AttentionPattern& causal, const PackedBatch& batch) {
  const int64_t n = hidden.size(0), group = num_heads / num_kv_heads;
  // Norm each head, then rotate: (N, Q, d) and (N, K, d).
  const at::Tensor q =
      apply_rotary(q_norm->forward(q_proj->forward(hidden).view({n, num_heads, head_dim})), rotary);
  at::Tensor k = apply_rotary(
      k_norm->forward(k_proj->forward(hidden).view({n, num_kv_heads, head_dim})), rotary);
  at::Tensor v = v_proj->forward(hidden).view({n, num_kv_heads, head_dim});
  if (group > 1) {
    // repeat_kv: key/value head j serves query heads j*group .. j*group+group-1.
    k = k.unsqueeze(2).expand({n, num_kv_heads, group, head_dim}).reshape({n, num_heads, head_dim});
    v = v.unsqueeze(2).expand({n, num_kv_heads, group, head_dim}).reshape({n, num_heads, head_dim});
  }
  const at::Tensor qkv = at::cat({q, k, v}, 1).view({n, 3 * num_heads * head_dim});
  const at::Tensor context = packed_attention(qkv, batch,
                                              {.num_heads = num_heads,
                                               .head_dim = head_dim,
                                               .dropout_p = dropout_p,
                                               .training = is_training(),
                                               .score_bias = {},
                                               .pattern = causal});
  return o_proj->forward(context);
}

Qwen3MLP::Qwen3MLP(const Qwen3Config& config) {
  const int64_t h = config.hidden_size, i = config.intermediate_size;
  gate_proj = register_module("gate_proj", Linear(h, i, false));
  up_proj = register_module("up_proj", Linear(h, i, false));
  down_proj = register_module("down_proj", Linear(i, h, false));
}

at::Tensor Qwen3MLP::forward(const at::Tensor& hidden) {
  return down_proj->forward(at::silu(gate_proj->forward(hidden)) * up_proj->forward(hidden));
}

Qwen3DecoderLayer::Qwen3DecoderLayer(const Qwen3Config& config) {
  self_attn = register_module("self_attn", std::make_shared<Qwen3Attention>(config));
  mlp = register_module("mlp", std::make_shared<Qwen3MLP>(config));
  input_layernorm = register_module(
      "input_layernorm", std::make_shared<Qwen3RMSNorm>(config.hidden_size, config.rms_norm_eps));
  post_attention_layernorm =
      register_module("post_attention_layernorm",
                      std::make_shared<Qwen3RMSNorm>(config.hidden_size, config.rms_norm_eps));
}

at::Tensor Qwen3DecoderLayer::forward(const at::Tensor& hidden, const RotaryTables& rotary,
                                      const AttentionPattern& causal, const PackedBatch& batch) {
  const at::Tensor x =
      hidden + self_attn->forward(input_layernorm->forward(hidden), rotary, causal, batch);
  return x + mlp->forward(post_attention_layernorm->forward(x));
}

Qwen3Model::Qwen3Model(const Qwen3Config& config) : config_(config) {
  embed_tokens_ = register_module(
      "embed_tokens", token_embedding(config.vocab_size, config.hidden_size, config.pad_token_id));
  layers_ = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < config.num_hidden_layers; ++i) {
    layers_->push_back(std::make_shared<Qwen3DecoderLayer>(config));
  }
  norm_ = register_module("norm",
                          std::make_shared<Qwen3RMSNorm>(config.hidden_size, config.rms_norm_eps));
  inv_freq_ = rotary_inv_freq(config.rope_theta, config.head_dim);
}

at::Tensor Qwen3Model::forward(const PackedBatch& batch) {
  at::Tensor hidden = embed_tokens_->forward(batch.input_ids);
  // Positions 0..len-1 in each sequence. transformers numbers left-padded rows from the first
  // pad instead; rotary attention depends on position differences only, so the two agree to
  // float rounding.
  const RotaryTables rotary = rotary_tables(batch.position_ids, inv_freq_);
  const AttentionPattern causal = AttentionPattern::causal_over(batch);
  for (size_t i = 0; i < layers_->size(); ++i) {
    hidden = layers_[i]->as<Qwen3DecoderLayer>()->forward(hidden, rotary, causal, batch);
  }
  return norm_->forward(hidden);
}

std::string Qwen3Model::summary() const {
  return fmt::format(
      "{} layers, {} query heads and {} key/value heads of {}, hidden {}, intermediate {}",
      config_.num_hidden_layers, config_.num_attention_heads, config_.num_key_value_heads,
      config_.head_dim, config_.hidden_size, config_.intermediate_size);
}

std::shared_ptr<Encoder> make_qwen3(const nlohmann::json& json,
                                    const std::filesystem::path& config_path,
                                    const std::filesystem::path& weights_path,
                                    const WeightShapes& shapes) {
  const Qwen3Config config = Qwen3Config::from_json(json, config_path.string());
  auto expect = [&](const std::string& name, std::vector<int64_t> shape, const char* keys) {
    expect_weight_shape(shapes, name, shape, keys, config_path, weights_path);
  };
  expect("embed_tokens.weight", {config.vocab_size, config.hidden_size},
         "vocab_size and hidden_size");
  expect("layers.0.self_attn.q_proj.weight",
         {config.num_attention_heads * config.head_dim, config.hidden_size},
         "num_attention_heads, head_dim and hidden_size");
  expect("layers.0.self_attn.k_proj.weight",
         {config.num_key_value_heads * config.head_dim, config.hidden_size},
         "num_key_value_heads, head_dim and hidden_size");
  expect(fmt::format("layers.{}.mlp.gate_proj.weight", config.num_hidden_layers - 1),
         {config.intermediate_size, config.hidden_size},
         "num_hidden_layers, intermediate_size and hidden_size");
  return std::make_shared<Qwen3Model>(config);
}

}  // namespace embedtune
