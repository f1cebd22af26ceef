// BertModel: forward pass on packed tokens, padding only around scaled-dot-product attention.
#include "model/bert_model.h"

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <cmath>
#include <limits>
#include <string>

#include "model/dropout.h"

namespace embedtune {
namespace {

torch::nn::LayerNorm make_layer_norm(const BertConfig& config) {
  return torch::nn::LayerNorm(
      torch::nn::LayerNormOptions({config.hidden_size}).eps(config.layer_norm_eps));
}

}  // namespace

at::Tensor token_dropout(const at::Tensor& x, double p, bool training, const PackedBatch& batch) {
  if (!training || p == 0.0) return x;
  if (!x.device().is_cpu() || p >= 1.0) return at::dropout(x, p, true);
  // As at::dropout on CPU (input * noise), with the noise drawn over the padded (B*T, H) layout
  // transformers uses and the real tokens' rows picked: a seeded run then drops exactly the
  // activations sentence-transformers drops.
  if (batch.uniform) return x * dropout_noise(x.sizes(), p, x.options());
  const at::Tensor noise =
      dropout_noise({batch.batch_size() * batch.max_length, x.size(1)}, p, x.options());
  return x * noise.index_select(0, batch.padded_index);
}

BertEmbeddings::BertEmbeddings(const BertConfig& config) : dropout_p(config.hidden_dropout_prob) {
  word_embeddings = register_module("word_embeddings",
                                    torch::nn::Embedding(config.vocab_size, config.hidden_size));
  position_embeddings =
      register_module("position_embeddings",
                      torch::nn::Embedding(config.max_position_embeddings, config.hidden_size));
  token_type_embeddings = register_module(
      "token_type_embeddings", torch::nn::Embedding(config.type_vocab_size, config.hidden_size));
  LayerNorm = register_module("LayerNorm", make_layer_norm(config));
}

at::Tensor BertEmbeddings::forward(const PackedBatch& batch) {
  // As transformers' BertEmbeddings: (word + token_type) + position, then LayerNorm, dropout.
  // Every token is segment A (token type 0), as sentence-transformers encodes single texts.
  at::Tensor words = word_embeddings->forward(batch.input_ids);
  at::Tensor token_type = token_type_embeddings->weight[0];
  at::Tensor x = words + token_type;
  x = x + position_embeddings->forward(batch.position_ids);
  x = LayerNorm->forward(x);
  return token_dropout(x, dropout_p, is_training(), batch);
}

BertSelfAttention::BertSelfAttention(const BertConfig& config) {
  query = register_module("query", torch::nn::Linear(config.hidden_size, config.hidden_size));
  key = register_module("key", torch::nn::Linear(config.hidden_size, config.hidden_size));
  value = register_module("value", torch::nn::Linear(config.hidden_size, config.hidden_size));
}

BertResidualOutput::BertResidualOutput(const BertConfig& config, int64_t in_features)
    : dropout_p(config.hidden_dropout_prob) {
  dense = register_module("dense", torch::nn::Linear(in_features, config.hidden_size));
  LayerNorm = register_module("LayerNorm", make_layer_norm(config));
}

at::Tensor BertResidualOutput::forward(const at::Tensor& hidden, const at::Tensor& residual,
                                       const PackedBatch& batch) {
  at::Tensor x = token_dropout(dense->forward(hidden), dropout_p, is_training(), batch);
  return LayerNorm->forward(x + residual);
}

BertAttention::BertAttention(const BertConfig& config)
    : num_heads(config.num_attention_heads),
      head_dim(config.head_dim()),
      dropout_p(config.attention_probs_dropout_prob) {
  self = register_module("self", std::make_shared<BertSelfAttention>(config));
  output =
      register_module("output", std::make_shared<BertResidualOutput>(config, config.hidden_size));
}

at::Tensor BertAttention::forward(const at::Tensor& hidden, const PackedBatch& batch) {
  const int64_t b = batch.batch_size(), t = batch.max_length, h = num_heads * head_dim;
  // One GEMM for Q, K and V: the three weights side by side (differentiable, so it trains).
  at::Tensor w = at::cat({self->query->weight, self->key->weight, self->value->weight}, 0);
  at::Tensor bias = at::cat({self->query->bias, self->key->bias, self->value->bias}, 0);
  at::Tensor qkv = at::linear(hidden, w, bias);  // (N, 3H)
  if (!batch.uniform) {
    // Pad around attention only: scatter the real tokens into a zeroed (B*T, 3H) block.
    qkv = at::zeros({b * t, 3 * h}, qkv.options()).index_copy(0, batch.padded_index, qkv);
  }
  // (B, T, 3, heads, d) -> three (B, heads, T, d) views.
  // unbind, not parts[i]: its backward stacks the three gradients into one tensor instead of
  // summing three zero-filled full-size ones.
  const std::vector<at::Tensor> parts =
      qkv.view({b, t, 3, num_heads, head_dim}).permute({2, 0, 3, 1, 4}).unbind(0);
  at::Tensor context;
  if (is_training() && dropout_p > 0.0 && hidden.device().is_cpu()) {
    // SDPA's math path as LibTorch runs it on CPU with dropout (q and k each scaled by
    // sqrt(1/sqrt(d)), additive -inf mask, softmax, dropout on the (B, heads, T, T) weights),
    // spelled out so the dropout noise comes from dropout_noise(): same draws, less time.
    const double scale = std::sqrt(1.0 / std::sqrt(static_cast<double>(head_dim)));
    at::Tensor weights = at::matmul(parts[0] * scale, parts[1].transpose(-2, -1) * scale);
    if (!batch.uniform) {
      const float minus_inf = -std::numeric_limits<float>::infinity();
      weights.add_(at::zeros(batch.key_mask.sizes(), weights.options())
                       .masked_fill_(batch.key_mask.logical_not(), minus_inf));
    }
    weights = at::softmax(weights, -1);
    weights = weights * dropout_noise(weights.sizes(), dropout_p, weights.options());
    context = at::matmul(weights, parts[2]);
  } else {
    std::optional<at::Tensor> mask;
    if (!batch.uniform) mask = batch.key_mask;
    context = at::scaled_dot_product_attention(
        parts[0], parts[1], parts[2], mask, is_training() ? dropout_p : 0.0, /*is_causal=*/false);
  }
  context = context.transpose(1, 2).reshape({b * t, h});                      // (B*T, H)
  if (!batch.uniform) context = context.index_select(0, batch.padded_index);  // (N, H)
  return output->forward(context, hidden, batch);
}

BertIntermediate::BertIntermediate(const BertConfig& config) {
  dense = register_module("dense", torch::nn::Linear(config.hidden_size, config.intermediate_size));
}

BertLayer::BertLayer(const BertConfig& config) {
  attention = register_module("attention", std::make_shared<BertAttention>(config));
  intermediate = register_module("intermediate", std::make_shared<BertIntermediate>(config));
  output = register_module("output",
                           std::make_shared<BertResidualOutput>(config, config.intermediate_size));
}

at::Tensor BertLayer::forward(const at::Tensor& hidden, const PackedBatch& batch) {
  at::Tensor attended = attention->forward(hidden, batch);
  at::Tensor inner = at::gelu(intermediate->dense->forward(attended));  // erf GELU, as BERT
  return output->forward(inner, attended, batch);
}

BertPooler::BertPooler(const BertConfig& config) {
  dense = register_module("dense", torch::nn::Linear(config.hidden_size, config.hidden_size));
}

BertModel::BertModel(const BertConfig& config, bool with_pooler, bool with_position_ids)
    : config_(config) {
  embeddings_ = register_module("embeddings", std::make_shared<BertEmbeddings>(config));
  if (with_position_ids) {
    embeddings_->register_buffer(
        "position_ids", at::arange(config.max_position_embeddings, at::kLong).unsqueeze(0));
  }
  auto encoder = std::make_shared<torch::nn::Module>("BertEncoder");
  layers_ = encoder->register_module("layer", torch::nn::ModuleList());
  for (int64_t i = 0; i < config.num_hidden_layers; ++i) {
    layers_->push_back(std::make_shared<BertLayer>(config));
  }
  register_module("encoder", encoder);
  if (with_pooler) pooler_ = register_module("pooler", std::make_shared<BertPooler>(config));
}

at::Tensor BertModel::forward(const PackedBatch& batch) {
  at::Tensor hidden = embeddings_->forward(batch);
  for (const auto& layer : *layers_) {
    hidden = layer->as<BertLayer>()->forward(hidden, batch);
  }
  return hidden;
}

}  // namespace embedtune
