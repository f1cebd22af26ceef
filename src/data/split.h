// Seeded train/test splitting: Hugging Face datasets' split sizes, and its rows (numpy's
// permutation) or a portable permutation of our own.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace embedtune::data {

// How big the test split is: a fraction of the rows in (0, 1), or an absolute count >= 1, as
// datasets' train_test_split takes a Python float or int.
struct TestSize {
  bool is_count = false;
  double fraction = 0.1;   // used when !is_count
  std::int64_t count = 0;  // used when is_count

  static TestSize of_fraction(double fraction) { return {false, fraction, 0}; }
  static TestSize of_count(std::int64_t count) { return {true, 0.0, count}; }

  // Parses a test size: text with '.', 'e' or 'E' is a fraction ("0.1", "1e-1"), digits
  // alone are a count ("700"), as Python tells 0.1 from 700. Throws Error on anything else or on
  // a fraction outside (0, 1) or a count below 1.
  static TestSize parse(std::string_view text);

  // "0.1" or "700": the shortest text that parses back to the same value.
  std::string to_string() const;
};

struct SplitSizes {
  std::size_t train = 0;
  std::size_t test = 0;
};

// The sizes datasets' Dataset.train_test_split gives for `n_rows` rows with only test_size set
// (datasets/arrow_dataset.py, which follows scikit-learn's _validate_shuffle_split):
//   fraction: n_test = ceil(test_size * n_rows), computed in double precision as Python does,
//             so 0.1 * 30 = 3.0000000000000004 gives 4 test rows;
//   count:    n_test = test_size;
//   n_train = n_rows - n_test.
// Throws Error, as datasets raises ValueError, when there are no rows, when a count is not below
// n_rows, or when either split would be empty; the message names the setting `test_size_name`.
SplitSizes train_test_split_sizes(std::size_t n_rows, const TestSize& test_size,
                                  std::string_view test_size_name = "--test-size");

// A uniformly random permutation of 0..n-1 that depends only on `seed` and `n`, the same on
// every platform and standard library: std::mt19937_64 seeded with `seed` (its output sequence
// is fixed by the C++ standard), then Fisher-Yates from the last position down, drawing each
// index in [0, i] by rejection sampling on 64-bit outputs (std::shuffle and
// std::uniform_int_distribution are implementation-defined, so they are not used).
// This is not numpy's PCG64 permutation: a split matches Hugging Face's sizes, not its rows
// (SplitMethod::kDatasets gives its rows).
std::vector<std::size_t> seeded_permutation(std::size_t n, std::uint64_t seed);

// Which permutation a split takes its rows from.
enum class SplitMethod {
  kPortable,  // seeded_permutation (embedtune's own; the default)
  kDatasets,  // numpy_permutation: the rows datasets' train_test_split(test_size, seed) gives
};

// "portable" or "datasets".
std::string_view split_method_name(SplitMethod method);

// Parses "portable" or "datasets"; throws Error naming both otherwise.
SplitMethod parse_split_method(std::string_view name);

// The test and train row indices for a seeded split: test = the first sizes.test entries of the
// permutation `method` names (seeded_permutation or numpy_permutation of n_rows with `seed`),
// train = the next sizes.train, each in permuted order, as datasets does with
// permutation[:n_test] and permutation[n_test:n_test + n_train].
struct SplitIndices {
  std::vector<std::size_t> train;
  std::vector<std::size_t> test;
};
SplitIndices train_test_split_indices(std::size_t n_rows, const TestSize& test_size,
                                      std::uint64_t seed,
                                      SplitMethod method = SplitMethod::kPortable,
                                      std::string_view test_size_name = "--test-size");

}  // namespace embedtune::data
