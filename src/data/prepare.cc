// `embedtune prepare`: read, map columns, split with a seed, write the splits (see prepare.h).
#include "data/prepare.h"

#include <fmt/format.h>

#include <algorithm>
#include <unordered_set>

#include "data/hub_input.h"
#include "data/text.h"
#include "io/atomic_file.h"
#include "io/error.h"
#include "io/settings.h"

namespace embedtune::data {
namespace {

constexpr std::size_t kSkippedExamples = 5;

void write_rows(std::ostream& out, const PairDataset& dataset,
                const std::vector<std::size_t>& indices) {
  for (std::size_t index : indices) {
    // ensure_ascii = false keeps UTF-8 as is; the text was validated when it was read.
    out << to_output_json(dataset.rows[index]).dump(-1, ' ', false) << '\n';
  }
}

nlohmann::ordered_json stats_json(const LengthStats& stats) {
  nlohmann::ordered_json out;
  out["min"] = stats.min;
  out["mean"] = stats.mean;
  out["median"] = stats.median;
  out["max"] = stats.max;
  return out;
}

}  // namespace

PrepareSettings::PrepareSettings() { io::reset_settings(*this); }

PrepareOptions PrepareSettings::options(const std::filesystem::path& output_dir,
                                        std::string_view origin,
                                        std::string_view key_prefix) const {
  const auto name = [&](std::string_view key) { return io::setting_display_name(key_prefix, key); };
  PrepareOptions options;
  if (input.empty()) {
    fail("{}: {}: expected a dataset file, found nothing; name one", origin, name("input"));
  }
  options.input = input;
  options.output_dir = output_dir;
  if (!format.empty()) {
    try {
      options.format = parse_format(format);
    } catch (const Error& e) {
      fail("{}: {}: {}", origin, name("format"), e.what());
    }
  }
  try {
    options.test_size = TestSize::parse(test_size);
  } catch (const Error& e) {
    fail("{}: {}: {}", origin, name("test_size"), e.what());
  }
  options.columns.anchor_column = anchor_column;
  options.columns.positive_column = positive_column;
  if (!negative_column.empty()) options.columns.negative_column = negative_column;
  if (seed < 0) {
    fail("{}: {}: expected an integer >= 0, found {}; fix the value", origin, name("seed"), seed);
  }
  options.seed = static_cast<std::uint64_t>(seed);
  try {
    options.split = parse_split_method(split);
  } catch (const Error& e) {
    fail("{}: {}: {}", origin, name("split"), e.what());
  }
  options.skip_invalid = skip_invalid;
  options.key_prefix = key_prefix;
  return options;
}

LengthStats length_stats(const std::vector<std::string>& texts) {
  LengthStats stats;
  if (texts.empty()) return stats;
  std::vector<std::size_t> lengths;
  lengths.reserve(texts.size());
  double sum = 0;
  for (const std::string& text : texts) {
    lengths.push_back(count_code_points(text));
    sum += static_cast<double>(lengths.back());
  }
  std::sort(lengths.begin(), lengths.end());
  const std::size_t n = lengths.size();
  stats.min = lengths.front();
  stats.max = lengths.back();
  stats.mean = sum / static_cast<double>(n);
  stats.median =
      n % 2 == 1
          ? static_cast<double>(lengths[n / 2])
          : (static_cast<double>(lengths[n / 2 - 1]) + static_cast<double>(lengths[n / 2])) / 2.0;
  return stats;
}

std::size_t count_repeats(const std::vector<std::string>& texts) {
  std::unordered_set<std::string_view> seen;
  std::size_t repeats = 0;
  for (const std::string& text : texts) {
    if (!seen.insert(text).second) ++repeats;
  }
  return repeats;
}

PreparedSplits load_and_split(const PrepareOptions& options) {
  const std::filesystem::path input =
      local_dataset_file(options.input.string());  // hf://datasets/...
  const DataFormat format = options.format ? *options.format : format_for_path(input);
  PreparedSplits prepared;
  prepared.format = format;
  prepared.dataset =
      load_pair_dataset(input, format, options.columns, options.skip_invalid, options.key_prefix);
  const PairDataset& dataset = prepared.dataset;
  if (dataset.rows.empty()) {
    if (!dataset.skipped.empty()) {
      fail("{}: expected at least one valid row, found none ({} skipped; the first: {})",
           options.input.string(), dataset.skipped.size(), dataset.skipped.front());
    }
    fail("{}: expected at least one row, found an empty dataset; check the file",
         options.input.string());
  }
  prepared.split =
      train_test_split_indices(dataset.rows.size(), options.test_size, options.seed, options.split,
                               io::setting_display_name(options.key_prefix, "test_size"));
  return prepared;
}

PrepareSummary prepare_dataset(const PrepareOptions& options) {
  const PreparedSplits prepared = load_and_split(options);
  const PairDataset& dataset = prepared.dataset;

  PrepareSummary summary;
  summary.input = options.input;
  summary.output_dir = options.output_dir;
  summary.format = prepared.format;
  summary.columns = options.columns;
  summary.test_size = options.test_size;
  summary.seed = options.seed;
  summary.split = options.split;
  summary.rows_read = dataset.rows_read;
  summary.rows_skipped = dataset.skipped.size();
  summary.skipped_examples.assign(
      dataset.skipped.begin(),
      dataset.skipped.begin() +
          static_cast<std::ptrdiff_t>(std::min(kSkippedExamples, dataset.skipped.size())));
  summary.train_rows = prepared.split.train.size();
  summary.test_rows = prepared.split.test.size();

  std::vector<std::string> anchors, positives, negatives;
  for (const PairRecord& row : dataset.rows) {
    anchors.push_back(row.anchor);
    positives.push_back(row.positive);
    if (row.negative) negatives.push_back(*row.negative);
  }
  summary.ids_from_input = dataset.ids_from_input;
  summary.duplicate_anchors = count_repeats(anchors);
  summary.duplicate_positives = count_repeats(positives);
  summary.lengths["anchor"] = length_stats(anchors);
  summary.lengths["positive"] = length_stats(positives);
  if (options.columns.negative_column) summary.lengths["negative"] = length_stats(negatives);

  std::error_code ec;
  std::filesystem::create_directories(options.output_dir, ec);
  if (ec) {
    fail(
        "{}: expected a folder we can write to, found an error creating it ({}); pass another "
        "--output",
        options.output_dir.string(), ec.message());
  }
  // All three files are written and synced in full before any is renamed into place, so a
  // failure while writing (a full disk) leaves the folder as it was. summary.json, which marks a
  // finished folder, is removed before the renames and renamed last: a crash between renames
  // leaves a folder without it, which `run` prepares again.
  io::AtomicWriter train(options.output_dir / "train.jsonl");
  io::AtomicWriter test(options.output_dir / "test.jsonl");
  io::AtomicWriter summary_file(options.output_dir / "summary.json");
  write_rows(train.stream(), dataset, prepared.split.train);
  write_rows(test.stream(), dataset, prepared.split.test);
  summary_file.stream() << summary_to_json(summary).dump(2) << "\n";  // keeps the key order
  train.prepare();
  test.prepare();
  summary_file.prepare();
  std::filesystem::remove(options.output_dir / "summary.json", ec);
  train.commit();
  test.commit();
  summary_file.commit();
  return summary;
}

nlohmann::ordered_json summary_to_json(const PrepareSummary& summary) {
  nlohmann::ordered_json out;
  out["input"] = summary.input.string();
  out["format"] = std::string(format_name(summary.format));
  nlohmann::ordered_json columns;
  columns["anchor"] = summary.columns.anchor_column;
  columns["positive"] = summary.columns.positive_column;
  if (summary.columns.negative_column) columns["negative"] = *summary.columns.negative_column;
  out["columns"] = columns;
  out["ids"] = summary.ids_from_input ? "input" : "added";
  if (summary.test_size.is_count) {
    out["test_size"] = summary.test_size.count;
  } else {
    out["test_size"] = summary.test_size.fraction;
  }
  out["seed"] = summary.seed;
  out["split"] = std::string(split_method_name(summary.split));
  out["rows_read"] = summary.rows_read;
  out["rows_skipped_invalid"] = summary.rows_skipped;
  out["skipped_examples"] = summary.skipped_examples;
  out["train_rows"] = summary.train_rows;
  out["test_rows"] = summary.test_rows;
  out["duplicate_anchors"] = summary.duplicate_anchors;
  out["duplicate_positives"] = summary.duplicate_positives;
  nlohmann::ordered_json lengths;
  for (const char* key : {"anchor", "positive", "negative"}) {
    const auto it = summary.lengths.find(key);
    if (it != summary.lengths.end()) lengths[key] = stats_json(it->second);
  }
  out["length_chars"] = lengths;
  return out;
}

std::string format_summary(const PrepareSummary& summary) {
  std::string out;
  const auto line = [&out](std::string_view label, const std::string& value) {
    out += fmt::format("  {:<22}{}\n", label, value);
  };
  out += fmt::format("Prepared {} -> {}\n", summary.input.string(), summary.output_dir.string());
  line("format", std::string(format_name(summary.format)));
  std::string columns = fmt::format("anchor <- {}, positive <- {}", summary.columns.anchor_column,
                                    summary.columns.positive_column);
  if (summary.columns.negative_column)
    columns += ", negative <- " + *summary.columns.negative_column;
  line("columns", columns);
  line("ids", summary.ids_from_input ? "from the input's \"id\" column" : "added 0..N-1");
  line("rows read", std::to_string(summary.rows_read));
  line("skipped invalid", std::to_string(summary.rows_skipped));
  for (const std::string& example : summary.skipped_examples) out += "    " + example + "\n";
  if (summary.rows_skipped > summary.skipped_examples.size()) {
    out += fmt::format("    ... and {} more\n",
                       summary.rows_skipped - summary.skipped_examples.size());
  }
  line("split", fmt::format("test_size {}, seed {}, {} permutation", summary.test_size.to_string(),
                            summary.seed, split_method_name(summary.split)));
  line("train rows",
       fmt::format("{} -> {}", summary.train_rows, (summary.output_dir / "train.jsonl").string()));
  line("test rows",
       fmt::format("{} -> {}", summary.test_rows, (summary.output_dir / "test.jsonl").string()));
  line("duplicate anchors", std::to_string(summary.duplicate_anchors));
  line("duplicate positives", std::to_string(summary.duplicate_positives));
  for (const char* key : {"anchor", "positive", "negative"}) {
    const auto it = summary.lengths.find(key);
    if (it == summary.lengths.end()) continue;
    const LengthStats& s = it->second;
    line(fmt::format("{} chars", key),
         fmt::format("min {}  mean {:.1f}  median {:.1f}  max {}", s.min, s.mean, s.median, s.max));
  }
  return out;
}

}  // namespace embedtune::data
