// MPNetModel (model_type "mpnet"), as transformers' modeling_mpnet.py: BERT-like layers whose
// attention adds a learned relative position bias (T5-style buckets, shared by all layers), and
// position ids that start after the padding index (fixed at 1, as transformers fixes it).
//
// Key names: embeddings.{word_embeddings,position_embeddings,LayerNorm},
// encoder.relative_attention_bias, encoder.layer.{i}.attention.attn.{q,k,v,o},
// encoder.layer.{i}.attention.LayerNorm, encoder.layer.{i}.{intermediate,output}.*, pooler.dense.
//
// Letters: B sequences, N packed tokens, T longest sequence, H hidden size.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/normalization.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json_fwd.hpp>

#include "model/architectures/bert.h"
#include "model/architectures/encoder.h"
#include "model/layers.h"
#include "model/packed_batch.h"

namespace embedtune {

// transformers' MPNetEncoder.relative_position_bucket: bucket of each relative position
// (key index - query index), `num_buckets` buckets over +-`max_distance`, half per direction,
// exact below num_buckets / 4 and logarithmic above. Any shape, int64 in and out.
at::Tensor mpnet_relative_position_bucket(const at::Tensor& relative_position,
                                          int64_t num_buckets = 32, int64_t max_distance = 128);

struct MPNetEmbeddings : torch::nn::Module {
  explicit MPNetEmbeddings(const BertConfig& config);
  at::Tensor forward(const PackedBatch& batch);  // -> (N, H)
  Embedding word_embeddings{nullptr}, position_embeddings{nullptr};
  torch::nn::LayerNorm LayerNorm{nullptr};  // NOLINT: Hugging Face key name
  double dropout_p;
};

struct MPNetSelfAttention : torch::nn::Module {
  explicit MPNetSelfAttention(const BertConfig& config);
  Linear q{nullptr}, k{nullptr}, v{nullptr}, o{nullptr};
};

struct MPNetAttention : torch::nn::Module {
  explicit MPNetAttention(const BertConfig& config);
  // (N, H) -> (N, H); position_bias: (1, heads, T, T).
  at::Tensor forward(const at::Tensor& hidden, const at::Tensor& position_bias,
                     const PackedBatch& batch);
  std::shared_ptr<MPNetSelfAttention> attn;
  torch::nn::LayerNorm LayerNorm{nullptr};  // NOLINT: Hugging Face key name
  int64_t num_heads, head_dim;
  double attention_dropout_p, hidden_dropout_p;
};

struct MPNetLayer : torch::nn::Module {
  explicit MPNetLayer(const BertConfig& config);
  at::Tensor forward(const at::Tensor& hidden, const at::Tensor& position_bias,
                     const PackedBatch& batch);
  std::shared_ptr<MPNetAttention> attention;
  std::shared_ptr<BertIntermediate> intermediate;  // the same module (transformers copies it)
  std::shared_ptr<BertResidualOutput> output;      // MPNetOutput is BertOutput
};

struct MPNetEncoder : torch::nn::Module {
  MPNetEncoder(const BertConfig& config, int64_t num_buckets);
  at::Tensor forward(at::Tensor hidden, const PackedBatch& batch);
  torch::nn::ModuleList layer;
  Embedding relative_attention_bias{nullptr};
};

class MPNetModel : public Encoder {
 public:
  MPNetModel(const BertConfig& config, int64_t num_buckets, bool with_pooler,
             bool with_position_ids);

  at::Tensor forward(const PackedBatch& batch) override;
  int64_t hidden_size() const override { return config_.hidden_size; }
  // Positions 2 .. max_position_embeddings - 1 (padding index 1).
  int64_t max_sequence_length() const override { return config_.max_position_embeddings - 2; }
  std::string architecture() const override { return "MPNetModel"; }
  std::string summary() const override;

 private:
  BertConfig config_;
  std::shared_ptr<MPNetEmbeddings> embeddings_;
  std::shared_ptr<MPNetEncoder> encoder_;
  std::shared_ptr<BertPooler> pooler_;
};

// load_encoder()'s factory for model_type "mpnet".
std::shared_ptr<Encoder> make_mpnet(const nlohmann::json& config,
                                    const std::filesystem::path& config_path,
                                    const std::filesystem::path& weights_path,
                                    const WeightShapes& shapes);

}  // namespace embedtune
