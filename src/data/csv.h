// RFC 4180 CSV parsing: quoted fields, "" escapes, commas and line breaks inside quotes, CRLF.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace embedtune::data {

struct CsvRow {
  std::vector<std::string> fields;
  std::size_t line = 0;  // 1-based physical line where the row begins
};

// A row that could not be parsed: `message` reads "expected ..., found ..." (no file or line).
struct CsvRowError {
  std::size_t line = 0;
  std::string message;
};

struct CsvParseResult {
  std::vector<CsvRow> rows;         // in file order, the header row first
  std::vector<CsvRowError> errors;  // in file order; the rows they name are not in `rows`
};

// Splits `text` (UTF-8, byte order mark already removed) into rows of fields as RFC 4180 reads
// them, with the leniencies of Python's csv module: a line may end in "\r\n", "\n" or "\r"; a
// double quote inside an unquoted field is kept literally. Quoted fields keep their line breaks
// byte for byte. Empty lines between rows are skipped (as pandas' skip_blank_lines does).
//
// Malformed rows become errors and parsing resumes: after an unterminated quoted field, at the
// line after the one where the row began (so one bad quote costs one row, not the rest of the
// file); after text following a closing quote, at the next line. Never throws.
CsvParseResult parse_csv(std::string_view text);

}  // namespace embedtune::data
