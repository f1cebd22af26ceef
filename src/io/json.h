// Reading and writing JSON files with errors that name the file, line and column.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace embedtune::io {

// Where and why a JSON text does not parse: the 0-based byte offset of the offending byte and
// nlohmann's reason without its "[json.exception...] parse error at ...: " prefix, e.g.
// "syntax error while parsing value - invalid literal; last read: 'tru'" or
// "number overflow parsing '1e999'".
struct JsonParseError {
  std::size_t offset = 0;
  std::string reason;
};

// Parses `text` as one JSON value, nothing after it but whitespace. Returns nullopt and fills
// `error` when it does not parse, including a number too large for a double (which
// nlohmann::json::parse throws as out_of_range, without a position). Never throws.
// Json: nlohmann::json or nlohmann::ordered_json.
template <typename Json = nlohmann::json>
std::optional<Json> parse_json_text(std::string_view text, JsonParseError& error);

// Parses the JSON file at `path` (UTF-8, an optional BOM is skipped).
// Throws Error "<path>: not found ..." when it does not exist, and
// "<path>: invalid JSON at line L, column C: <reason>" when it does not parse (L and C are
// 1-based; C counts bytes). Duplicate keys keep the last value, as Python's json does.
nlohmann::json read_json_file(const std::filesystem::path& path);

// `value` as compact JSON for an error message: one line, cut after about `max_chars` characters
// with "...", arrays and objects nested deeper than 4 levels shown as [...] and {...}. Unlike
// dump(), it takes time and stack bounded by max_chars, however large or deep `value` is, and
// never throws (invalid UTF-8 becomes U+FFFD).
std::string json_preview(const nlohmann::json& value, std::size_t max_chars = 80);

// `value` as an int64 when it is a JSON integer within int64's range, else nullopt. nlohmann's
// get<int64_t>() converts a float (undefined behaviour out of range) and wraps a larger unsigned
// value without a check; readers of integer fields ask this first.
inline std::optional<int64_t> json_int64(const nlohmann::json& value) {
  if (!value.is_number_integer()) return std::nullopt;
  if (value.is_number_unsigned() &&
      value.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return std::nullopt;
  }
  return value.get<int64_t>();
}

// read_json_file keeping the keys in file order.
nlohmann::ordered_json read_ordered_json_file(const std::filesystem::path& path);

// Writes `value` as JSON (`indent` spaces per level, < 0 for one line, UTF-8 kept as is) plus a
// trailing newline, atomically (see write_file_atomic). Throws Error naming `path` when a
// string is not valid UTF-8 or the write fails.
void write_json_file_atomic(const std::filesystem::path& path, const nlohmann::json& value,
                            int indent = 2);

}  // namespace embedtune::io
