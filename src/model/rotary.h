// Rotary position embeddings (RoPE) on packed tokens, as transformers' default rope type computes
// them (ModernBERT, Qwen3): the same tensor operations in the same order, so fp32 results agree
// bit for bit.
//
// Letters: N packed tokens, d head dimension.
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>

namespace embedtune {

// 1 / theta^(2i / d) for i in 0..d/2-1: (d/2) float32.
at::Tensor rotary_inv_freq(double theta, int64_t head_dim);

struct RotaryTables {
  at::Tensor cos, sin;  // (N, 1, d): broadcast over heads
};

// cos and sin of position * inv_freq, each frequency used twice ([f, f]): the tables for the
// (N) int64 positions. `inv_freq` is moved to the positions' device in place, the first time only:
// a model keeps it out of its parameters and buffers (checkpoints do not hold it), so model.to()
// leaves it on the CPU, and copying it in every forward would make the host wait for the GPU
// each step and could not be captured in a CUDA graph.
RotaryTables rotary_tables(const at::Tensor& positions, at::Tensor& inv_freq);

// x * cos + rotate_half(x) * sin for x of shape (N, heads, d), rotate_half(x) = [-x2, x1],
// computed in float32 and returned in x's dtype.
at::Tensor apply_rotary(const at::Tensor& x, const RotaryTables& tables);

}  // namespace embedtune
