// packed_attention: pad, attend, unpad.
#include "model/attention.h"

#include <ATen/ATen.h>

#include <cmath>
#include <limits>
#include <vector>

#include "model/dropout.h"

namespace embedtune {

at::Tensor packed_attention(const at::Tensor& qkv_packed, const PackedBatch& batch,
                            const AttentionOptions& options) {
  const int64_t b = batch.batch_size(), t = batch.max_length;
  const int64_t heads = options.num_heads, head_dim = options.head_dim, h = heads * head_dim;
  at::Tensor qkv = qkv_packed;
  if (!batch.uniform) {
    // Pad around attention only: scatter the real tokens into a zeroed (B*T, 3H) block.
    qkv = at::zeros({b * t, 3 * h}, qkv.options()).index_copy(0, batch.padded_index, qkv);
  }
  // (B, T, 3, heads, d) -> three (B, heads, T, d) views.
  // unbind, not parts[i]: its backward stacks the three gradients into one tensor instead of
  // summing three zero-filled full-size ones.
  const std::vector<at::Tensor> parts =
      qkv.view({b, t, 3, heads, head_dim}).permute({2, 0, 3, 1, 4}).unbind(0);
  const bool dropout = options.training && options.dropout_p > 0.0;
  const bool has_bias = options.score_bias.defined();
  // The pairs that may attend: real keys, within the allowed pattern.
  std::optional<at::Tensor> allowed;
  if (!batch.uniform) allowed = batch.key_mask;
  if (options.allowed.defined()) {
    if (allowed) {
      // Padding queries (rows dropped afterwards) see every real key: a row with no key at all
      // would be NaN, and NaN survives into the gradients through the softmax backward.
      const at::Tensor padding_query = batch.key_mask.transpose(-1, -2).logical_not();
      allowed = at::logical_and(*allowed, at::logical_or(options.allowed, padding_query));
    } else {
      allowed = options.allowed;
    }
  }
  // The additive mask: the score bias, with -inf where a pair may not attend.
  std::optional<at::Tensor> mask;
  if (allowed) {
    const float minus_inf = -std::numeric_limits<float>::infinity();
    at::Tensor blocked =
        at::zeros(allowed->sizes(), qkv.options()).masked_fill_(allowed->logical_not(), minus_inf);
    mask = has_bias ? options.score_bias + blocked : blocked;
  } else if (has_bias) {
    mask = options.score_bias;
  }
  at::Tensor context;
  if (dropout && qkv.device().is_cpu()) {
    // SDPA's math path as LibTorch runs it on CPU with dropout (q and k each scaled by
    // sqrt(1/sqrt(d)), additive mask, softmax, dropout on the (B, heads, T, T) weights), spelled
    // out so the dropout noise comes from dropout_noise(): same draws, less time.
    const double scale = std::sqrt(1.0 / std::sqrt(static_cast<double>(head_dim)));
    at::Tensor weights = at::matmul(parts[0] * scale, parts[1].transpose(-2, -1) * scale);
    if (mask) weights = weights + *mask;
    weights = at::softmax(weights, -1);
    weights = weights * dropout_noise(weights.sizes(), options.dropout_p, weights.options());
    context = at::matmul(weights, parts[2]);
  } else {
    // Without a bias, a boolean mask lets SDPA pick its fused kernels.
    const std::optional<at::Tensor> sdpa_mask = has_bias ? mask : allowed;
    context = at::scaled_dot_product_attention(parts[0], parts[1], parts[2], sdpa_mask,
                                               dropout ? options.dropout_p : 0.0,
                                               /*is_causal=*/false);
  }
  context = context.transpose(1, 2).reshape({b * t, h});                      // (B*T, H)
  if (!batch.uniform) context = context.index_select(0, batch.padded_index);  // (N, H)
  return context;
}

at::Tensor sliding_window_pairs(int64_t t, int64_t window, const at::Device& device) {
  const at::Tensor index = at::arange(t, at::TensorOptions().dtype(at::kLong).device(device));
  return (index.unsqueeze(0) - index.unsqueeze(1)).abs().le(window).view({1, 1, t, t});
}

}  // namespace embedtune
