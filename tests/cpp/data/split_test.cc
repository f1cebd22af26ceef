// Tests of the seeded split: HF datasets' sizes (ceil for test), a portable permutation.
#include "data/split.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "data_test_util.h"

namespace embedtune::data {
namespace {

using ::testing::ElementsAre;
using testing::error_of;
using ::testing::HasSubstr;

// Expected sizes are Python's: math.ceil(test_size * n) on floats, as
// datasets.Dataset.train_test_split computes n_test.
TEST(TrainTestSplitSizes, FractionUsesCeilLikeHuggingFace) {
  // The reference: 7,000 rows, test_size=0.1 -> 6,300 / 700.
  SplitSizes s = train_test_split_sizes(7000, TestSize::of_fraction(0.1));
  EXPECT_EQ(s.test, 700u);
  EXPECT_EQ(s.train, 6300u);
  // ceil(2.5) = 3
  s = train_test_split_sizes(10, TestSize::of_fraction(0.25));
  EXPECT_EQ(s.test, 3u);
  EXPECT_EQ(s.train, 7u);
  // Python: 0.07 * 100 == 7.000000000000001, so ceil gives 8, not 7.
  s = train_test_split_sizes(100, TestSize::of_fraction(0.07));
  EXPECT_EQ(s.test, 8u);
  EXPECT_EQ(s.train, 92u);
  // A tiny fraction still gives one test row: ceil(0.15) = 1.
  s = train_test_split_sizes(3, TestSize::of_fraction(0.05));
  EXPECT_EQ(s.test, 1u);
  EXPECT_EQ(s.train, 2u);
}

TEST(TrainTestSplitSizes, CountIsAbsolute) {
  const SplitSizes s = train_test_split_sizes(10, TestSize::of_count(3));
  EXPECT_EQ(s.test, 3u);
  EXPECT_EQ(s.train, 7u);
}

TEST(TrainTestSplitSizes, EmptySplitsAreErrors) {
  EXPECT_THAT(error_of([] { train_test_split_sizes(0, TestSize::of_fraction(0.1)); }),
              HasSubstr("no rows"));
  // One row: ceil(0.1) = 1 test row leaves no train rows.
  EXPECT_THAT(error_of([] { train_test_split_sizes(1, TestSize::of_fraction(0.1)); }),
              HasSubstr("leaves the train split empty"));
  EXPECT_THAT(error_of([] { train_test_split_sizes(5, TestSize::of_count(5)); }),
              HasSubstr("leaves no rows for training"));
  EXPECT_THAT(error_of([] { train_test_split_sizes(5, TestSize::of_fraction(1.0)); }),
              HasSubstr("expected a fraction in (0, 1)"));
}

TEST(TestSizeParse, FractionsCountsAndErrors) {
  TestSize t = TestSize::parse("0.1");
  EXPECT_FALSE(t.is_count);
  EXPECT_DOUBLE_EQ(t.fraction, 0.1);
  t = TestSize::parse("1e-1");
  EXPECT_FALSE(t.is_count);
  EXPECT_DOUBLE_EQ(t.fraction, 0.1);
  t = TestSize::parse("700");
  EXPECT_TRUE(t.is_count);
  EXPECT_EQ(t.count, 700);
  EXPECT_EQ(TestSize::parse("0.25").to_string(), "0.25");
  EXPECT_EQ(TestSize::parse("12").to_string(), "12");
  EXPECT_THAT(error_of([] { TestSize::parse("1.0"); }), HasSubstr("fraction in (0, 1)"));
  EXPECT_THAT(error_of([] { TestSize::parse("0"); }), HasSubstr("at least 1"));
  EXPECT_THAT(error_of([] { TestSize::parse("-3"); }), HasSubstr("at least 1"));
  EXPECT_THAT(error_of([] { TestSize::parse("ten"); }), HasSubstr("found \"ten\""));
  EXPECT_THAT(error_of([] { TestSize::parse(""); }), HasSubstr("found \"\""));
}

// The engine's output sequence is fixed by the C++ standard ([rand.predef]: the 10000th output of
// a default-constructed mt19937_64 is 9981545732273789042), which is what makes the split portable.
TEST(SeededPermutation, EngineIsTheStandardOne) {
  std::mt19937_64 engine;
  engine.discard(9999);
  EXPECT_EQ(engine(), 9981545732273789042ull);
}

// Expected permutations from an independent pure-Python model of the documented algorithm
// (MT19937-64 by its reference recurrence, Fisher-Yates from the top, rejection sampling).
TEST(SeededPermutation, MatchesIndependentModel) {
  EXPECT_THAT(seeded_permutation(10, 42), ElementsAre(1, 7, 9, 0, 3, 8, 4, 2, 5, 6));
  EXPECT_THAT(seeded_permutation(10, 43), ElementsAre(2, 4, 3, 8, 1, 7, 5, 9, 0, 6));
  EXPECT_THAT(seeded_permutation(20, 7),
              ElementsAre(2, 14, 4, 18, 12, 16, 0, 19, 11, 17, 1, 9, 5, 7, 3, 13, 8, 6, 10, 15));
}

TEST(SeededPermutation, IsAPermutationAndDependsOnlyOnSeed) {
  const auto a = seeded_permutation(1000, 42);
  const auto b = seeded_permutation(1000, 42);
  const auto c = seeded_permutation(1000, 43);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  auto sorted = a;
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 0; i < sorted.size(); ++i) ASSERT_EQ(sorted[i], i);
  EXPECT_TRUE(seeded_permutation(0, 1).empty());
  EXPECT_THAT(seeded_permutation(1, 1), ElementsAre(0));
}

TEST(TrainTestSplitIndices, TestIsThePermutationsHead) {
  const SplitIndices split = train_test_split_indices(10, TestSize::of_fraction(0.25), 42);
  // perm(10, 42) = 1 7 9 | 0 3 8 4 2 5 6 with ceil(2.5) = 3 test rows.
  EXPECT_THAT(split.test, ElementsAre(1, 7, 9));
  EXPECT_THAT(split.train, ElementsAre(0, 3, 8, 4, 2, 5, 6));
  const SplitIndices again = train_test_split_indices(10, TestSize::of_fraction(0.25), 42);
  EXPECT_EQ(split.test, again.test);
  EXPECT_EQ(split.train, again.train);
  const SplitIndices other = train_test_split_indices(10, TestSize::of_fraction(0.25), 43);
  EXPECT_THAT(other.test, ElementsAre(2, 4, 3));
}

}  // namespace
}  // namespace embedtune::data
