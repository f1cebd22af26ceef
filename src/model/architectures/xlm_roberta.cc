// XLMRobertaModel: embeddings with padding-offset positions, then BERT's layers.
#include "model/architectures/xlm_roberta.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <string>

#include "io/error.h"
#include "model/dropout.h"

namespace embedtune {

at::Tensor padding_offset_position_ids(const PackedBatch& batch, int64_t padding_idx) {
  // transformers: mask = ids != padding_idx; (cumsum(mask, dim=1) * mask) + padding_idx. On
  // packed tokens the running count restarts at each sequence: subtract the count before it.
  const at::Tensor mask = batch.input_ids.ne(padding_idx).to(at::kLong);  // (N)
  const at::Tensor count = mask.cumsum(0);                                // (N), inclusive
  const int64_t b = batch.batch_size();
  const at::Tensor before = (count - mask).index_select(0, batch.offsets.slice(0, 0, b));  // (B)
  return (count - before.index_select(0, batch.segment_ids)) * mask + padding_idx;
}

XLMRobertaEmbeddings::XLMRobertaEmbeddings(const BertConfig& config)
    : padding_idx(config.pad_token_id), dropout_p(config.hidden_dropout_prob) {
  word_embeddings = register_module(
      "word_embeddings",
      token_embedding(config.vocab_size, config.hidden_size, config.word_padding_idx));
  position_embeddings = register_module(
      "position_embeddings", Embedding(config.max_position_embeddings, config.hidden_size));
  token_type_embeddings = register_module("token_type_embeddings",
                                          Embedding(config.type_vocab_size, config.hidden_size));
  LayerNorm = register_module(
      "LayerNorm",
      torch::nn::LayerNorm(
          torch::nn::LayerNormOptions({config.hidden_size}).eps(config.layer_norm_eps)));
}

at::Tensor XLMRobertaEmbeddings::forward(const PackedBatch& batch) {
  // As transformers' XLMRobertaEmbeddings: (word + token_type) + position, LayerNorm, dropout.
  // Token type 0 throughout (the all-zero token_type_ids buffer, or a BERT tokenizer's zeros).
  // Looked up per token rather than broadcast: the lookup's backward sums the row's gradient
  // token by token, in transformers' order, where a broadcast's reduction sums in another order
  // and drifts by about 1e-5 on a gradient summed over a few hundred tokens.
  const at::Tensor token_types = at::zeros_like(batch.input_ids);
  at::Tensor x =
      word_embeddings->forward(batch.input_ids) + token_type_embeddings->forward(token_types);
  x = x + position_embeddings->forward(padding_offset_position_ids(batch, padding_idx));
  x = LayerNorm->forward(x);
  return token_dropout(x, dropout_p, is_training(), batch);
}

XLMRobertaModel::XLMRobertaModel(const BertConfig& config, bool with_pooler, bool with_position_ids)
    : BertModel(config, std::make_shared<XLMRobertaEmbeddings>(config), with_pooler,
                with_position_ids) {}

std::shared_ptr<Encoder> make_xlm_roberta(const nlohmann::json& json,
                                          const std::filesystem::path& config_path,
                                          const std::filesystem::path& weights_path,
                                          const WeightShapes& shapes) {
  BertConfig defaults;  // XLMRobertaConfig / RobertaConfig defaults where they differ from BERT's
  defaults.pad_token_id = 1;
  const BertConfig config = BertConfig::from_json(json, config_path.string(), defaults);
  if (const auto it = json.find("is_decoder"); it != json.end() && *it == true) {
    fail("{}: is_decoder is true; embedtune runs {} as a bidirectional encoder only",
         config_path.string(), config.model_type);
  }
  if (config.pad_token_id < 0 || config.pad_token_id + 1 >= config.max_position_embeddings) {
    fail(
        "{}: pad_token_id {} leaves no positions below max_position_embeddings {}; positions "
        "start at pad_token_id + 1",
        config_path.string(), config.pad_token_id, config.max_position_embeddings);
  }
  check_bert_shapes(config, shapes, config_path, weights_path);
  return std::make_shared<XLMRobertaModel>(config, shapes.count("pooler.dense.weight") > 0,
                                           shapes.count("embeddings.position_ids") > 0);
}

}  // namespace embedtune
