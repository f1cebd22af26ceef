// dropout_noise: the default CPU generator's bernoulli_ stream, generated a chunk at a time.
#include "model/dropout.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/MT19937RNGEngine.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <mutex>

namespace embedtune {
namespace {

constexpr int kStateSize = 624;  // at::mt19937's MERSENNE_STATE_N and _M
constexpr int kShift = 397;

uint32_t twist(uint32_t u, uint32_t v) {
  return ((((u & 0x80000000u) | (v & 0x7fffffffu)) >> 1) ^ ((v & 1u) != 0 ? 0x9908b0dfu : 0u));
}

// at::mt19937's next_state(): the next 624 words of state.
void twist_state(uint32_t* s) {
  for (int k = 0; k < kStateSize - kShift; ++k) s[k] = s[k + kShift] ^ twist(s[k], s[k + 1]);
  for (int k = kStateSize - kShift; k < kStateSize - 1; ++k) {
    s[k] = s[k + kShift - kStateSize] ^ twist(s[k], s[k + 1]);
  }
  s[kStateSize - 1] = s[kShift - 1] ^ twist(s[kStateSize - 1], s[0]);
}

// The engine's next `count` outputs, as `count` calls of at::mt19937::operator() would give them
// and leave the state. A call first decrements left_ and twists when it reaches 0, so left_ - 1
// outputs remain before the next twist.
// The tempering and masking loops vectorise with AVX2 where the CPU has it (picked at load time).
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define EMBEDTUNE_VECTOR_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define EMBEDTUNE_VECTOR_CLONES
#endif

EMBEDTUNE_VECTOR_CLONES void next_outputs(at::mt19937_data_pod& engine, uint32_t* out,
                                          int64_t count) {
  while (count > 0) {
    int64_t available = engine.left_ - 1;
    if (available == 0) {
      twist_state(engine.state_.data());
      engine.left_ = kStateSize + 1;  // the twisting call's decrement is counted below
      engine.next_ = 0;
      available = kStateSize;
    }
    const int64_t take = std::min(available, count);
    const uint32_t* state = engine.state_.data() + engine.next_;
    for (int64_t i = 0; i < take; ++i) {
      uint32_t y = state[i];
      y ^= (y >> 11);
      y ^= (y << 7) & 0x9d2c5680u;
      y ^= (y << 15) & 0xefc60000u;
      y ^= (y >> 18);
      out[i] = y;
    }
    engine.left_ -= static_cast<int>(take);
    engine.next_ += static_cast<uint32_t>(take);
    out += take;
    count -= take;
  }
}

// Draws n keep/drop decisions (keep with probability `keep`) into out as scale or 0. Each is
// bernoulli_distribution<double>: two outputs make a 64-bit number (the first the high half, as
// CPUGeneratorImpl::random64), its low 53 bits u give u * 2^-53 < keep, which for an integer u
// is u < ceil(keep * 2^53).
EMBEDTUNE_VECTOR_CLONES void draw_noise(at::CPUGeneratorImpl* generator, float* out, int64_t n,
                                        double keep, float scale) {
  constexpr int64_t kChunk = 2048;
  constexpr uint64_t kLow53 = (uint64_t{1} << 53) - 1;
  const auto threshold = static_cast<uint64_t>(std::ceil(std::ldexp(keep, 53)));
  std::array<uint32_t, 2 * kChunk> words;
  std::lock_guard<std::mutex> lock(generator->mutex_);
  at::mt19937 engine = generator->engine();
  at::mt19937_data_pod state = engine.data();
  for (int64_t begin = 0; begin < n; begin += kChunk) {
    const int64_t count = std::min(kChunk, n - begin);
    next_outputs(state, words.data(), 2 * count);
    float* chunk = out + begin;
    for (int64_t i = 0; i < count; ++i) {
      const uint64_t u = ((static_cast<uint64_t>(words[2 * i]) << 32) | words[2 * i + 1]) & kLow53;
      chunk[i] = u < threshold ? scale : 0.0f;
    }
  }
  engine.set_data(state);
  generator->set_engine(engine);
}

// Same seed, same draws: our loop against Tensor.bernoulli_, the decisions and the generator
// state after them.
bool check_against_bernoulli() {
  constexpr int64_t kCount = 4099;
  constexpr double kKeep = 0.9;
  at::Generator reference = at::detail::createCPUGenerator(20261127);
  at::Generator ours = at::detail::createCPUGenerator(20261127);
  const at::Tensor expected = at::empty({kCount}, at::kFloat).bernoulli_(kKeep, reference);
  at::Tensor got = at::empty({kCount}, at::kFloat);
  draw_noise(ours.get<at::CPUGeneratorImpl>(), got.data_ptr<float>(), kCount, kKeep, 1.0f);
  const bool same_draws = at::equal(expected, got);
  const bool same_state = reference.get<at::CPUGeneratorImpl>()->random64() ==
                          ours.get<at::CPUGeneratorImpl>()->random64();
  return same_draws && same_state;
}

}  // namespace

bool dropout_noise_is_fast() {
  static const bool fast = check_against_bernoulli();
  return fast;
}

at::Tensor dropout_noise(at::IntArrayRef shape, double p, const at::TensorOptions& options) {
  const double keep = 1 - p;
  if (options.dtype() != at::kFloat || !options.device().is_cpu() || !dropout_noise_is_fast()) {
    return at::empty(shape, options).bernoulli_(keep).div_(keep);
  }
  at::Tensor noise = at::empty(shape, options);
  at::Generator generator = at::detail::getDefaultCPUGenerator();
  // bernoulli_ gives 1.0f or 0.0f; div_(keep) divides by the float the scalar becomes.
  const float scale = 1.0f / static_cast<float>(keep);
  draw_noise(generator.get<at::CPUGeneratorImpl>(), noise.data_ptr<float>(), noise.numel(), keep,
             scale);
  return noise;
}

at::Tensor token_dropout(const at::Tensor& x, double p, bool training, const PackedBatch& batch) {
  if (!training || p == 0.0) return x;
  if (!x.device().is_cpu() || p >= 1.0) return at::dropout(x, p, true);
  // As at::dropout on CPU (input * noise), with the noise drawn over the padded (B*T, H) layout
  // transformers uses and the real tokens' rows picked: a seeded run then drops exactly the
  // activations sentence-transformers drops.
  if (batch.uniform) return x * dropout_noise(x.sizes(), p, x.options());
  const at::Tensor noise =
      dropout_noise({batch.batch_size() * batch.max_length, x.size(1)}, p, x.options());
  return x * noise.index_select(0, batch.padded_index);
}

}  // namespace embedtune
