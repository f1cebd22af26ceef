// Python's `random` module, the parts hard-negative mining draws from: the Mersenne Twister as
// random.seed(int) seeds it, _randbelow and random.sample, so that a seeded run picks the samples
// sentence-transformers picks after `random.seed(seed)`.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace embedtune::mining {

class PythonRandom {
 public:
  // As random.seed(seed) for an int: init_by_array over the 32-bit words of |seed|.
  explicit PythonRandom(int64_t seed);

  // A 32-bit output of MT19937 (genrand_uint32).
  uint32_t next_uint32();
  // random.getrandbits(k) for 1 <= k <= 32.
  uint32_t getrandbits(int k);
  // random._randbelow(n) for n >= 1: getrandbits(n.bit_length()) until below n.
  uint64_t randbelow(uint64_t n);
  // random.sample(range(n), k), CPython 3.11's algorithm (a pool for small n, else a set of
  // chosen indices). Throws embedtune::Error when k > n.
  std::vector<int64_t> sample_range(int64_t n, int64_t k);

 private:
  void init_genrand(uint32_t seed);
  void init_by_array(const std::vector<uint32_t>& key);
  void twist();

  static constexpr int kN = 624;
  std::array<uint32_t, kN> state_{};
  int index_ = kN + 1;
};

}  // namespace embedtune::mining
