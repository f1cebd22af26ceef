// `embedtune prepare`: step 1 of the reference workflow. Reads a dataset, maps its columns to
// anchor/positive[/negative], adds ids, splits it with a seed, and writes DIR/train.jsonl,
// DIR/test.jsonl and DIR/summary.json.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "data/pair_dataset.h"
#include "data/records.h"
#include "data/split.h"

namespace embedtune::data {

struct PrepareOptions;

// prepare's settings as a user writes them: `embedtune prepare`'s flags and a run recipe's
// `data:` section are both this one list.
struct PrepareSettings {
  std::string input, format, anchor_column, positive_column, negative_column, test_size, split;
  int64_t seed;
  bool skip_invalid;

  PrepareSettings();  // every field at its default

  template <class Self, class Visitor>
  static void for_each(Self& self, Visitor&& visit) {
    visit(self.input, "input", std::string(),
          "Dataset: .jsonl, .json (array of records), .csv or .parquet");
    visit(self.format, "format", std::string(),
          "jsonl|json|csv|parquet (default: from the extension)");
    visit(self.anchor_column, "anchor_column", std::string("question"),
          "Column that becomes \"anchor\"");
    visit(self.positive_column, "positive_column", std::string("context"),
          "Column that becomes \"positive\"");
    visit(self.negative_column, "negative_column", std::string(),
          "Column that becomes \"negative\" (hard negatives; empty: none)");
    visit(
        self.test_size, "test_size", std::string("0.1"),
        "Test split: a fraction in (0, 1) or a row count; test = ceil(fraction * rows) as Hugging "
        "Face datasets' train_test_split");
    visit(self.seed, "seed", int64_t{42}, "Seed of the shuffle before the split");
    visit(self.split, "split", std::string("portable"),
          "portable|datasets: embedtune's own seeded permutation, or exactly the rows Hugging Face "
          "datasets' train_test_split(test_size, seed) gives (numpy's PCG64 permutation)");
    visit(self.skip_invalid, "skip_invalid", false,
          "Skip and count invalid rows instead of stopping at the first");
  }

  // The options that write into `output_dir`. Throws Error "ORIGIN: KEY: ..." for a missing
  // input, an unknown format, a bad test size, a negative seed or an unknown split; keys are named
  // with `key_prefix` ("--" for flags, "data." in a recipe; see io::setting_display_name).
  PrepareOptions options(const std::filesystem::path& output_dir, std::string_view origin,
                         std::string_view key_prefix) const;
};

struct PrepareOptions {
  std::filesystem::path input;
  std::filesystem::path output_dir;
  std::optional<DataFormat> format;  // unset: from the input's extension
  ColumnMapping columns;
  TestSize test_size = TestSize::of_fraction(0.1);
  std::uint64_t seed = 42;
  SplitMethod split = SplitMethod::kPortable;
  bool skip_invalid = false;
  // How messages name the settings: "--" for prepare's flags (--test-size), "data." for a run
  // recipe's data section (data.test_size).
  std::string key_prefix = "--";
};

// Lengths in Unicode code points (Python's len(str)); median as Python's statistics.median
// (the mean of the two middle values for an even count).
struct LengthStats {
  std::size_t min = 0;
  double mean = 0;
  double median = 0;
  std::size_t max = 0;
};

// Length statistics of `texts`; all zero for none.
LengthStats length_stats(const std::vector<std::string>& texts);

// The number of entries equal to an earlier entry (so ["a", "b", "a", "a"] has 2).
std::size_t count_repeats(const std::vector<std::string>& texts);

struct PrepareSummary {
  std::filesystem::path input;
  std::filesystem::path output_dir;
  DataFormat format = DataFormat::kJsonLines;
  ColumnMapping columns;
  TestSize test_size;
  std::uint64_t seed = 0;
  SplitMethod split = SplitMethod::kPortable;
  bool ids_from_input = false;  // the input had an "id" column
  std::size_t rows_read = 0;
  std::size_t rows_skipped = 0;
  std::vector<std::string> skipped_examples;  // the first few skip messages
  std::size_t train_rows = 0;
  std::size_t test_rows = 0;
  std::size_t duplicate_anchors = 0;    // rows whose anchor text appeared in an earlier row
  std::size_t duplicate_positives = 0;  // rows whose positive text appeared in an earlier row
  std::map<std::string, LengthStats> lengths;  // "anchor", "positive"[, "negative"]
};

// Runs the whole step and writes DIR/train.jsonl, DIR/test.jsonl (one JSON object per line,
// {"id","anchor","positive"[,"negative"]}, UTF-8 unescaped, each split in permuted order) and
// DIR/summary.json, each atomically; creates DIR if needed. Throws Error on bad input (see
// load_pair_dataset), when no valid row is left, or when the test size leaves a split empty;
// then nothing is written.
PrepareSummary prepare_dataset(const PrepareOptions& options);

// The splits without writing anything: the same rows prepare_dataset writes.
struct PreparedSplits {
  PairDataset dataset;
  SplitIndices split;
  DataFormat format = DataFormat::kJsonLines;  // the format the input was read as
};
// options.input may be hf://datasets/... (data::local_dataset_file).
PreparedSplits load_and_split(const PrepareOptions& options);

// summary.json's content.
nlohmann::ordered_json summary_to_json(const PrepareSummary& summary);

// A readable multi-line block for the terminal.
std::string format_summary(const PrepareSummary& summary);

}  // namespace embedtune::data
