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

struct AttentionOptions {
  int64_t num_heads = 0;
  int64_t head_dim = 0;
  double dropout_p = 0.0;  // on the attention weights, in training only
  bool training = false;
  // Added to the scaled scores before softmax (MPNet's relative position bias): (B or 1, heads,
  // T, T). Undefined for none.
  at::Tensor score_bias;
  // Which (query, key) pairs may attend besides padding (ModernBERT's sliding window): bool
  // (1, 1, T, T), true where allowed. Undefined for all pairs.
  at::Tensor allowed;
};

// (1, 1, T, T) bool, true where |query - key| <= window: a bidirectional sliding window.
at::Tensor sliding_window_pairs(int64_t t, int64_t window, const at::Device& device);

// qkv: (N, 3H), the query, key and value projections side by side. Returns the (N, H) context
// (heads concatenated, before the output projection). Each token attends to the real tokens of
// its own sequence only. On the CPU in training with dropout, the weights are computed as
// LibTorch's SDPA math path computes them and the dropout noise comes from dropout_noise(), so a
// seeded run drops what transformers' SDPA or eager attention drops.
at::Tensor packed_attention(const at::Tensor& qkv, const PackedBatch& batch,
                            const AttentionOptions& options);

}  // namespace embedtune
