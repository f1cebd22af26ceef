// Multi-head self-attention over packed tokens, shared by every architecture: the real tokens are
// scattered into a padded block only around scaled-dot-product attention, and dropout on the
// attention weights is drawn as transformers draws it.
//
// Letters: B sequences, N packed tokens, T longest sequence, H = heads * head_dim.
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <optional>

#include "model/packed_batch.h"

namespace embedtune {

// Which (query, key) pairs of a sequence may attend, besides padding, in the two forms the
// kernels take: as numbers (the varlen CUDA kernels on packed tokens) and as a mask over the
// padded layout (SDPA). Built once per forward by the model, shared by its layers.
struct AttentionPattern {
  bool causal = false;  // key <= query
  int64_t window = -1;  // |query - key| <= window; -1 for no window
  // The same pairs as a (1, 1, T, T) bool mask, true where allowed; undefined for all pairs.
  at::Tensor allowed;

  // Every pair (BERT, MPNet, ModernBERT's global layers).
  static AttentionPattern full() { return {}; }
  // Decoder attention (Qwen3): each token sees itself and the tokens before it.
  static AttentionPattern causal_over(const PackedBatch& batch);
  // ModernBERT's local layers: |query - key| <= window. A batch no longer than the window needs
  // no pattern at all, and gets full().
  static AttentionPattern sliding_window(const PackedBatch& batch, int64_t window);
};

struct AttentionOptions {
  int64_t num_heads = 0;
  int64_t head_dim = 0;
  double dropout_p = 0.0;  // on the attention weights, in training only
  bool training = false;
  // Added to the scaled scores before softmax (MPNet's relative position bias): (B or 1, heads,
  // T, T). Undefined for none.
  at::Tensor score_bias;
  AttentionPattern pattern;
};

// (1, 1, T, T) bool, true where |query - key| <= window: a bidirectional sliding window.
at::Tensor sliding_window_pairs(int64_t t, int64_t window, const at::Device& device);

// qkv: (N, 3H), the query, key and value projections side by side. Returns the (N, H) context
// (heads concatenated, before the output projection). Each token attends to the real tokens of
// its own sequence only. On CUDA, without a score bias, the packed tokens go straight into the
// varlen kernels (flash attention for bf16/fp16, the memory-efficient kernel for fp32; see
// varlen_attention). Elsewhere they are padded around SDPA. On the CPU in training with dropout,
// the weights are computed as LibTorch's SDPA math path computes them and the dropout noise
// comes from dropout_noise(), so a seeded run drops what transformers' SDPA or eager attention
// drops.
at::Tensor packed_attention(const at::Tensor& qkv, const PackedBatch& batch,
                            const AttentionOptions& options);

// The varlen CUDA path alone: the (N, H) context from the kernels that take packed tokens and
// the cumulative sequence lengths (batch.offsets), or nullopt where they do not apply (not CUDA,
// a score bias, a head size flash attention lacks, a window this LibTorch's kernel cannot take),
// in which case packed_attention pads.
std::optional<at::Tensor> varlen_attention(const at::Tensor& qkv, const PackedBatch& batch,
                                           const AttentionOptions& options);

// A varlen kernel that fails is taken to be one this GPU lacks: varlen_attention says so once
// and pads around SDPA from then on. While a KernelFailuresPropagate lives on this thread, the
// failure is thrown instead and nothing is switched off. A CUDA graph's capture holds one: a
// kernel that fails there failed the capture (an operator before it may have broken it), and the
// GPU runs the kernel well outside it.
class KernelFailuresPropagate {
 public:
  KernelFailuresPropagate();
  ~KernelFailuresPropagate();
  KernelFailuresPropagate(const KernelFailuresPropagate&) = delete;
  KernelFailuresPropagate& operator=(const KernelFailuresPropagate&) = delete;
  static bool active();  // on this thread
};

}  // namespace embedtune
