// Reading a dataset file (JSON Lines, a JSON array of records, CSV or Parquet) into records whose
// columns are JSON values, each with the line it came from, and the policy for rows that are
// invalid.
#pragma once

#include <cstddef>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace embedtune::data {

enum class DataFormat { kJsonLines, kJson, kCsv, kParquet };

// "jsonl", "json", "csv" or "parquet".
std::string_view format_name(DataFormat format);

// Parses a --format value ("jsonl", "json", "csv", "parquet"); throws Error naming the accepted
// values.
DataFormat parse_format(std::string_view name);

// The format a file's extension names (.jsonl, .json, .csv, .parquet; case-insensitive); throws
// Error that suggests --format when the extension is something else.
DataFormat format_for_path(const std::filesystem::path& path);

// One row of the input: a JSON object of its columns, and the 1-based line where it begins (for
// Parquet, the 1-based row number).
struct Record {
  nlohmann::json columns;
  std::size_t line = 0;
};

// One row that was reported invalid.
struct InvalidRow {
  std::size_t line = 0;
  std::string message;  // "FILE:LINE: DETAIL; HINT"
};

// Where invalid rows go: with skip_invalid they are counted and kept (in the order reported);
// without, the first one reported is thrown as Error. Messages read
// "FILE:LINE: DETAIL; HINT", the hint by default "fix the row or pass --skip-invalid".
class InvalidRows {
 public:
  InvalidRows(std::filesystem::path file, bool skip_invalid,
              std::string hint = "fix the row or pass --skip-invalid");

  // Throws Error unless skipping; otherwise records the row as skipped.
  void report(std::size_t line, std::string_view detail);

  std::size_t count() const { return rows_.size(); }
  const std::vector<InvalidRow>& rows() const { return rows_; }
  // The messages in the order reported.
  std::vector<std::string> messages() const;
  bool skip_invalid() const { return skip_invalid_; }
  const std::filesystem::path& file() const { return file_; }

 private:
  std::filesystem::path file_;
  bool skip_invalid_;
  std::string hint_;
  std::vector<InvalidRow> rows_;
};

// Reads every record of `path` in file order. A UTF-8 byte order mark at the start is skipped;
// all text must be valid UTF-8.
//  - JSON Lines: one JSON object per line; blank lines are ignored.
//  - JSON: one array of objects ([{...}, {...}]); a record's line is where its object begins.
//  - CSV: RFC 4180 with a header row naming the columns; every value is a JSON string.
//  - Parquet: through Arrow's Parquet reader, values typed as parquet.h describes.
// Rows that cannot be read (malformed JSON, a value that is not an object, a CSV row with an
// unterminated quote or the wrong number of fields, bad UTF-8 in a row) go to `invalid`.
// Problems that concern the whole file (missing file, malformed JSON array, a CSV header with
// repeated names, a damaged Parquet file) throw Error whatever `invalid` skips.
std::vector<Record> read_records(const std::filesystem::path& path, DataFormat format,
                                 InvalidRows& invalid);

// Throws "FILE: expected WHAT "FIELD" in some row, found it in no row (N read; the first has
// columns ...); FIX" when none of `records` (read from `path`) has `field`: a wrong name, not a bad
// row. `what` is "a column" or "a text field".
void require_in_some_record(const std::filesystem::path& path, const std::vector<Record>& records,
                            const std::string& field, std::string_view what, std::string_view fix);

// The text of `fields` in each of `records` (read from `path`), row by row. A field that no record
// has is a wrong name: "FILE: expected a text field "F" in some row, found it in no row (N read;
// the first has columns ...); FIX". A record without it, or with a value that is not a string, is
// a bad row: "FILE:LINE: expected a text field "F", found ...; fix the row or FIX". `fix` names
// the setting that chooses the fields ("set train_columns").
std::vector<std::vector<std::string>> text_fields(const std::filesystem::path& path,
                                                  const std::vector<Record>& records,
                                                  const std::vector<std::string>& fields,
                                                  std::string_view fix);

}  // namespace embedtune::data
