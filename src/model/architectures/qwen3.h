// Qwen3Model (model_type "qwen3"), as transformers' modeling_qwen3.py: the decoder that
// Qwen3-Embedding is built on. Token embeddings without positions, then pre-norm layers of
// causal grouped-query attention (RMSNorm on each query and key head, then rotary embeddings)
// and a SwiGLU feed-forward, and a final RMSNorm. Sentence embeddings come from last-token
// pooling (1_Pooling/config.json), as Qwen3-Embedding's folder says.
//
// Key names: embed_tokens,
// layers.{i}.{input_layernorm,self_attn.{q,k,v,o}_proj,self_attn.{q,k}_norm,
// post_attention_layernorm,mlp.{gate,up,down}_proj}, norm.
//
// Letters: N packed tokens, H hidden size, Q query heads, K key/value heads, d head size,
// I intermediate size.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>

#include "model/architectures/encoder.h"
#include "model/attention.h"
#include "model/layers.h"
#include "model/packed_batch.h"
#include "model/rotary.h"

namespace embedtune {

struct Qwen3Config {
  int64_t vocab_size = 151936;
  int64_t hidden_size = 4096;
  int64_t intermediate_size = 22016;
  int64_t num_hidden_layers = 32;
  int64_t num_attention_heads = 32;
  int64_t num_key_value_heads = 32;
  int64_t head_dim = 128;  // its own key: not hidden_size / num_attention_heads
  int64_t max_position_embeddings = 32768;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  bool attention_bias = false;
  double attention_dropout = 0.0;
  std::optional<int64_t> pad_token_id;  // the embedding's padding_idx: none unless set

  // Reads config.json in both layouts (transformers 5's rope_parameters, or rope_theta). Throws
  // embedtune::Error naming the file and key for a malformed or unsupported value: an activation
  // other than silu, a rope type other than default, sliding-window layers, query heads that are
  // not a multiple of the key/value heads.
  static Qwen3Config from_json(const nlohmann::json& json, const std::string& where);
};

// Qwen3RMSNorm: x / sqrt(mean(x^2) + eps) in float32, times weight.
struct Qwen3RMSNorm : torch::nn::Module {
  Qwen3RMSNorm(int64_t size, double eps);
  at::Tensor forward(const at::Tensor& x);
  at::Tensor weight;
  double eps;
};

struct Qwen3Attention : torch::nn::Module {
  explicit Qwen3Attention(const Qwen3Config& config);
  // (N, H) -> (N, H): each token attends to itself and the tokens before it in its sequence.
  // `causal`: AttentionPattern::causal_over(batch).
  at::Tensor forward(const at::Tensor& hidden, const RotaryTables& rotary,
                     const AttentionPattern& causal, const PackedBatch& batch);
  Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};
  std::shared_ptr<Qwen3RMSNorm> q_norm, k_norm;
  int64_t num_heads, num_kv_heads, head_dim;
  double dropout_p;
};

struct Qwen3MLP : torch::nn::Module {
  explicit Qwen3MLP(const Qwen3Config& config);
  at::Tensor forward(const at::Tensor& hidden);  // down(silu(gate(x)) * up(x)): (N, H) -> (N, H)
  Linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
};

struct Qwen3DecoderLayer : torch::nn::Module {
  explicit Qwen3DecoderLayer(const Qwen3Config& config);
  at::Tensor forward(const at::Tensor& hidden, const RotaryTables& rotary,
                     const AttentionPattern& causal, const PackedBatch& batch);
  std::shared_ptr<Qwen3RMSNorm> input_layernorm, post_attention_layernorm;
  std::shared_ptr<Qwen3Attention> self_attn;
  std::shared_ptr<Qwen3MLP> mlp;
};

class Qwen3Model : public Encoder {
 public:
  explicit Qwen3Model(const Qwen3Config& config);

  at::Tensor forward(const PackedBatch& batch) override;
  std::string architecture() const override { return "Qwen3Model"; }
  int64_t hidden_size() const override { return config_.hidden_size; }
  int64_t max_sequence_length() const override { return config_.max_position_embeddings; }
  std::string summary() const override;

 private:
  Qwen3Config config_;
  Embedding embed_tokens_{nullptr};
  torch::nn::ModuleList layers_;
  std::shared_ptr<Qwen3RMSNorm> norm_;
  at::Tensor inv_freq_;  // not registered: not in checkpoints
};

// load_encoder()'s factory for model_type "qwen3".
std::shared_ptr<Encoder> make_qwen3(const nlohmann::json& config,
                                    const std::filesystem::path& config_path,
                                    const std::filesystem::path& weights_path,
                                    const WeightShapes& shapes);

}  // namespace embedtune
