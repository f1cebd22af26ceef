// Rotary position embeddings, as transformers' compute_default_rope_parameters and
// apply_rotary_pos_emb.
#include "model/rotary.h"

#include <ATen/ATen.h>

namespace embedtune {

at::Tensor rotary_inv_freq(double theta, int64_t head_dim) {
  // transformers: 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float) / dim))
  const at::Tensor exponent =
      at::arange(0, head_dim, 2, at::TensorOptions().dtype(at::kFloat)) / head_dim;
  return at::reciprocal(at::pow(theta, exponent));
}

RotaryTables rotary_tables(const at::Tensor& positions, at::Tensor& inv_freq) {
  if (inv_freq.device() != positions.device()) inv_freq = inv_freq.to(positions.device());
  const at::Tensor freqs = positions.unsqueeze(-1).to(at::kFloat) * inv_freq;  // (N, d/2)
  const at::Tensor emb = at::cat({freqs, freqs}, -1);                          // (N, d)
  return {emb.cos().unsqueeze(1), emb.sin().unsqueeze(1)};
}

at::Tensor apply_rotary(const at::Tensor& x, const RotaryTables& tables) {
  // In float32 whatever x is, then back to x's type, as transformers does.
  const at::Tensor xf = x.to(at::kFloat);
  const int64_t half = x.size(-1) / 2;
  const at::Tensor rotated = at::cat({xf.slice(-1, half).neg(), xf.slice(-1, 0, half)}, -1);
  return (xf * tables.cos + rotated * tables.sin).to(x.scalar_type());
}

}  // namespace embedtune
