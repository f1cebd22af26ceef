// quantize_embeddings (int8, binary, ubinary) and the integer scoring kernels.
#include "evaluation/quantization.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "io/error.h"
#include "model/parallel_for.h"

namespace embedtune::evaluation {
namespace {

std::atomic<bool> g_force_scalar{false};

void check_float_matrix(const at::Tensor& x, const char* what) {
  if (!x.defined() || x.dim() != 2 || x.scalar_type() != at::kFloat || !x.device().is_cpu()) {
    fail("{}: expected a 2-D float32 CPU tensor, found {}", what,
         x.defined() ? fmt::format("{}-D {}", x.dim(), c10::toString(x.scalar_type()))
                     : std::string("an undefined tensor"));
  }
}

constexpr int64_t kDocTile = 64;  // corpus rows scored per task: 64 x 768 int16 = 96 KiB

// ---- int8 inner products ----

// Portable: exact int32 sums (the compiler vectorises the inner loop where it can).
void int8_dot_scalar(const int8_t* q, int64_t n_q, const int8_t* c, int64_t c_begin, int64_t c_end,
                     int64_t d, int32_t* out, int64_t n_c) {
  for (int64_t i = 0; i < n_q; ++i) {
    const int8_t* qi = q + i * d;
    for (int64_t j = c_begin; j < c_end; ++j) {
      const int8_t* cj = c + j * d;
      int32_t sum = 0;
      for (int64_t t = 0; t < d; ++t) sum += int32_t{qi[t]} * int32_t{cj[t]};
      out[i * n_c + j] = sum;
    }
  }
}

// dims - 2 x Hamming distance for every (query, document) pair; inlined into each caller, so
// __builtin_popcountll becomes the popcnt instruction where the caller is compiled for it.
inline __attribute__((always_inline)) void hamming_loop(const uint64_t* q, int64_t n_q,
                                                        const uint64_t* c, int64_t c_begin,
                                                        int64_t c_end, int64_t words, int64_t dims,
                                                        int32_t* out, int64_t n_c) {
  for (int64_t i = 0; i < n_q; ++i) {
    const uint64_t* qi = q + i * words;
    for (int64_t j = c_begin; j < c_end; ++j) {
      const uint64_t* cj = c + j * words;
      int64_t distance = 0;
      for (int64_t w = 0; w < words; ++w) distance += __builtin_popcountll(qi[w] ^ cj[w]);
      out[i * n_c + j] = static_cast<int32_t>(dims - 2 * distance);
    }
  }
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) inline int32_t hsum_epi32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm_cvtsi128_si32(s);
}

__attribute__((target("avx2"))) inline __m256i load16(const int16_t* base, int64_t row,
                                                      int64_t stride, int64_t t) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(base + row * stride + t));
}

// AVX2: values widened to int16 (queries once, each corpus tile once), then _mm256_madd_epi16
// (16 products, summed in pairs into 8 int32 lanes: |pair| <= 2^15, exact) on a 2 x 2 register
// tile. `q16` holds the queries as int16, `stride` values per row (D rounded up to 16, zero
// padded), so no tail loop is needed.
__attribute__((target("avx2"))) void int8_dot_avx2(const int16_t* q16, int64_t n_q, const int8_t* c,
                                                   int64_t c_begin, int64_t c_end, int64_t d,
                                                   int64_t stride, int32_t* out, int64_t n_c) {
  const int64_t n_tile = c_end - c_begin;
  std::vector<int16_t> c16(static_cast<size_t>(n_tile * stride), 0);
  for (int64_t j = 0; j < n_tile; ++j) {
    const int8_t* src = c + (c_begin + j) * d;
    int16_t* dst = c16.data() + j * stride;
    for (int64_t t = 0; t < d; ++t) dst[t] = src[t];
  }
  int64_t i = 0;
  for (; i + 1 < n_q; i += 2) {
    int64_t j = 0;
    for (; j + 1 < n_tile; j += 2) {
      __m256i a00 = _mm256_setzero_si256(), a01 = a00, a10 = a00, a11 = a00;
      for (int64_t t = 0; t < stride; t += 16) {
        const __m256i q0 = load16(q16, i, stride, t), q1 = load16(q16, i + 1, stride, t);
        const __m256i c0 = load16(c16.data(), j, stride, t),
                      c1 = load16(c16.data(), j + 1, stride, t);
        a00 = _mm256_add_epi32(a00, _mm256_madd_epi16(q0, c0));
        a01 = _mm256_add_epi32(a01, _mm256_madd_epi16(q0, c1));
        a10 = _mm256_add_epi32(a10, _mm256_madd_epi16(q1, c0));
        a11 = _mm256_add_epi32(a11, _mm256_madd_epi16(q1, c1));
      }
      out[i * n_c + c_begin + j] = hsum_epi32(a00);
      out[i * n_c + c_begin + j + 1] = hsum_epi32(a01);
      out[(i + 1) * n_c + c_begin + j] = hsum_epi32(a10);
      out[(i + 1) * n_c + c_begin + j + 1] = hsum_epi32(a11);
    }
    for (; j < n_tile; ++j) {
      __m256i a0 = _mm256_setzero_si256(), a1 = a0;
      for (int64_t t = 0; t < stride; t += 16) {
        const __m256i cv = load16(c16.data(), j, stride, t);
        a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(load16(q16, i, stride, t), cv));
        a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(load16(q16, i + 1, stride, t), cv));
      }
      out[i * n_c + c_begin + j] = hsum_epi32(a0);
      out[(i + 1) * n_c + c_begin + j] = hsum_epi32(a1);
    }
  }
  for (; i < n_q; ++i) {
    for (int64_t j = 0; j < n_tile; ++j) {
      __m256i a = _mm256_setzero_si256();
      for (int64_t t = 0; t < stride; t += 16) {
        a = _mm256_add_epi32(
            a, _mm256_madd_epi16(load16(q16, i, stride, t), load16(c16.data(), j, stride, t)));
      }
      out[i * n_c + c_begin + j] = hsum_epi32(a);
    }
  }
}

__attribute__((target("popcnt"))) void hamming_popcnt(const uint64_t* q, int64_t n_q,
                                                      const uint64_t* c, int64_t c_begin,
                                                      int64_t c_end, int64_t words, int64_t dims,
                                                      int32_t* out, int64_t n_c) {
  hamming_loop(q, n_q, c, c_begin, c_end, words, dims, out, n_c);
}
#endif

void hamming_portable(const uint64_t* q, int64_t n_q, const uint64_t* c, int64_t c_begin,
                      int64_t c_end, int64_t words, int64_t dims, int32_t* out, int64_t n_c) {
  hamming_loop(q, n_q, c, c_begin, c_end, words, dims, out, n_c);
}

bool cpu_has_avx2() {
#if defined(__x86_64__)
  static const bool has = __builtin_cpu_supports("avx2");
  return has;
#else
  return false;
#endif
}

bool cpu_has_popcnt() {
#if defined(__x86_64__)
  static const bool has = __builtin_cpu_supports("popcnt");
  return has;
#else
  return false;
#endif
}

void check_out(const at::Tensor& out, int64_t rows, int64_t cols, const char* what) {
  TORCH_INTERNAL_ASSERT(out.defined() && out.scalar_type() == at::kInt && out.is_contiguous() &&
                            out.dim() == 2 && out.size(0) == rows && out.size(1) == cols,
                        what, ": out must be a contiguous (", rows, ", ", cols, ") int32 tensor");
}

}  // namespace

Int8Ranges int8_ranges(const at::Tensor& calibration) {
  check_float_matrix(calibration, "int8_ranges");
  if (calibration.size(0) < 1)
    fail("int8_ranges: no calibration embeddings; int8 needs at least one corpus vector");
  const at::Tensor x = calibration.contiguous();
  Int8Ranges r;
  r.starts = std::get<0>(x.min(0)).contiguous();
  const at::Tensor maxs = std::get<0>(x.max(0)).contiguous();
  r.steps = at::empty_like(r.starts);
  const float* lo = r.starts.data_ptr<float>();
  const float* hi = maxs.data_ptr<float>();
  float* steps = r.steps.data_ptr<float>();
  for (int64_t k = 0; k < r.starts.size(0); ++k) {
    // numpy: (ranges[1] - starts) / 255 in float32; np.where(steps == 0, 1, steps).
    const float step = (hi[k] - lo[k]) / 255.0f;
    steps[k] = step == 0.0f ? 1.0f : step;
  }
  return r;
}

at::Tensor quantize_int8(const at::Tensor& x, const Int8Ranges& ranges) {
  check_float_matrix(x, "quantize_int8");
  const int64_t n = x.size(0), d = x.size(1);
  TORCH_INTERNAL_ASSERT(ranges.starts.numel() == d && ranges.steps.numel() == d);
  const at::Tensor in = x.contiguous();
  at::Tensor out = at::empty({n, d}, at::kChar);
  const float* src = in.data_ptr<float>();
  const float* starts = ranges.starts.data_ptr<float>();
  const float* steps = ranges.steps.data_ptr<float>();
  int8_t* dst = out.data_ptr<int8_t>();
  at::parallel_for(0, n, 256, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      for (int64_t k = 0; k < d; ++k) {
        // Each float32 operation rounds as numpy's does; NaN compares false and ends up at 0.
        const float v = std::floor((src[i * d + k] - starts[k]) / steps[k]);
        const float clipped = v > 255.0f ? 255.0f : (v >= 0.0f ? v : 0.0f);
        dst[i * d + k] = static_cast<int8_t>(static_cast<int>(clipped) - 128);
      }
    }
  });
  return out;
}

at::Tensor quantize_ubinary(const at::Tensor& x) {
  check_float_matrix(x, "quantize_ubinary");
  const int64_t n = x.size(0), d = x.size(1), bytes = (d + 7) / 8;
  const at::Tensor in = x.contiguous();
  at::Tensor out = at::zeros({n, bytes}, at::kByte);
  const float* src = in.data_ptr<float>();
  uint8_t* dst = out.data_ptr<uint8_t>();
  at::parallel_for(0, n, 1024, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      for (int64_t k = 0; k < d; ++k) {
        if (src[i * d + k] > 0.0f) dst[i * bytes + k / 8] |= static_cast<uint8_t>(0x80u >> (k % 8));
      }
    }
  });
  return out;
}

at::Tensor quantize_binary(const at::Tensor& x) {
  // (packed - 128) as int8: the same bytes with the top bit flipped.
  return (quantize_ubinary(x).to(at::kInt) - 128).to(at::kChar);
}

at::Tensor pack_words(const at::Tensor& ubinary) {
  TORCH_INTERNAL_ASSERT(ubinary.dim() == 2 && ubinary.scalar_type() == at::kByte);
  const int64_t n = ubinary.size(0), bytes = ubinary.size(1), words = (bytes + 7) / 8;
  at::Tensor out = at::zeros({n, words}, at::kLong);
  const at::Tensor in = ubinary.contiguous();
  for (int64_t i = 0; i < n; ++i) {
    std::memcpy(reinterpret_cast<uint8_t*>(out.data_ptr<int64_t>() + i * words),
                in.data_ptr<uint8_t>() + i * bytes, static_cast<size_t>(bytes));
  }
  return out;
}

void int8_dot(const at::Tensor& q, const at::Tensor& c, at::Tensor& out) {
  TORCH_INTERNAL_ASSERT(q.scalar_type() == at::kChar && c.scalar_type() == at::kChar &&
                        q.is_contiguous() && c.is_contiguous() && q.size(1) == c.size(1));
  const int64_t n_q = q.size(0), n_c = c.size(0), d = q.size(1);
  TORCH_INTERNAL_ASSERT(d <= 131072, "int8_dot: int32 sums are exact up to 131072 dimensions");
  check_out(out, n_q, n_c, "int8_dot");
  const int8_t* qp = q.data_ptr<int8_t>();
  const int8_t* cp = c.data_ptr<int8_t>();
  int32_t* op = out.data_ptr<int32_t>();
  const int64_t n_tiles = (n_c + kDocTile - 1) / kDocTile;
#if defined(__x86_64__)
  if (cpu_has_avx2() && !g_force_scalar.load()) {
    const int64_t stride = (d + 15) / 16 * 16;
    std::vector<int16_t> q16(static_cast<size_t>(n_q * stride), 0);
    for (int64_t i = 0; i < n_q; ++i) {
      for (int64_t t = 0; t < d; ++t) q16[i * stride + t] = qp[i * d + t];
    }
    at::parallel_for(0, n_tiles, 1, [&](int64_t begin, int64_t end) {
      for (int64_t tile = begin; tile < end; ++tile) {
        const int64_t c0 = tile * kDocTile;
        int8_dot_avx2(q16.data(), n_q, cp, c0, std::min(n_c, c0 + kDocTile), d, stride, op, n_c);
      }
    });
    return;
  }
#endif
  at::parallel_for(0, n_tiles, 1, [&](int64_t begin, int64_t end) {
    for (int64_t tile = begin; tile < end; ++tile) {
      const int64_t c0 = tile * kDocTile;
      int8_dot_scalar(qp, n_q, cp, c0, std::min(n_c, c0 + kDocTile), d, op, n_c);
    }
  });
}

void hamming_similarity(const at::Tensor& q, const at::Tensor& c, int64_t dims, at::Tensor& out) {
  TORCH_INTERNAL_ASSERT(q.scalar_type() == at::kLong && c.scalar_type() == at::kLong &&
                        q.is_contiguous() && c.is_contiguous() && q.size(1) == c.size(1));
  const int64_t n_q = q.size(0), n_c = c.size(0), words = q.size(1);
  check_out(out, n_q, n_c, "hamming_similarity");
  const auto* qp = reinterpret_cast<const uint64_t*>(q.data_ptr<int64_t>());
  const auto* cp = reinterpret_cast<const uint64_t*>(c.data_ptr<int64_t>());
  int32_t* op = out.data_ptr<int32_t>();
  const int64_t tile_rows = 256;
  const int64_t n_tiles = (n_c + tile_rows - 1) / tile_rows;
  const bool popcnt = cpu_has_popcnt() && !g_force_scalar.load();
  at::parallel_for(0, n_tiles, 1, [&](int64_t begin, int64_t end) {
    for (int64_t tile = begin; tile < end; ++tile) {
      const int64_t c0 = tile * tile_rows, c1 = std::min(n_c, c0 + tile_rows);
#if defined(__x86_64__)
      if (popcnt) {
        hamming_popcnt(qp, n_q, cp, c0, c1, words, dims, op, n_c);
        continue;
      }
#endif
      hamming_portable(qp, n_q, cp, c0, c1, words, dims, op, n_c);
    }
  });
}

std::string int8_dot_kernel() {
  return cpu_has_avx2() && !g_force_scalar.load() ? "avx2" : "scalar";
}

void force_scalar_kernels(bool scalar) { g_force_scalar.store(scalar); }

}  // namespace embedtune::evaluation
