// ModernBertModel (model_type "modernbert"), as transformers' modeling_modernbert.py: rotary
// position embeddings with a global and a local theta, full attention every
// global_attn_every_n_layers layers and a bidirectional sliding window (local_attention / 2 each
// side) in the others, GeGLU feed-forward, pre-norm layers (the first without attn_norm), no
// biases unless the config asks for them, and a final norm.
//
// Key names: embeddings.{tok_embeddings,norm}, layers.{i}.{attn_norm,attn.Wqkv,attn.Wo,mlp_norm,
// mlp.Wi,mlp.Wo}, final_norm.
//
// Letters: B sequences, N packed tokens, T longest sequence, H hidden size, I intermediate size.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "model/architectures/encoder.h"
#include "model/attention.h"
#include "model/layers.h"
#include "model/packed_batch.h"
#include "model/rotary.h"

namespace embedtune {

struct ModernBertConfig {
  int64_t vocab_size = 50368;
  int64_t hidden_size = 768;
  int64_t intermediate_size = 1152;
  int64_t num_hidden_layers = 22;
  int64_t num_attention_heads = 12;
  int64_t max_position_embeddings = 8192;
  double norm_eps = 1e-5;
  bool norm_bias = false;
  bool attention_bias = false;
  bool mlp_bias = false;
  double attention_dropout = 0.0;
  double embedding_dropout = 0.0;
  double mlp_dropout = 0.0;
  int64_t local_attention = 128;  // the whole window: local_attention / 2 on each side
  std::optional<int64_t> pad_token_id = 50283;  // the embedding's padding_idx
  double global_rope_theta = 160000.0;
  double local_rope_theta = 10000.0;
  std::vector<bool> sliding;  // per layer: sliding-window (local) attention, else full

  int64_t head_dim() const { return hidden_size / num_attention_heads; }

  // Reads both config.json layouts: transformers 5's layer_types and rope_parameters, and the
  // one on the Hub (global_attn_every_n_layers, global_rope_theta, local_rope_theta). Throws
  // embedtune::Error naming the file and key for a malformed or unsupported value (an activation
  // other than gelu, a rope type other than default).
  static ModernBertConfig from_json(const nlohmann::json& json, const std::string& where);
};

// LayerNorm whose bias is optional (norm_bias), registered as "weight" and maybe "bias".
struct ModernBertLayerNorm : torch::nn::Module {
  ModernBertLayerNorm(int64_t size, double eps, bool with_bias);
  at::Tensor forward(const at::Tensor& x);
  at::Tensor weight, bias;
  double eps;
};

struct ModernBertEmbeddings : torch::nn::Module {
  explicit ModernBertEmbeddings(const ModernBertConfig& config);
  at::Tensor forward(const PackedBatch& batch);  // -> (N, H)
  Embedding tok_embeddings{nullptr};
  std::shared_ptr<ModernBertLayerNorm> norm;
  double dropout_p;
};

struct ModernBertAttention : torch::nn::Module {
  explicit ModernBertAttention(const ModernBertConfig& config);
  // (N, H) -> (N, H). `rotary`: the tables of this layer's theta; `pattern`: the sliding window
  // for a local layer, full() for a global one.
  at::Tensor forward(const at::Tensor& hidden, const RotaryTables& rotary,
                     const AttentionPattern& pattern, const PackedBatch& batch);
  Linear Wqkv{nullptr}, Wo{nullptr};  // NOLINT: Hugging Face key names
  int64_t num_heads, head_dim;
  double dropout_p;
};

struct ModernBertMLP : torch::nn::Module {
  explicit ModernBertMLP(const ModernBertConfig& config);
  at::Tensor forward(const at::Tensor& hidden, const PackedBatch& batch);  // (N, H) -> (N, H)
  Linear Wi{nullptr}, Wo{nullptr};  // NOLINT: Hugging Face key names
  double dropout_p;
};

struct ModernBertEncoderLayer : torch::nn::Module {
  ModernBertEncoderLayer(const ModernBertConfig& config, int64_t index);
  at::Tensor forward(const at::Tensor& hidden, const RotaryTables& rotary,
                     const AttentionPattern& pattern, const PackedBatch& batch);
  std::shared_ptr<ModernBertLayerNorm> attn_norm;  // null in layer 0 (an identity there)
  std::shared_ptr<ModernBertAttention> attn;
  std::shared_ptr<ModernBertLayerNorm> mlp_norm;
  std::shared_ptr<ModernBertMLP> mlp;
};

class ModernBertModel : public Encoder {
 public:
  explicit ModernBertModel(const ModernBertConfig& config);

  at::Tensor forward(const PackedBatch& batch) override;
  std::string architecture() const override { return "ModernBertModel"; }
  int64_t hidden_size() const override { return config_.hidden_size; }
  int64_t max_sequence_length() const override { return config_.max_position_embeddings; }
  std::string summary() const override;

 private:
  ModernBertConfig config_;
  std::shared_ptr<ModernBertEmbeddings> embeddings_;
  torch::nn::ModuleList layers_;
  std::shared_ptr<ModernBertLayerNorm> final_norm_;
  at::Tensor global_inv_freq_, local_inv_freq_;  // not registered: not in checkpoints
};

// load_encoder()'s factory for model_type "modernbert".
std::shared_ptr<Encoder> make_modernbert(const nlohmann::json& config,
                                         const std::filesystem::path& config_path,
                                         const std::filesystem::path& weights_path,
                                         const WeightShapes& shapes);

}  // namespace embedtune
