// numpy's default random generator in plain C++: SeedSequence -> PCG64 -> Generator.permutation,
// so a split can pick exactly the rows Hugging Face datasets' train_test_split(seed=...) picks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace embedtune::data {

// numpy.random.SeedSequence(seed).generate_state(n_words, np.uint32) for a non-negative integer
// seed with the default pool size 4 and no spawn key (numpy/random/bit_generator.pyx: the seed is
// split into 32-bit words, lowest first; hashmix/mix fill the pool; generate_state hashes it).
std::vector<std::uint32_t> numpy_seed_sequence_state(std::uint64_t seed, std::size_t n_words);

// numpy.random.PCG64: the 128-bit LCG with the XSL-RR output (numpy/random/src/pcg64/pcg64.h),
// seeded as PCG64(seed) seeds itself from SeedSequence(seed).generate_state(4, np.uint64).
// next_uint32 keeps the upper half of a 64-bit draw for the next call, as numpy's pcg64_next32
// does. Not thread-safe.
class Pcg64 {
 public:
  explicit Pcg64(std::uint64_t seed);

  std::uint64_t next_uint64();
  std::uint32_t next_uint32();

 private:
  unsigned __int128 state_ = 0;
  unsigned __int128 increment_ = 0;
  bool has_uint32_ = false;
  std::uint32_t uinteger_ = 0;
};

// A draw from [0, max] as numpy's random_interval (distributions.c): the smallest all-ones mask
// covering max, 32-bit draws while max fits in 32 bits, rejection of values above max.
std::uint64_t numpy_random_interval(Pcg64& generator, std::uint64_t max);

// np.random.default_rng(seed).permutation(n): arange(n) shuffled in place from the last position
// down to 1, swapping position i with random_interval(i) (Generator.shuffle's _shuffle_raw).
std::vector<std::size_t> numpy_permutation(std::size_t n, std::uint64_t seed);

}  // namespace embedtune::data
