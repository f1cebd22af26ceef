// Reading JSON Lines, JSON-array and CSV dataset files into records, and dispatching Parquet to
// parquet.cc (see records.h).
#include "data/records.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "data/csv.h"
#include "data/parquet.h"
#include "data/text.h"
#include "io/error.h"
#include "io/file.h"
#include "io/json.h"

namespace embedtune::data {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

std::string_view without_bom(std::string_view text) {
  if (text.substr(0, kBom.size()) == kBom) text.remove_prefix(kBom.size());
  return text;
}

// "found byte 0xFF at column 7" for the first ill-formed UTF-8 byte of `line_text`.
std::string describe_bad_utf8(std::string_view line_text, std::size_t offset) {
  return fmt::format("expected UTF-8 text, found byte 0x{:02X} at column {}",
                     static_cast<unsigned char>(line_text[offset]), offset + 1);
}

std::vector<Record> read_json_lines(std::string_view text, InvalidRows& invalid) {
  std::vector<Record> records;
  std::size_t line = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    ++line;
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view row = text.substr(pos, end - pos);
    pos = end + 1;
    if (!row.empty() && row.back() == '\r') row.remove_suffix(1);
    if (const auto bad = find_invalid_utf8(row)) {
      invalid.report(line, describe_bad_utf8(row, *bad));
      continue;
    }
    if (is_blank(row)) continue;
    io::JsonParseError error;
    std::optional<nlohmann::json> value = io::parse_json_text(row, error);
    if (!value) {
      invalid.report(line, fmt::format("expected one JSON object per line, found malformed JSON "
                                       "at column {}: {}",
                                       error.offset + 1, error.reason));
      continue;
    }
    if (!value->is_object()) {
      invalid.report(line,
                     "expected one JSON object per line, found " + describe_json_value(*value));
      continue;
    }
    records.push_back({std::move(*value), line});
  }
  return records;
}

// The 1-based lines (as line_of_offset counts them) where the elements of the top-level array in
// `text` begin; `text` must be valid JSON whose top level is an array. nlohmann's parser does not
// report positions, so this small scanner finds them, in one pass: line_of_offset per element
// would take time quadratic in the file size.
std::vector<std::size_t> array_element_lines(std::string_view text) {
  std::vector<std::size_t> lines;
  std::size_t line = 1;
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  bool expecting_element = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '\n' || (c == '\r' && (i + 1 >= text.size() || text[i + 1] != '\n'))) ++line;
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') continue;
    if (depth == 1 && expecting_element && c != ']') {
      lines.push_back(line);
      expecting_element = false;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      ++depth;
      if (depth == 1) expecting_element = true;
    } else if (c == ']' || c == '}') {
      --depth;
    } else if (c == ',' && depth == 1) {
      expecting_element = true;
    }
  }
  return lines;
}

std::vector<Record> read_json_array(const std::filesystem::path& path, std::string_view text,
                                    InvalidRows& invalid) {
  if (const auto bad = find_invalid_utf8(text)) {
    fail("{}:{}: expected UTF-8 text, found byte 0x{:02X}; save the file as UTF-8", path.string(),
         line_of_offset(text, *bad), static_cast<unsigned char>(text[*bad]));
  }
  io::JsonParseError error;
  std::optional<nlohmann::json> parsed = io::parse_json_text(text, error);
  if (!parsed) {
    fail("{}:{}: expected a JSON array of records, found malformed JSON: {}; fix the file",
         path.string(), line_of_offset(text, error.offset), error.reason);
  }
  nlohmann::json& value = *parsed;
  if (!value.is_array()) {
    fail(
        "{}: expected a JSON array of records ([{{...}}, ...]), found {}; for one record per "
        "line use a .jsonl file or --format jsonl",
        path.string(), describe_json_value(value));
  }
  const std::vector<std::size_t> lines = array_element_lines(text);
  std::vector<Record> records;
  for (std::size_t i = 0; i < value.size(); ++i) {
    const std::size_t line = i < lines.size() ? lines[i] : 0;
    if (!value[i].is_object()) {
      invalid.report(
          line, "expected a JSON object for each record, found " + describe_json_value(value[i]));
      continue;
    }
    records.push_back({std::move(value[i]), line});
  }
  return records;
}

std::vector<Record> read_csv(const std::filesystem::path& path, std::string_view text,
                             InvalidRows& invalid) {
  CsvParseResult parsed = parse_csv(text);
  if (parsed.rows.empty() && parsed.errors.empty()) return {};
  const std::size_t header_line = parsed.rows.empty() ? SIZE_MAX : parsed.rows.front().line;
  if (!parsed.errors.empty() && parsed.errors.front().line <= header_line) {
    fail("{}:{}: expected a header row of column names, found a malformed row: {}; fix the file",
         path.string(), parsed.errors.front().line, parsed.errors.front().message);
  }
  const std::vector<std::string>& header = parsed.rows.front().fields;
  std::set<std::string> seen;
  for (const std::string& name : header) {
    if (const auto bad = find_invalid_utf8(name)) {
      fail("{}:{}: expected UTF-8 column names, found byte 0x{:02X}; save the file as UTF-8",
           path.string(), header_line, static_cast<unsigned char>(name[*bad]));
    }
    if (!seen.insert(name).second) {
      fail("{}:{}: expected unique column names in the header, found {} twice; rename one",
           path.string(), header_line, quote_for_message(name));
    }
  }

  // Rows and parse errors are each in file order; merge them so that, without --skip-invalid,
  // the first problem in the file is the one reported.
  std::vector<Record> records;
  auto error = parsed.errors.begin();
  for (std::size_t r = 1; r <= parsed.rows.size(); ++r) {
    const std::size_t next_line = r < parsed.rows.size() ? parsed.rows[r].line : SIZE_MAX;
    for (; error != parsed.errors.end() && error->line < next_line; ++error) {
      invalid.report(error->line, error->message);
    }
    if (r == parsed.rows.size()) break;
    CsvRow& row = parsed.rows[r];
    if (row.fields.size() != header.size()) {
      invalid.report(row.line,
                     fmt::format("expected {} fields as in the header ({}), found {}; quote "
                                 "fields that contain commas",
                                 header.size(), quote_list_for_message(header), row.fields.size()));
      continue;
    }
    nlohmann::json columns = nlohmann::json::object();
    bool ok = true;
    for (std::size_t c = 0; c < header.size() && ok; ++c) {
      if (const auto bad = find_invalid_utf8(row.fields[c])) {
        invalid.report(row.line, fmt::format("column {}: expected UTF-8 text, found byte 0x{:02X}",
                                             quote_for_message(header[c]),
                                             static_cast<unsigned char>(row.fields[c][*bad])));
        ok = false;
        break;
      }
      columns[header[c]] = std::move(row.fields[c]);
    }
    if (ok) records.push_back({std::move(columns), row.line});
  }
  return records;
}

}  // namespace

std::string_view format_name(DataFormat format) {
  switch (format) {
    case DataFormat::kJsonLines:
      return "jsonl";
    case DataFormat::kJson:
      return "json";
    case DataFormat::kCsv:
      return "csv";
    case DataFormat::kParquet:
      return "parquet";
  }
  return "?";
}

DataFormat parse_format(std::string_view name) {
  if (name == "jsonl") return DataFormat::kJsonLines;
  if (name == "json") return DataFormat::kJson;
  if (name == "csv") return DataFormat::kCsv;
  if (name == "parquet") return DataFormat::kParquet;
  fail("expected jsonl, json, csv or parquet, found \"{}\"", name);
}

DataFormat format_for_path(const std::filesystem::path& path) {
  const std::string ext = io::lowercase_extension(path);
  if (ext == ".jsonl") return DataFormat::kJsonLines;
  if (ext == ".json") return DataFormat::kJson;
  if (ext == ".csv") return DataFormat::kCsv;
  if (ext == ".parquet") return DataFormat::kParquet;
  fail(
      "{}: expected a file ending in .jsonl, .json, .csv or .parquet, found extension \"{}\"; "
      "pass --format jsonl|json|csv|parquet",
      path.string(), ext);
}

InvalidRows::InvalidRows(std::filesystem::path file, bool skip_invalid, std::string hint)
    : file_(std::move(file)), skip_invalid_(skip_invalid), hint_(std::move(hint)) {}

void InvalidRows::report(std::size_t line, std::string_view detail) {
  std::string message = fmt::format("{}:{}: {}; {}", file_.string(), line, detail, hint_);
  if (!skip_invalid_) throw Error(message);
  rows_.push_back({line, std::move(message)});
}

std::vector<std::string> InvalidRows::messages() const {
  std::vector<std::string> messages;
  for (const InvalidRow& row : rows_) messages.push_back(row.message);
  return messages;
}

void require_in_some_record(const std::filesystem::path& path, const std::vector<Record>& records,
                            const std::string& field, std::string_view what, std::string_view fix) {
  const bool anywhere = std::any_of(records.begin(), records.end(), [&](const Record& record) {
    return record.columns.contains(field);
  });
  if (anywhere || records.empty()) return;
  fail("{}: expected {} {} in some row, found it in no row ({} read; the first has {}); {}",
       path.string(), what, quote_for_message(field), records.size(),
       column_list(records.front().columns), fix);
}

std::vector<std::vector<std::string>> text_fields(const std::filesystem::path& path,
                                                  const std::vector<Record>& records,
                                                  const std::vector<std::string>& fields,
                                                  std::string_view fix) {
  for (const std::string& field : fields) {
    require_in_some_record(path, records, field, "a text field", fix);
  }
  std::vector<std::vector<std::string>> rows;
  rows.reserve(records.size());
  for (const Record& record : records) {
    std::vector<std::string> row;
    row.reserve(fields.size());
    for (const std::string& field : fields) {
      const auto it = record.columns.find(field);
      if (it == record.columns.end() || !it->is_string()) {
        fail("{}:{}: expected a text field {}, found {}; fix the row or {}", path.string(),
             record.line, quote_for_message(field),
             it == record.columns.end() ? column_list(record.columns) : describe_json_value(*it),
             fix);
      }
      row.push_back(it->get<std::string>());
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

std::vector<Record> read_records(const std::filesystem::path& path, DataFormat format,
                                 InvalidRows& invalid) {
  if (format == DataFormat::kParquet) return read_parquet_records(path, invalid);
  const std::string bytes = io::read_file(path);
  const std::string_view text = without_bom(bytes);
  switch (format) {
    case DataFormat::kJsonLines:
      return read_json_lines(text, invalid);
    case DataFormat::kJson:
      return read_json_array(path, text, invalid);
    case DataFormat::kCsv:
      return read_csv(path, text, invalid);
    case DataFormat::kParquet:
      break;
  }
  return {};
}

}  // namespace embedtune::data
