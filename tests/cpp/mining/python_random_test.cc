// PythonRandom against CPython 3.11's random module: the expected values were printed by
//   random.Random(s).getrandbits(32) and random.Random(12).sample(range(n), k)
// (the oracle's own output, copied here because the draws are fixed by the algorithm).
#include "mining/python_random.h"

#include <gtest/gtest.h>

#include <vector>

#include "io/error.h"

namespace embedtune::mining {
namespace {

std::vector<uint32_t> first_words(int64_t seed, int n) {
  PythonRandom random(seed);
  std::vector<uint32_t> out;
  for (int i = 0; i < n; ++i) out.push_back(random.getrandbits(32));
  return out;
}

TEST(PythonRandom, SeedsAsRandomSeedDoes) {
  EXPECT_EQ(first_words(42, 3), (std::vector<uint32_t>{2746317213u, 478163327u, 107420369u}));
  // A seed of two 32-bit words, a negative seed (its absolute value) and zero.
  EXPECT_EQ(first_words((int64_t{1} << 40) + 7, 2),
            (std::vector<uint32_t>{2635837658u, 3209733218u}));
  EXPECT_EQ(first_words(-5, 2), (std::vector<uint32_t>{2675342405u, 1097127993u}));
  EXPECT_EQ(first_words(0, 2), (std::vector<uint32_t>{3626764237u, 1654615998u}));
}

TEST(PythonRandom, SampleDrawsAsRandomSample) {
  PythonRandom random(12);
  // Successive calls on one generator: the pool branch (n <= setsize), the set branch (n = 200 >
  // 21 + 4^3 for k = 7), the pool branch with k > 5, and a full permutation.
  EXPECT_EQ(random.sample_range(10, 3), (std::vector<int64_t>{7, 4, 5}));
  EXPECT_EQ(random.sample_range(200, 7), (std::vector<int64_t>{36, 97, 2, 95, 123, 70, 164}));
  EXPECT_EQ(random.sample_range(30, 12),
            (std::vector<int64_t>{25, 14, 22, 19, 7, 17, 0, 21, 26, 4, 28, 11}));
  EXPECT_EQ(random.sample_range(5, 5), (std::vector<int64_t>{1, 2, 0, 3, 4}));
}

TEST(PythonRandom, SampleLargerThanThePopulationIsAnError) {
  PythonRandom random(1);
  EXPECT_THROW(random.sample_range(3, 4), Error);
}

}  // namespace
}  // namespace embedtune::mining
