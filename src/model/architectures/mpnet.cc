// MPNetModel: relative position bias over packed tokens.
#include "model/architectures/mpnet.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

#include "io/error.h"
#include "model/architectures/xlm_roberta.h"
#include "model/attention.h"
#include "model/dropout.h"

namespace embedtune {
namespace {

// transformers' MPNetEmbeddings fixes the padding index at 1, whatever pad_token_id says.
constexpr int64_t kPaddingIdx = 1;
// MPNetEncoder.compute_position_bias buckets with its default num_buckets=32, whatever
// relative_attention_num_buckets says (the table must then have at least 32 rows).
constexpr int64_t kBuckets = 32;

torch::nn::LayerNorm make_layer_norm(const BertConfig& config) {
  return torch::nn::LayerNorm(
      torch::nn::LayerNormOptions({config.hidden_size}).eps(config.layer_norm_eps));
}

}  // namespace

at::Tensor mpnet_relative_position_bucket(const at::Tensor& relative_position, int64_t num_buckets,
                                          int64_t max_distance) {
  // The same tensor operations in the same order as transformers, so the float32 logarithm
  // rounds the same way at the bucket boundaries.
  at::Tensor n = relative_position.neg();
  num_buckets /= 2;
  at::Tensor ret = n.lt(0).to(at::kLong) * num_buckets;
  n = n.abs();
  const int64_t max_exact = num_buckets / 2;
  const at::Tensor is_small = n.lt(max_exact);
  at::Tensor large = (at::log(n.to(at::kFloat) / static_cast<double>(max_exact)) /
                      std::log(static_cast<double>(max_distance) / static_cast<double>(max_exact)) *
                      static_cast<double>(num_buckets - max_exact))
                         .to(at::kLong) +
                     max_exact;
  large = at::min(large, at::full_like(large, num_buckets - 1));
  return ret + at::where(is_small, n, large);
}

MPNetEmbeddings::MPNetEmbeddings(const BertConfig& config) : dropout_p(config.hidden_dropout_prob) {
  word_embeddings = register_module(
      "word_embeddings", token_embedding(config.vocab_size, config.hidden_size, kPaddingIdx));
  position_embeddings = register_module(
      "position_embeddings", Embedding(config.max_position_embeddings, config.hidden_size));
  LayerNorm = register_module("LayerNorm", make_layer_norm(config));
}

at::Tensor MPNetEmbeddings::forward(const PackedBatch& batch) {
  // As transformers' MPNetEmbeddings: word + position (no token types), LayerNorm, dropout.
  at::Tensor x = word_embeddings->forward(batch.input_ids) +
                 position_embeddings->forward(padding_offset_position_ids(batch, kPaddingIdx));
  x = LayerNorm->forward(x);
  return token_dropout(x, dropout_p, is_training(), batch);
}

MPNetSelfAttention::MPNetSelfAttention(const BertConfig& config) {
  const int64_t h = config.hidden_size;
  q = register_module("q", Linear(h, h));
  k = register_module("k", Linear(h, h));
  v = register_module("v", Linear(h, h));
  o = register_module("o", Linear(h, h));
}

MPNetAttention::MPNetAttention(const BertConfig& config)
    : num_heads(config.num_attention_heads),
      head_dim(config.head_dim()),
      attention_dropout_p(config.attention_probs_dropout_prob),
      hidden_dropout_p(config.hidden_dropout_prob) {
  attn = register_module("attn", std::make_shared<MPNetSelfAttention>(config));
  LayerNorm = register_module("LayerNorm", make_layer_norm(config));
}

at::Tensor MPNetAttention::forward(const at::Tensor& hidden, const at::Tensor& position_bias,
                                   const PackedBatch& batch) {
  at::Tensor w = at::cat({attn->q->weight, attn->k->weight, attn->v->weight}, 0);
  at::Tensor b = at::cat({attn->q->bias, attn->k->bias, attn->v->bias}, 0);
  at::Tensor context = packed_attention(at::linear(hidden, w, b), batch,
                                        {.num_heads = num_heads,
                                         .head_dim = head_dim,
                                         .dropout_p = attention_dropout_p,
                                         .training = is_training(),
                                         .score_bias = position_bias,
                                         .pattern = {}});
  // As transformers: LayerNorm(dropout(o(context)) + hidden).
  at::Tensor out = token_dropout(attn->o->forward(context), hidden_dropout_p, is_training(), batch);
  return LayerNorm->forward(out + hidden);
}

MPNetLayer::MPNetLayer(const BertConfig& config) {
  attention = register_module("attention", std::make_shared<MPNetAttention>(config));
  intermediate = register_module("intermediate", std::make_shared<BertIntermediate>(config));
  output = register_module("output",
                           std::make_shared<BertResidualOutput>(config, config.intermediate_size));
}

at::Tensor MPNetLayer::forward(const at::Tensor& hidden, const at::Tensor& position_bias,
                               const PackedBatch& batch) {
  at::Tensor attended = attention->forward(hidden, position_bias, batch);
  at::Tensor inner = at::gelu(intermediate->dense->forward(attended));  // erf GELU
  return output->forward(inner, attended, batch);
}

MPNetEncoder::MPNetEncoder(const BertConfig& config, int64_t num_buckets) {
  layer = register_module("layer", torch::nn::ModuleList());
  for (int64_t i = 0; i < config.num_hidden_layers; ++i) {
    layer->push_back(std::make_shared<MPNetLayer>(config));
  }
  relative_attention_bias = register_module("relative_attention_bias",
                                            Embedding(num_buckets, config.num_attention_heads));
}

at::Tensor MPNetEncoder::forward(at::Tensor hidden, const PackedBatch& batch) {
  // As compute_position_bias: key index - query index over the padded length T. Within a
  // sequence the padded indices are the packed positions, so every real token pair gets the bias
  // transformers gives it. (1, heads, T, T), broadcast over the batch.
  const int64_t t = batch.max_length;
  const at::Tensor index = at::arange(t, batch.input_ids.options());
  const at::Tensor relative = index.unsqueeze(0) - index.unsqueeze(1);  // [i][j] = j - i
  const at::Tensor buckets = mpnet_relative_position_bucket(relative, kBuckets);
  const at::Tensor bias = relative_attention_bias->forward(buckets).permute({2, 0, 1}).unsqueeze(0);
  for (const auto& module : *layer) hidden = module->as<MPNetLayer>()->forward(hidden, bias, batch);
  return hidden;
}

MPNetModel::MPNetModel(const BertConfig& config, int64_t num_buckets, bool with_pooler,
                       bool with_position_ids)
    : config_(config) {
  embeddings_ = register_module("embeddings", std::make_shared<MPNetEmbeddings>(config));
  if (with_position_ids) {
    embeddings_->register_buffer(
        "position_ids", at::arange(config.max_position_embeddings, at::kLong).unsqueeze(0));
  }
  encoder_ = register_module("encoder", std::make_shared<MPNetEncoder>(config, num_buckets));
  if (with_pooler) pooler_ = register_module("pooler", std::make_shared<BertPooler>(config));
}

at::Tensor MPNetModel::forward(const PackedBatch& batch) {
  return encoder_->forward(embeddings_->forward(batch), batch);
}

std::string MPNetModel::summary() const { return bert_summary(config_); }

std::shared_ptr<Encoder> make_mpnet(const nlohmann::json& json,
                                    const std::filesystem::path& config_path,
                                    const std::filesystem::path& weights_path,
                                    const WeightShapes& shapes) {
  BertConfig defaults;  // MPNetConfig's defaults where they differ from BERT's
  defaults.vocab_size = 30527;
  defaults.pad_token_id = 1;
  const BertConfig config = BertConfig::from_json(json, config_path.string(), defaults);
  check_pad_token_id(kPaddingIdx, config.vocab_size, config_path.string());
  int64_t num_buckets = 32;
  if (const auto it = json.find("relative_attention_num_buckets");
      it != json.end() && !it->is_null()) {
    if (!it->is_number_integer()) {
      fail("{}: key 'relative_attention_num_buckets' must be an integer, found {}",
           config_path.string(), it->dump());
    }
    num_buckets = it->get<int64_t>();
  }
  if (num_buckets < kBuckets) {
    fail(
        "{}: relative_attention_num_buckets is {}, but MPNet looks up {} buckets (as "
        "transformers does); expected at least {}",
        config_path.string(), num_buckets, kBuckets, kBuckets);
  }
  if (config.max_position_embeddings <= kPaddingIdx + 1) {
    fail("{}: max_position_embeddings {} leaves no positions after the padding index 1",
         config_path.string(), config.max_position_embeddings);
  }
  auto expect = [&](const std::string& name, std::vector<int64_t> shape, const char* keys) {
    expect_weight_shape(shapes, name, shape, keys, config_path, weights_path);
  };
  expect("embeddings.word_embeddings.weight", {config.vocab_size, config.hidden_size},
         "vocab_size and hidden_size");
  expect("embeddings.position_embeddings.weight",
         {config.max_position_embeddings, config.hidden_size},
         "max_position_embeddings and hidden_size");
  expect("encoder.relative_attention_bias.weight", {num_buckets, config.num_attention_heads},
         "relative_attention_num_buckets and num_attention_heads");
  expect(fmt::format("encoder.layer.{}.intermediate.dense.weight", config.num_hidden_layers - 1),
         {config.intermediate_size, config.hidden_size},
         "num_hidden_layers, intermediate_size and hidden_size");
  return std::make_shared<MPNetModel>(config, num_buckets, shapes.count("pooler.dense.weight") > 0,
                                      shapes.count("embeddings.position_ids") > 0);
}

}  // namespace embedtune
