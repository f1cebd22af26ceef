// BertModel: the Hugging Face BERT encoder in LibTorch, running on packed tokens.
//
// Submodules are registered under the Hugging Face key names (embeddings.word_embeddings,
// encoder.layer.{i}.attention.self.query, ..., LayerNorm), so named_parameters() plus
// named_buffers() IS the key list of a model.safetensors written by transformers.
//
// Letters: B sequences, N packed tokens, T longest sequence, H hidden size.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <memory>

#include "model/bert_config.h"
#include "model/packed_batch.h"

namespace embedtune {

// Dropout on packed (N, H) token rows. On CPU with padding, the mask is drawn over the padded
// (B*T, H) layout, as transformers draws it, so a seeded run matches sentence-transformers.
at::Tensor token_dropout(const at::Tensor& x, double p, bool training, const PackedBatch& batch);

struct BertEmbeddings : torch::nn::Module {
  explicit BertEmbeddings(const BertConfig& config);
  at::Tensor forward(const PackedBatch& batch);  // -> (N, H)
  torch::nn::Embedding word_embeddings{nullptr}, position_embeddings{nullptr},
      token_type_embeddings{nullptr};
  torch::nn::LayerNorm LayerNorm{nullptr};  // NOLINT: Hugging Face key name
  double dropout_p;
};

struct BertSelfAttention : torch::nn::Module {
  explicit BertSelfAttention(const BertConfig& config);
  torch::nn::Linear query{nullptr}, key{nullptr}, value{nullptr};
};

// A dense layer, dropout, then LayerNorm over the residual sum (attention.output and output).
struct BertResidualOutput : torch::nn::Module {
  BertResidualOutput(const BertConfig& config, int64_t in_features);
  at::Tensor forward(const at::Tensor& hidden, const at::Tensor& residual,
                     const PackedBatch& batch);
  torch::nn::Linear dense{nullptr};
  torch::nn::LayerNorm LayerNorm{nullptr};  // NOLINT: Hugging Face key name
  double dropout_p;
};

struct BertAttention : torch::nn::Module {
  explicit BertAttention(const BertConfig& config);
  at::Tensor forward(const at::Tensor& hidden, const PackedBatch& batch);  // (N, H) -> (N, H)
  std::shared_ptr<BertSelfAttention> self;
  std::shared_ptr<BertResidualOutput> output;
  int64_t num_heads, head_dim;
  double dropout_p;
};

struct BertIntermediate : torch::nn::Module {
  explicit BertIntermediate(const BertConfig& config);
  torch::nn::Linear dense{nullptr};
};

struct BertLayer : torch::nn::Module {
  explicit BertLayer(const BertConfig& config);
  at::Tensor forward(const at::Tensor& hidden, const PackedBatch& batch);
  std::shared_ptr<BertAttention> attention;
  std::shared_ptr<BertIntermediate> intermediate;
  std::shared_ptr<BertResidualOutput> output;
};

struct BertPooler : torch::nn::Module {
  explicit BertPooler(const BertConfig& config);
  torch::nn::Linear dense{nullptr};
};

class BertModel : public torch::nn::Module {
 public:
  // `with_pooler`: register pooler.dense (present in most checkpoints; unused by sentence
  // embeddings but kept so a saved model carries every tensor it was loaded with).
  // `with_position_ids`: register the embeddings.position_ids buffer older checkpoints store.
  BertModel(const BertConfig& config, bool with_pooler, bool with_position_ids);

  // Token embeddings of the last layer, packed: (N, H). Dropout only in training mode.
  at::Tensor forward(const PackedBatch& batch);

  const BertConfig& config() const { return config_; }
  bool has_pooler() const { return pooler_ != nullptr; }

 private:
  BertConfig config_;
  std::shared_ptr<BertEmbeddings> embeddings_;
  torch::nn::ModuleList layers_;
  std::shared_ptr<BertPooler> pooler_;
};

}  // namespace embedtune
