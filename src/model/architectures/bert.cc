// BertModel: forward pass on packed tokens, padding only around scaled-dot-product attention.
#include "model/architectures/bert.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <torch/nn/module.h>

#include <nlohmann/json.hpp>
#include <string>

#include "model/attention.h"
#include "model/dropout.h"

namespace embedtune {
namespace {

torch::nn::LayerNorm make_layer_norm(const BertConfig& config) {
  return torch::nn::LayerNorm(
      torch::nn::LayerNormOptions({config.hidden_size}).eps(config.layer_norm_eps));
}

}  // namespace

BertEmbeddings::BertEmbeddings(const BertConfig& config) : dropout_p(config.hidden_dropout_prob) {
  word_embeddings = register_module(
      "word_embeddings",
      token_embedding(config.vocab_size, config.hidden_size, config.word_padding_idx));
  position_embeddings = register_module(
      "position_embeddings", Embedding(config.max_position_embeddings, config.hidden_size));
  token_type_embeddings = register_module("token_type_embeddings",
                                          Embedding(config.type_vocab_size, config.hidden_size));
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
  query = register_module("query", Linear(config.hidden_size, config.hidden_size));
  key = register_module("key", Linear(config.hidden_size, config.hidden_size));
  value = register_module("value", Linear(config.hidden_size, config.hidden_size));
}

BertResidualOutput::BertResidualOutput(const BertConfig& config, int64_t in_features)
    : dropout_p(config.hidden_dropout_prob) {
  dense = register_module("dense", Linear(in_features, config.hidden_size));
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
  // One GEMM for Q, K and V: the three weights side by side (differentiable, so it trains).
  at::Tensor w = at::cat({self->query->weight, self->key->weight, self->value->weight}, 0);
  at::Tensor bias = at::cat({self->query->bias, self->key->bias, self->value->bias}, 0);
  at::Tensor qkv = at::linear(hidden, w, bias);  // (N, 3H)
  at::Tensor context = packed_attention(qkv, batch,
                                        {.num_heads = num_heads,
                                         .head_dim = head_dim,
                                         .dropout_p = dropout_p,
                                         .training = is_training(),
                                         .score_bias = {},
                                         .pattern = {}});
  return output->forward(context, hidden, batch);
}

BertIntermediate::BertIntermediate(const BertConfig& config) {
  dense = register_module("dense", Linear(config.hidden_size, config.intermediate_size));
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
  dense = register_module("dense", Linear(config.hidden_size, config.hidden_size));
}

torch::nn::ModuleList register_bert_encoder(torch::nn::Module& parent, const BertConfig& config) {
  auto encoder = std::make_shared<torch::nn::Module>("BertEncoder");
  auto layers = encoder->register_module("layer", torch::nn::ModuleList());
  for (int64_t i = 0; i < config.num_hidden_layers; ++i) {
    layers->push_back(std::make_shared<BertLayer>(config));
  }
  parent.register_module("encoder", encoder);
  return layers;
}

at::Tensor run_bert_layers(const torch::nn::ModuleList& layers, at::Tensor hidden,
                           const PackedBatch& batch) {
  for (const auto& layer : *layers) hidden = layer->as<BertLayer>()->forward(hidden, batch);
  return hidden;
}

void check_bert_shapes(const BertConfig& config, const WeightShapes& shapes,
                       const std::filesystem::path& config_path,
                       const std::filesystem::path& weights_path) {
  auto expect = [&](const std::string& name, std::vector<int64_t> shape, const char* keys) {
    expect_weight_shape(shapes, name, shape, keys, config_path, weights_path);
  };
  expect("embeddings.word_embeddings.weight", {config.vocab_size, config.hidden_size},
         "vocab_size and hidden_size");
  expect("embeddings.position_embeddings.weight",
         {config.max_position_embeddings, config.hidden_size},
         "max_position_embeddings and hidden_size");
  expect("embeddings.token_type_embeddings.weight", {config.type_vocab_size, config.hidden_size},
         "type_vocab_size and hidden_size");
  expect(fmt::format("encoder.layer.{}.intermediate.dense.weight", config.num_hidden_layers - 1),
         {config.intermediate_size, config.hidden_size},
         "num_hidden_layers, intermediate_size and hidden_size");
}

BertModel::BertModel(const BertConfig& config, bool with_pooler, bool with_position_ids)
    : BertModel(config, std::make_shared<BertEmbeddings>(config), with_pooler, with_position_ids) {}

BertModel::BertModel(const BertConfig& config, std::shared_ptr<BertFamilyEmbeddings> embeddings,
                     bool with_pooler, bool with_position_ids)
    : config_(config) {
  embeddings_ = register_module("embeddings", std::move(embeddings));
  if (with_position_ids) {
    embeddings_->register_buffer(
        "position_ids", at::arange(config.max_position_embeddings, at::kLong).unsqueeze(0));
  }
  layers_ = register_bert_encoder(*this, config);
  if (with_pooler) pooler_ = register_module("pooler", std::make_shared<BertPooler>(config));
}

at::Tensor BertModel::forward(const PackedBatch& batch) {
  return run_bert_layers(layers_, embeddings_->forward(batch), batch);
}

std::string bert_summary(const BertConfig& config) {
  return fmt::format("{} layers, {} heads, hidden {}, intermediate {}", config.num_hidden_layers,
                     config.num_attention_heads, config.hidden_size, config.intermediate_size);
}

std::string BertModel::summary() const { return bert_summary(config_); }

std::shared_ptr<Encoder> make_bert(const nlohmann::json& json,
                                   const std::filesystem::path& config_path,
                                   const std::filesystem::path& weights_path,
                                   const WeightShapes& shapes) {
  const BertConfig config = BertConfig::from_json(json, config_path.string());
  check_bert_shapes(config, shapes, config_path, weights_path);
  return std::make_shared<BertModel>(config, shapes.count("pooler.dense.weight") > 0,
                                     shapes.count("embeddings.position_ids") > 0);
}

}  // namespace embedtune
