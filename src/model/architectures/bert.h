// BertModel: the Hugging Face BERT encoder in LibTorch, running on packed tokens.
//
// Submodules are registered under the Hugging Face key names (embeddings.word_embeddings,
// encoder.layer.{i}.attention.self.query, ..., LayerNorm), so named_parameters() plus
// named_buffers() IS the key list of a model.safetensors written by transformers.
// XLMRobertaModel (xlm_roberta.h) reuses the layers and pooler defined here, as transformers'
// modeling_xlm_roberta.py copies them from modeling_bert.py.
//
// Letters: B sequences, N packed tokens, T longest sequence, H hidden size.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/normalization.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json_fwd.hpp>

#include "model/architectures/bert_config.h"
#include "model/architectures/encoder.h"
#include "model/layers.h"
#include "model/packed_batch.h"

namespace embedtune {

// What BertModel runs before its layers: BERT's embeddings, or XLM-RoBERTa's (other positions).
struct BertFamilyEmbeddings : torch::nn::Module {
  virtual at::Tensor forward(const PackedBatch& batch) = 0;  // -> (N, H)
};

struct BertEmbeddings : BertFamilyEmbeddings {
  explicit BertEmbeddings(const BertConfig& config);
  at::Tensor forward(const PackedBatch& batch) override;  // -> (N, H)
  Embedding word_embeddings{nullptr}, position_embeddings{nullptr}, token_type_embeddings{nullptr};
  torch::nn::LayerNorm LayerNorm{nullptr};  // NOLINT: Hugging Face key name
  double dropout_p;
};

struct BertSelfAttention : torch::nn::Module {
  explicit BertSelfAttention(const BertConfig& config);
  Linear query{nullptr}, key{nullptr}, value{nullptr};
};

// A dense layer, dropout, then LayerNorm over the residual sum (attention.output and output).
struct BertResidualOutput : torch::nn::Module {
  BertResidualOutput(const BertConfig& config, int64_t in_features);
  at::Tensor forward(const at::Tensor& hidden, const at::Tensor& residual,
                     const PackedBatch& batch);
  Linear dense{nullptr};
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
  Linear dense{nullptr};
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
  Linear dense{nullptr};
};

// Registers "encoder" (a module holding "layer", a list of num_hidden_layers BertLayers) on
// `parent` and returns the list.
torch::nn::ModuleList register_bert_encoder(torch::nn::Module& parent, const BertConfig& config);

// Runs the layers of register_bert_encoder() over (N, H) hidden states.
at::Tensor run_bert_layers(const torch::nn::ModuleList& layers, at::Tensor hidden,
                           const PackedBatch& batch);

// The shapes config.json implies for the embedding tables and the last feed-forward layer must be
// the ones in the weights file (expect_weight_shape()).
void check_bert_shapes(const BertConfig& config, const WeightShapes& shapes,
                       const std::filesystem::path& config_path,
                       const std::filesystem::path& weights_path);

// "6 layers, 12 heads, hidden 384, intermediate 1536": Encoder::summary() of the BERT family.
std::string bert_summary(const BertConfig& config);

class BertModel : public Encoder {
 public:
  // `with_pooler`: register pooler.dense (present in most checkpoints; unused by sentence
  // embeddings but kept so a saved model carries every tensor it was loaded with).
  // `with_position_ids`: register the embeddings.position_ids buffer older checkpoints store.
  BertModel(const BertConfig& config, bool with_pooler, bool with_position_ids);

  at::Tensor forward(const PackedBatch& batch) override;
  int64_t hidden_size() const override { return config_.hidden_size; }
  int64_t max_sequence_length() const override { return config_.max_position_embeddings; }
  std::string architecture() const override { return "BertModel"; }
  std::string summary() const override;

  const BertConfig& config() const { return config_; }

 protected:
  // For models that differ from BERT in their embeddings only (XLMRobertaModel).
  BertModel(const BertConfig& config, std::shared_ptr<BertFamilyEmbeddings> embeddings,
            bool with_pooler, bool with_position_ids);

 private:
  BertConfig config_;
  std::shared_ptr<BertFamilyEmbeddings> embeddings_;
  torch::nn::ModuleList layers_;
  std::shared_ptr<BertPooler> pooler_;
};

// load_encoder()'s factory for model_type "bert".
std::shared_ptr<Encoder> make_bert(const nlohmann::json& config,
                                   const std::filesystem::path& config_path,
                                   const std::filesystem::path& weights_path,
                                   const WeightShapes& shapes);

}  // namespace embedtune
