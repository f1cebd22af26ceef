// packed_attention: the varlen kernels on CUDA, else pad, attend, unpad.
#include "model/attention.h"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <fmt/format.h>

#include <atomic>
#include <cmath>
#include <limits>
#include <vector>

#include "model/dropout.h"

namespace embedtune {
namespace {

thread_local int kernel_failures_propagate = 0;

}  // namespace

KernelFailuresPropagate::KernelFailuresPropagate() { ++kernel_failures_propagate; }
KernelFailuresPropagate::~KernelFailuresPropagate() { --kernel_failures_propagate; }
bool KernelFailuresPropagate::active() { return kernel_failures_propagate > 0; }

AttentionPattern AttentionPattern::causal_over(const PackedBatch& batch) {
  const int64_t t = batch.max_length;
  const at::Tensor index = at::arange(t, batch.input_ids.options().dtype(at::kLong));
  // In the padded layout too: a row's real tokens are contiguous (after its padding when left
  // padded), so key <= query there is key <= query within the sequence, once padding keys are
  // masked.
  return {.causal = true,
          .window = -1,
          .allowed = index.unsqueeze(0).le(index.unsqueeze(1)).view({1, 1, t, t})};
}

AttentionPattern AttentionPattern::sliding_window(const PackedBatch& batch, int64_t window) {
  if (batch.max_length - 1 <= window) return full();
  return {.causal = false,
          .window = window,
          .allowed = sliding_window_pairs(batch.max_length, window, batch.input_ids.device())};
}

std::optional<at::Tensor> varlen_attention(const at::Tensor& qkv, const PackedBatch& batch,
                                           const AttentionOptions& options) {
  const int64_t heads = options.num_heads, head_dim = options.head_dim;
  // Both kernels want head sizes in steps of 8 up to 256 (SDPA pads others; these are not).
  if (!qkv.is_cuda() || options.score_bias.defined() || head_dim % 8 != 0 || head_dim > 256) {
    return std::nullopt;
  }
  const AttentionPattern& pattern = options.pattern;
  const int64_t n = qkv.size(0);
  const std::vector<at::Tensor> parts = qkv.view({n, 3, heads, head_dim}).unbind(1);
  const at::Tensor q = parts[0].contiguous(), k = parts[1].contiguous(),
                   v = parts[2].contiguous();  // each (N, heads, d)
  const at::Tensor cu_seqlens = batch.offsets.to(at::kInt);
  const double dropout_p = options.training ? options.dropout_p : 0.0;
  const int64_t t = batch.max_length;
  const at::ScalarType dtype = qkv.scalar_type();
  const bool flash = dtype == at::kBFloat16 || dtype == at::kHalf;
  if (!flash && dtype != at::kFloat) return std::nullopt;
  // A kernel this GPU lacks (flash attention needs Ampere or newer) fails on its first call; from
  // then on attention pads around SDPA, which picks what the GPU has.
  static std::atomic<bool> flash_unavailable{false}, efficient_unavailable{false};
  std::atomic<bool>& unavailable = flash ? flash_unavailable : efficient_unavailable;
  if (unavailable.load(std::memory_order_relaxed)) return std::nullopt;
  at::Tensor context;
  try {
    if (flash) {
      // Flash attention: window_size_left/right (-1: unbounded) take the sliding window (both
      // arguments exist, and reach the backward, from LibTorch 2.4 on).
      const std::optional<int64_t> left =
          pattern.window >= 0 ? std::optional<int64_t>(pattern.window) : std::nullopt;
      const std::optional<int64_t> right =
          pattern.window >= 0 ? std::optional<int64_t>(pattern.window) : std::nullopt;
      context = std::get<0>(at::_flash_attention_forward(
          q, k, v, cu_seqlens, cu_seqlens, t, t, dropout_p, pattern.causal,
          /*return_debug_mask=*/false, /*scale=*/std::nullopt, left, right));
    } else {
      // The memory-efficient kernel, fp32's fallback: (1, N, heads, d) with cu_seqlens; custom
      // mask 1 is causal from the top left (the same as bottom right: queries and keys are the
      // same sequence). It has no two-sided window.
      if (pattern.window >= 0) return std::nullopt;
      const bool needs_grad = at::GradMode::is_enabled() && qkv.requires_grad();
      context = std::get<0>(at::_efficient_attention_forward(
                                q.unsqueeze(0), k.unsqueeze(0), v.unsqueeze(0),
                                /*bias=*/std::nullopt, cu_seqlens, cu_seqlens, t, t, dropout_p,
                                /*custom_mask_type=*/pattern.causal ? 1 : 0,
                                /*compute_log_sumexp=*/needs_grad))
                    .squeeze(0);
    }
  } catch (const c10::Error& error) {
    if (KernelFailuresPropagate::active()) throw;
    if (!unavailable.exchange(true)) {
      fmt::print(stderr,
                 "embedtune: the {} attention kernel is not available here ({}); attention pads "
                 "around scaled-dot-product attention instead\n",
                 flash ? "flash" : "memory-efficient", error.what_without_backtrace());
    }
    return std::nullopt;
  }
  return context.reshape({n, heads * head_dim});  // (N, H)
}

at::Tensor packed_attention(const at::Tensor& qkv_packed, const PackedBatch& batch,
                            const AttentionOptions& options) {
  if (std::optional<at::Tensor> context = varlen_attention(qkv_packed, batch, options)) {
    return *context;
  }
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
  const at::Tensor& pattern_allowed = options.pattern.allowed;
  if (pattern_allowed.defined()) {
    if (allowed) {
      // Padding queries (rows dropped afterwards) see every real key: a row with no key at all
      // would be NaN, and NaN survives into the gradients through the softmax backward.
      const at::Tensor padding_query = batch.key_mask.transpose(-1, -2).logical_not();
      allowed = at::logical_and(*allowed, at::logical_or(pattern_allowed, padding_query));
    } else {
      allowed = pattern_allowed;
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
