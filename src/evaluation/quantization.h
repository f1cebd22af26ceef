// Embedding quantization as sentence-transformers 6.2's quantize_embeddings does it (int8 scalar
// quantization calibrated per dimension, sign-bit binary packed as np.packbits), and the integer
// kernels that score quantized vectors: int8 inner products (exact int32 sums) and Hamming
// similarity over packed 64-bit words.
//
// Letters: N rows, D dimensions, B = ceil(D / 8) bytes of packed bits, W = ceil(B / 8) words.
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <string>

namespace embedtune::evaluation {

// Per-dimension int8 calibration: quantize_embeddings' `starts` and `steps`.
struct Int8Ranges {
  at::Tensor starts;  // (D) float32: the calibration minimum per dimension
  at::Tensor steps;   // (D) float32: (max - min) / 255 in float32, 1 where that is 0
};

// The ranges ST computes from `calibration` (N, D) float32 (N >= 1): min and max per column
// (_get_quantization_ranges), then steps = (max - min) / 255, with 1 for a zero range. Throws
// Error for an empty or non-2-D input.
Int8Ranges int8_ranges(const at::Tensor& calibration);

// quantize_embeddings(x, "int8", ranges): clip(floor((x - starts) / steps), 0, 255) - 128, all in
// float32 as numpy computes it. (N, D) float32 -> (N, D) int8. A value outside its dimension's
// calibration range is clipped to the range's end (as ST 6.2 does with np.clip), so queries
// quantized with the corpus ranges never wrap around.
at::Tensor quantize_int8(const at::Tensor& x, const Int8Ranges& ranges);

// quantize_embeddings(x, "ubinary"): the bits x > 0, packed 8 per byte, the first value in the
// most significant bit (np.packbits), the last byte zero-padded. (N, D) float32 -> (N, B) uint8.
at::Tensor quantize_ubinary(const at::Tensor& x);

// quantize_embeddings(x, "binary"): quantize_ubinary(x) - 128 as int8. (N, B) int8.
at::Tensor quantize_binary(const at::Tensor& x);

// ubinary rows (N, B) uint8 repacked as (N, W) int64 words (zero-padded), for hamming_similarity.
// Bit order inside a word does not matter to a Hamming distance, only that it is the same for all
// rows.
at::Tensor pack_words(const at::Tensor& ubinary);

// int8 row dot products: out[i][j] = sum_d q[i][d] * c[j][d], exact in int32 (|value| <= 2^14 D,
// so D <= 131072). q (Q, D) int8, c (C, D) int8, out (Q, C) int32, all contiguous CPU. Uses the
// AVX2 kernel where the CPU has AVX2 (checked once at run time), else the portable loop; both give
// the same integers. Runs on LibTorch's intra-op threads; thread-safe.
void int8_dot(const at::Tensor& q, const at::Tensor& c, at::Tensor& out);

// Hamming similarity of packed sign bits: out[i][j] = dims - 2 * popcount(q[i] ^ c[j]), the inner
// product of the ±1 vectors. q (Q, W), c (C, W) int64 words from pack_words, out (Q, C) int32.
void hamming_similarity(const at::Tensor& q, const at::Tensor& c, int64_t dims, at::Tensor& out);

// Which int8_dot kernel runs: "avx2" or "scalar". For tests and benchmarks only.
std::string int8_dot_kernel();
// Forces the portable kernel (true) or restores the run-time choice (false). Not thread-safe;
// for tests and benchmarks that compare the kernels.
void force_scalar_kernels(bool scalar);

}  // namespace embedtune::evaluation
