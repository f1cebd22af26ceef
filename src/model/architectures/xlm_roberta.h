// XLMRobertaModel (model_type "xlm-roberta") and RobertaModel ("roberta"): BERT with position
// ids that start after the padding index, as transformers' modeling_xlm_roberta.py and
// modeling_roberta.py (the two are the same network; so is candle's xlm_roberta.rs for both).
//
// Key names are BERT's (embeddings.*, encoder.layer.{i}.*, pooler.dense); the layers and pooler
// are bert.h's. Only the embeddings differ.
//
// Letters: B sequences, N packed tokens, H hidden size.
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

// Position ids as fairseq's make_positions, per sequence on packed tokens: a token whose id is
// `padding_idx` gets padding_idx; every other token gets padding_idx + (how many non-padding
// tokens its sequence has up to and including it). (N) int64 on the batch's device.
at::Tensor padding_offset_position_ids(const PackedBatch& batch, int64_t padding_idx);

struct XLMRobertaEmbeddings : BertFamilyEmbeddings {
  explicit XLMRobertaEmbeddings(const BertConfig& config);
  at::Tensor forward(const PackedBatch& batch) override;  // -> (N, H)
  Embedding word_embeddings{nullptr}, position_embeddings{nullptr}, token_type_embeddings{nullptr};
  torch::nn::LayerNorm LayerNorm{nullptr};  // NOLINT: Hugging Face key name
  int64_t padding_idx;
  double dropout_p;
};

// BertModel with XLM-RoBERTa's embeddings: the same modules and key names otherwise.
class XLMRobertaModel : public BertModel {
 public:
  // `with_pooler`, `with_position_ids`: as BertModel.
  XLMRobertaModel(const BertConfig& config, bool with_pooler, bool with_position_ids);

  // Positions padding_idx + 1 .. max_position_embeddings - 1 are usable: 512 for a table of 514.
  int64_t max_sequence_length() const override {
    return config().max_position_embeddings - config().pad_token_id - 1;
  }
  std::string architecture() const override {
    return config().model_type == "roberta" ? "RobertaModel" : "XLMRobertaModel";
  }
};

// load_encoder()'s factory for model_type "xlm-roberta" and "roberta".
std::shared_ptr<Encoder> make_xlm_roberta(const nlohmann::json& config,
                                          const std::filesystem::path& config_path,
                                          const std::filesystem::path& weights_path,
                                          const WeightShapes& shapes);

}  // namespace embedtune
