// Loading (anchor, positive[, negative]) pairs with ids from a dataset file (see pair_dataset.h).
#include "data/pair_dataset.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <map>

#include "data/text.h"
#include "io/error.h"
#include "io/settings.h"

namespace embedtune::data {
namespace {

// CSV has no types; pandas reads an all-integer column as int64, and so do we for ids.
std::optional<std::int64_t> as_integer(const std::string& text) {
  std::size_t digits = text.size();
  if (!text.empty() && text[0] == '-') --digits;
  if (digits == 0) return std::nullopt;
  for (std::size_t i = text.size() - digits; i < text.size(); ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
  }
  std::int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

void convert_integer_csv_ids(std::vector<Record>& records) {
  for (const Record& record : records) {
    const auto it = record.columns.find(kIdColumn);
    if (it == record.columns.end() || !as_integer(it->get<std::string>())) return;
  }
  for (Record& record : records) {
    record.columns[kIdColumn] = *as_integer(record.columns[kIdColumn].get<std::string>());
  }
}

class RowMapper {
 public:
  RowMapper(const ColumnMapping& columns, bool has_id, std::string_view key_prefix)
      : columns_(columns), has_id_(has_id), key_prefix_(key_prefix) {}

  // Fills `row` from `record`; returns the problem ("expected ..., found ...") if it is invalid.
  std::optional<std::string> map(const Record& record, PairRecord& row) {
    row.line = record.line;
    if (auto problem = text(record, columns_.anchor_column, "anchor_column", row.anchor)) {
      return problem;
    }
    if (auto problem = text(record, columns_.positive_column, "positive_column", row.positive)) {
      return problem;
    }
    if (columns_.negative_column) {
      std::string negative;
      if (auto problem = text(record, *columns_.negative_column, "negative_column", negative)) {
        return problem;
      }
      row.negative = std::move(negative);
    }
    if (has_id_) return id(record, row);
    return std::nullopt;
  }

 private:
  std::optional<std::string> text(const Record& record, const std::string& column, const char* key,
                                  std::string& out) const {
    const auto it = record.columns.find(column);
    if (it == record.columns.end()) {
      return fmt::format("expected a column {} (set by {}), found {}", quote_for_message(column),
                         io::setting_display_name(key_prefix_, key), column_list(record.columns));
    }
    if (!it->is_string()) {
      return fmt::format("column {}: expected a string, found {}", quote_for_message(column),
                         describe_json_value(*it));
    }
    const std::string& value = it->get_ref<const std::string&>();
    if (is_blank(value)) {
      return fmt::format("column {}: expected non-empty text, found {}", quote_for_message(column),
                         value.empty() ? std::string("an empty string")
                                       : "only whitespace " + quote_for_message(value));
    }
    out = value;
    return std::nullopt;
  }

  std::optional<std::string> id(const Record& record, PairRecord& row) {
    const auto it = record.columns.find(kIdColumn);
    if (it == record.columns.end()) {
      return fmt::format("expected a column \"id\" as other rows have, found {}",
                         column_list(record.columns));
    }
    std::string key;
    if (it->is_number_integer()) {
      key = it->dump();
    } else if (it->is_string() && !it->get_ref<const std::string&>().empty()) {
      key = it->get<std::string>();
    } else {
      return fmt::format("column \"id\": expected an integer or a non-empty string, found {}",
                         describe_json_value(*it));
    }
    const auto [seen, inserted] = seen_ids_.emplace(key, record.line);
    if (!inserted) {
      return fmt::format("column \"id\": expected a unique id, found {} already used on line {}",
                         describe_json_value(*it), seen->second);
    }
    row.id = *it;
    return std::nullopt;
  }

  const ColumnMapping& columns_;
  bool has_id_;
  std::string_view key_prefix_;
  std::map<std::string, std::size_t> seen_ids_;  // id as text -> line of first use
};

}  // namespace

PairDataset load_pair_dataset(const std::filesystem::path& path, DataFormat format,
                              const ColumnMapping& columns, bool skip_invalid,
                              std::string_view key_prefix) {
  // Problems are collected first and reported in file order, so that without --skip-invalid the
  // error names the first bad row, whether the reader or the column mapping found it.
  InvalidRows invalid(path, /*skip_invalid=*/true,
                      "fix the row or " + io::setting_request(key_prefix, "skip_invalid", ""));
  std::vector<Record> records = read_records(path, format, invalid);

  std::vector<std::pair<std::string, const char*>> mapped = {
      {columns.anchor_column, "anchor_column"}, {columns.positive_column, "positive_column"}};
  if (columns.negative_column) mapped.emplace_back(*columns.negative_column, "negative_column");
  const auto use_another = [&](const char* key) {
    return io::setting_request(key_prefix, key, "NAME") + " to use another column";
  };
  if ((format == DataFormat::kJsonLines || format == DataFormat::kJson) && !records.empty()) {
    // A column that no row has is a wrong column name, not a bad row: say so instead of naming
    // the first row and suggesting --skip-invalid, which would skip every row.
    for (const auto& [column, key] : mapped) {
      require_in_some_record(path, records, column, "a column", use_another(key));
    }
  }
  if ((format == DataFormat::kCsv || format == DataFormat::kParquet) && !records.empty()) {
    // Every CSV or Parquet row has every column of the header or schema, so a missing column is a
    // problem of the file, not of its rows.
    const nlohmann::json& first = records.front().columns;
    for (const auto& [column, key] : mapped) {
      if (first.contains(column)) continue;
      if (format == DataFormat::kCsv) {
        fail("{}:1: expected a column {} in the header, found {}; {}", path.string(),
             quote_for_message(column), column_list(first), use_another(key));
      }
      fail("{}: expected a column {} in the Parquet file, found {}; {}", path.string(),
           quote_for_message(column), column_list(first), use_another(key));
    }
  }

  bool has_id = false;
  for (const Record& record : records) has_id = has_id || record.columns.contains(kIdColumn);
  if (has_id && format == DataFormat::kCsv) convert_integer_csv_ids(records);

  PairDataset dataset;
  dataset.ids_from_input = has_id;
  RowMapper mapper(columns, has_id, key_prefix);
  for (const Record& record : records) {
    PairRecord row;
    if (auto problem = mapper.map(record, row)) {
      invalid.report(record.line, *problem);
      continue;
    }
    dataset.rows.push_back(std::move(row));
  }
  if (!has_id) {
    // As the reference's add_column("id", range(len(dataset))) on the rows that were loaded.
    for (std::size_t i = 0; i < dataset.rows.size(); ++i) dataset.rows[i].id = i;
  }
  std::vector<InvalidRow> problems = invalid.rows();
  std::stable_sort(problems.begin(), problems.end(),
                   [](const InvalidRow& a, const InvalidRow& b) { return a.line < b.line; });
  if (!skip_invalid && !problems.empty()) throw Error(problems.front().message);
  for (InvalidRow& problem : problems) dataset.skipped.push_back(std::move(problem.message));
  dataset.rows_read = dataset.rows.size() + dataset.skipped.size();
  return dataset;
}

nlohmann::ordered_json to_output_json(const PairRecord& row) {
  nlohmann::ordered_json out;
  out["id"] = row.id;
  out["anchor"] = row.anchor;
  out["positive"] = row.positive;
  if (row.negative) out["negative"] = *row.negative;
  return out;
}

}  // namespace embedtune::data
