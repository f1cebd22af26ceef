// numpy's SeedSequence, PCG64 and Generator.permutation (see numpy_random.h).
#include "data/numpy_random.h"

#include <numeric>
#include <utility>

namespace embedtune::data {
namespace {

// numpy/random/bit_generator.pyx.
constexpr std::size_t kPoolSize = 4;
constexpr std::uint32_t kInitA = 0x43b0d7e5;
constexpr std::uint32_t kMultA = 0x931e8875;
constexpr std::uint32_t kInitB = 0x8b51f9dd;
constexpr std::uint32_t kMultB = 0x58f38ded;
constexpr std::uint32_t kMixMultL = 0xca01f9dd;
constexpr std::uint32_t kMixMultR = 0x4973f715;
constexpr unsigned kXShift = 16;

// numpy/random/src/pcg64/pcg64.h: PCG_DEFAULT_MULTIPLIER_HIGH, _LOW.
constexpr unsigned __int128 kPcgMultiplier =
    (static_cast<unsigned __int128>(2549297995355413924ULL) << 64) + 4865540595714422341ULL;

std::uint32_t hashmix(std::uint32_t value, std::uint32_t& hash_const) {
  value ^= hash_const;
  hash_const *= kMultA;
  value *= hash_const;
  value ^= value >> kXShift;
  return value;
}

std::uint32_t mix(std::uint32_t x, std::uint32_t y) {
  std::uint32_t result = kMixMultL * x - kMixMultR * y;
  result ^= result >> kXShift;
  return result;
}

// _int_to_uint32_array: the seed's 32-bit words, lowest first; 0 is one word.
std::vector<std::uint32_t> seed_words(std::uint64_t seed) {
  std::vector<std::uint32_t> words;
  if (seed == 0) words.push_back(0);
  for (; seed > 0; seed >>= 32) words.push_back(static_cast<std::uint32_t>(seed & 0xffffffffu));
  return words;
}

// SeedSequence.mix_entropy on a zeroed pool of kPoolSize words.
std::vector<std::uint32_t> mixed_pool(const std::vector<std::uint32_t>& entropy) {
  std::vector<std::uint32_t> pool(kPoolSize);
  std::uint32_t hash_const = kInitA;
  for (std::size_t i = 0; i < kPoolSize; ++i) {
    pool[i] = hashmix(i < entropy.size() ? entropy[i] : 0, hash_const);
  }
  for (std::size_t src = 0; src < kPoolSize; ++src) {
    for (std::size_t dst = 0; dst < kPoolSize; ++dst) {
      if (src != dst) pool[dst] = mix(pool[dst], hashmix(pool[src], hash_const));
    }
  }
  for (std::size_t src = kPoolSize; src < entropy.size(); ++src) {
    for (std::size_t dst = 0; dst < kPoolSize; ++dst) {
      pool[dst] = mix(pool[dst], hashmix(entropy[src], hash_const));
    }
  }
  return pool;
}

std::uint64_t rotate_right(std::uint64_t value, unsigned rot) {
  return (value >> rot) | (value << ((-rot) & 63u));
}

}  // namespace

std::vector<std::uint32_t> numpy_seed_sequence_state(std::uint64_t seed, std::size_t n_words) {
  const std::vector<std::uint32_t> pool = mixed_pool(seed_words(seed));
  std::vector<std::uint32_t> state(n_words);
  std::uint32_t hash_const = kInitB;
  for (std::size_t i = 0; i < n_words; ++i) {
    std::uint32_t value = pool[i % kPoolSize];
    value ^= hash_const;
    hash_const *= kMultB;
    value *= hash_const;
    value ^= value >> kXShift;
    state[i] = value;
  }
  return state;
}

Pcg64::Pcg64(std::uint64_t seed) {
  // generate_state(4, np.uint64): eight 32-bit words read as four little-endian 64-bit words;
  // pcg64_set_seed takes words 0-1 as the state and 2-3 as the stream, high word first.
  const std::vector<std::uint32_t> words = numpy_seed_sequence_state(seed, 8);
  std::uint64_t w64[4];
  for (int k = 0; k < 4; ++k) {
    w64[k] = static_cast<std::uint64_t>(words[2 * k]) |
             (static_cast<std::uint64_t>(words[2 * k + 1]) << 32);
  }
  const unsigned __int128 init_state = (static_cast<unsigned __int128>(w64[0]) << 64) | w64[1];
  const unsigned __int128 init_seq = (static_cast<unsigned __int128>(w64[2]) << 64) | w64[3];
  // pcg_setseq_128_srandom_r.
  state_ = 0;
  increment_ = (init_seq << 1u) | 1u;
  state_ = state_ * kPcgMultiplier + increment_;
  state_ += init_state;
  state_ = state_ * kPcgMultiplier + increment_;
}

std::uint64_t Pcg64::next_uint64() {
  // pcg_setseq_128_xsl_rr_64_random_r: step, then XSL-RR of the new state.
  state_ = state_ * kPcgMultiplier + increment_;
  const auto high = static_cast<std::uint64_t>(state_ >> 64);
  const auto low = static_cast<std::uint64_t>(state_);
  return rotate_right(high ^ low, static_cast<unsigned>(state_ >> 122));
}

std::uint32_t Pcg64::next_uint32() {
  if (has_uint32_) {
    has_uint32_ = false;
    return uinteger_;
  }
  const std::uint64_t next = next_uint64();
  has_uint32_ = true;
  uinteger_ = static_cast<std::uint32_t>(next >> 32);
  return static_cast<std::uint32_t>(next & 0xffffffffu);
}

std::uint64_t numpy_random_interval(Pcg64& generator, std::uint64_t max) {
  if (max == 0) return 0;
  std::uint64_t mask = max;
  mask |= mask >> 1;
  mask |= mask >> 2;
  mask |= mask >> 4;
  mask |= mask >> 8;
  mask |= mask >> 16;
  mask |= mask >> 32;
  std::uint64_t value = 0;
  if (max <= 0xffffffffULL) {
    while ((value = (generator.next_uint32() & mask)) > max) {
    }
  } else {
    while ((value = (generator.next_uint64() & mask)) > max) {
    }
  }
  return value;
}

std::vector<std::size_t> numpy_permutation(std::size_t n, std::uint64_t seed) {
  std::vector<std::size_t> permutation(n);
  std::iota(permutation.begin(), permutation.end(), std::size_t{0});
  Pcg64 generator(seed);
  for (std::size_t i = n; i-- > 1;) {
    const auto j = static_cast<std::size_t>(numpy_random_interval(generator, i));
    std::swap(permutation[i], permutation[j]);
  }
  return permutation;
}

}  // namespace embedtune::data
