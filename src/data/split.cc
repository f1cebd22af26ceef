// Seeded train/test splitting (see split.h).
#include "data/split.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <limits>
#include <random>

#include "data/numpy_random.h"
#include "io/error.h"
#include "io/plural.h"

namespace embedtune::data {
namespace {

// A uniform draw from [0, bound] by rejection: outputs at or above the largest multiple of
// (bound + 1) that fits in 2^64 are drawn again, so every value is equally likely.
std::uint64_t uniform_up_to(std::mt19937_64& engine, std::uint64_t bound) {
  if (bound == std::numeric_limits<std::uint64_t>::max()) return engine();
  const std::uint64_t range = bound + 1;
  // 2^64 mod range, computed without 128-bit arithmetic: (2^64 - range) mod range.
  const std::uint64_t rejected = (0 - range) % range;
  const std::uint64_t limit = std::numeric_limits<std::uint64_t>::max() - rejected;
  std::uint64_t x = engine();
  while (x > limit) x = engine();
  return x % range;
}

}  // namespace

TestSize TestSize::parse(std::string_view text) {
  const bool looks_float = text.find_first_of(".eE") != std::string_view::npos;
  const char* first = text.data();
  const char* last = text.data() + text.size();
  if (looks_float) {
    double value = 0;
    const auto [end, ec] = std::from_chars(first, last, value);
    if (ec != std::errc() || end != last || !std::isfinite(value)) {
      fail("expected a fraction such as 0.1 or a row count such as 700, found \"{}\"", text);
    }
    if (!(value > 0.0 && value < 1.0)) {
      fail(
          "expected a fraction in (0, 1) or a whole row count, found {}; write 0.2 "
          "for 20% or 200 for 200 rows",
          text);
    }
    return of_fraction(value);
  }
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(first, last, value);
  if (text.empty() || ec != std::errc() || end != last) {
    fail("expected a fraction such as 0.1 or a row count such as 700, found \"{}\"", text);
  }
  if (value < 1) {
    fail("expected a row count of at least 1 or a fraction in (0, 1), found {}", text);
  }
  return of_count(value);
}

std::string TestSize::to_string() const {
  return is_count ? fmt::format("{}", count) : fmt::format("{}", fraction);
}

SplitSizes train_test_split_sizes(std::size_t n_rows, const TestSize& test_size,
                                  std::string_view test_size_name) {
  if (n_rows == 0) fail("the dataset has no rows to split; check the input file and its columns");
  SplitSizes sizes;
  if (test_size.is_count) {
    if (test_size.count <= 0 || static_cast<std::uint64_t>(test_size.count) >= n_rows) {
      fail(
          "{} {} leaves no rows for training: expected a count below {} (the rows in the "
          "dataset), found {}; give a smaller {}",
          test_size_name, test_size.count, n_rows, test_size.count, test_size_name);
    }
    sizes.test = static_cast<std::size_t>(test_size.count);
  } else {
    if (!(test_size.fraction > 0.0 && test_size.fraction < 1.0)) {
      fail("expected a fraction in (0, 1), found {}", test_size.fraction);
    }
    // Python: ceil(test_size * n_samples) on floats; the product is the same IEEE double here.
    sizes.test =
        static_cast<std::size_t>(std::ceil(test_size.fraction * static_cast<double>(n_rows)));
  }
  sizes.train = n_rows - std::min(sizes.test, n_rows);
  if (sizes.train == 0) {
    fail(
        "{} {} with {} leaves the train split empty: expected at least one train row, "
        "found 0; give a smaller {} or more data",
        test_size_name, test_size.to_string(), io::counted(n_rows, "row"), test_size_name);
  }
  return sizes;
}

std::vector<std::size_t> seeded_permutation(std::size_t n, std::uint64_t seed) {
  std::vector<std::size_t> permutation(n);
  for (std::size_t i = 0; i < n; ++i) permutation[i] = i;
  std::mt19937_64 engine(seed);
  for (std::size_t i = n; i > 1; --i) {
    const std::size_t j = static_cast<std::size_t>(uniform_up_to(engine, i - 1));
    std::swap(permutation[i - 1], permutation[j]);
  }
  return permutation;
}

std::string_view split_method_name(SplitMethod method) {
  return method == SplitMethod::kDatasets ? "datasets" : "portable";
}

SplitMethod parse_split_method(std::string_view name) {
  if (name == "portable") return SplitMethod::kPortable;
  if (name == "datasets") return SplitMethod::kDatasets;
  fail(
      "expected portable (embedtune's own permutation) or datasets (the rows Hugging Face "
      "datasets' train_test_split gives), found \"{}\"",
      name);
}

SplitIndices train_test_split_indices(std::size_t n_rows, const TestSize& test_size,
                                      std::uint64_t seed, SplitMethod method,
                                      std::string_view test_size_name) {
  const SplitSizes sizes = train_test_split_sizes(n_rows, test_size, test_size_name);
  const std::vector<std::size_t> permutation = method == SplitMethod::kDatasets
                                                   ? numpy_permutation(n_rows, seed)
                                                   : seeded_permutation(n_rows, seed);
  SplitIndices split;
  split.test.assign(permutation.begin(),
                    permutation.begin() + static_cast<std::ptrdiff_t>(sizes.test));
  split.train.assign(permutation.begin() + static_cast<std::ptrdiff_t>(sizes.test),
                     permutation.end());
  return split;
}

}  // namespace embedtune::data
