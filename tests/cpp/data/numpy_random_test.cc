// numpy's SeedSequence -> PCG64 -> Generator.permutation in C++, against values numpy 2.4.6
// printed (np.random.SeedSequence(s).generate_state(4), np.random.PCG64(s).random_raw(3),
// np.random.default_rng(s).permutation(n)); none of them come from our own output.
#include "data/numpy_random.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "data/split.h"
#include "io/error.h"

namespace embedtune::data {
namespace {

using ::testing::ElementsAre;
using ::testing::ElementsAreArray;

constexpr std::uint64_t kSeeds[] = {0, 42, (std::uint64_t{1} << 32) + 5, 9223372036854775807ULL};

TEST(NumpySeedSequence, GenerateStateMatchesNumpy) {
  const std::vector<std::vector<std::uint32_t>> expected = {
      {2968811710u, 3677149159u, 745650761u, 2884920346u},
      {3444837047u, 2669555309u, 2046530742u, 3581440988u},
      {3796490668u, 4190198742u, 909250263u, 2986482496u},
      {2601519614u, 129883343u, 3320886363u, 1463973635u},
  };
  for (std::size_t s = 0; s < 4; ++s) {
    EXPECT_THAT(numpy_seed_sequence_state(kSeeds[s], 4), ElementsAreArray(expected[s]))
        << "seed " << kSeeds[s];
  }
}

TEST(NumpyPcg64, RawOutputMatchesNumpy) {
  const std::vector<std::vector<std::uint64_t>> expected = {
      {11749869230777074271ULL, 4976686463289251617ULL, 755828109848996024ULL},
      {14276969152011380360ULL, 8095878257575067585ULL, 15838336090824644132ULL},
      {14281546376153053393ULL, 8683300866460616067ULL, 12836726618003871680ULL},
      {3236778688619115796ULL, 8668653565307110780ULL, 15219254583519097992ULL},
  };
  for (std::size_t s = 0; s < 4; ++s) {
    Pcg64 generator(kSeeds[s]);
    std::vector<std::uint64_t> raw;
    for (int i = 0; i < 3; ++i) raw.push_back(generator.next_uint64());
    EXPECT_THAT(raw, ElementsAreArray(expected[s])) << "seed " << kSeeds[s];
  }
}

TEST(NumpyPcg64, Next32SplitsOne64BitDrawLowHalfFirst) {
  // PCG64(42).random_raw(1) = 14276969152011380360 = 0xC6224CDDF6C6E688.
  Pcg64 generator(42);
  EXPECT_EQ(generator.next_uint32(), 14276969152011380360ULL & 0xffffffffULL);
  EXPECT_EQ(generator.next_uint32(), 14276969152011380360ULL >> 32);
  EXPECT_EQ(generator.next_uint64(), 8095878257575067585ULL);
}

TEST(NumpyRandomInterval, WideBoundsDrawWhole64BitValues) {
  // max = 2^40, mask = 2^41 - 1: PCG64(42)'s first raw value masked is 1980363253384 > max, so it
  // is rejected; the second, 8095878257575067585 & mask = 419423190977, is taken.
  Pcg64 generator(42);
  EXPECT_EQ(numpy_random_interval(generator, std::uint64_t{1} << 40), 419423190977ULL);
  EXPECT_EQ(generator.next_uint64(), 15838336090824644132ULL);
  EXPECT_EQ(numpy_random_interval(generator, 0), 0u);
}

TEST(NumpyPermutation, MatchesDefaultRngPermutation) {
  EXPECT_THAT(numpy_permutation(10, 0), ElementsAre(4, 6, 2, 7, 3, 5, 9, 0, 8, 1));
  EXPECT_THAT(numpy_permutation(10, 42), ElementsAre(5, 6, 0, 7, 3, 2, 4, 9, 1, 8));
  EXPECT_THAT(numpy_permutation(10, kSeeds[2]), ElementsAre(6, 7, 4, 2, 5, 0, 9, 8, 3, 1));
  EXPECT_THAT(numpy_permutation(10, kSeeds[3]), ElementsAre(8, 3, 7, 2, 6, 0, 5, 9, 1, 4));
  EXPECT_THAT(numpy_permutation(0, 42), ElementsAre());
  EXPECT_THAT(numpy_permutation(1, 42), ElementsAre(0));
}

TEST(NumpyPermutation, MatchesDefaultRngPermutationOf1000) {
  // Head and tail of np.random.default_rng(s).permutation(1000).
  const std::vector<std::vector<std::size_t>> head = {
      {459, 206, 222, 162, 711, 814, 350, 890},
      {978, 933, 859, 916, 127, 608, 856, 260},
      {381, 36, 487, 43, 76, 435, 478, 151},
      {46, 119, 748, 282, 346, 623, 856, 674},
  };
  const std::vector<std::vector<std::size_t>> tail = {
      {504, 801, 975, 607},
      {609, 961, 973, 648},
      {33, 387, 707, 209},
      {637, 380, 273, 276},
  };
  for (std::size_t s = 0; s < 4; ++s) {
    const std::vector<std::size_t> p = numpy_permutation(1000, kSeeds[s]);
    ASSERT_EQ(p.size(), 1000u);
    EXPECT_THAT(std::vector<std::size_t>(p.begin(), p.begin() + 8), ElementsAreArray(head[s]));
    EXPECT_THAT(std::vector<std::size_t>(p.end() - 4, p.end()), ElementsAreArray(tail[s]));
  }
}

TEST(TrainTestSplitIndices, DatasetsMethodSlicesNumpysPermutation) {
  // datasets: test = permutation[:n_test], train = permutation[n_test:]; 10 rows, test 0.25 -> 3.
  const SplitIndices split =
      train_test_split_indices(10, TestSize::of_fraction(0.25), 42, SplitMethod::kDatasets);
  EXPECT_THAT(split.test, ElementsAre(5, 6, 0));
  EXPECT_THAT(split.train, ElementsAre(7, 3, 2, 4, 9, 1, 8));
  EXPECT_EQ(parse_split_method("datasets"), SplitMethod::kDatasets);
  EXPECT_EQ(parse_split_method("portable"), SplitMethod::kPortable);
  EXPECT_THROW(parse_split_method("numpy"), Error);
}

}  // namespace
}  // namespace embedtune::data
