// Dropout noise drawn exactly as LibTorch draws it on the CPU, only faster.
//
// at::dropout(x, p, train=true) on a CPU tensor is x * noise with
//   noise = empty_like(x).bernoulli_(1 - p).div_(1 - p),
// and bernoulli_ walks the tensor in memory order drawing one 64-bit number per element from the
// default generator's mt19937 in a serial, per-element loop of out-of-line calls. dropout_noise()
// gives the same noise and leaves the generator in the same state, working on the engine's state
// words a chunk at a time. A one-time self-check against bernoulli_ guards the equivalence: where
// LibTorch draws differently (another build, another kernel), it falls back to bernoulli_ itself.
#pragma once

#include <ATen/core/Tensor.h>

#include "model/packed_batch.h"

namespace embedtune {

// The noise at::dropout would multiply a tensor of this shape and dtype by (CPU, 0 < p < 1).
at::Tensor dropout_noise(at::IntArrayRef shape, double p, const at::TensorOptions& options);

// Dropout on packed (N, H) token rows, for every architecture. On CPU with padding, the mask is
// drawn over the padded (B*T, H) layout, as transformers draws it, so a seeded run matches
// sentence-transformers.
at::Tensor token_dropout(const at::Tensor& x, double p, bool training, const PackedBatch& batch);

// Whether dropout_noise() uses its own loop (true) or had to fall back to bernoulli_ (false).
bool dropout_noise_is_fast();

}  // namespace embedtune
