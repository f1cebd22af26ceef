// Small text helpers the dataset readers share: UTF-8 checks, Python-compatible whitespace,
// code-point counts, line numbers of byte offsets, and short descriptions of JSON values.
#pragma once

#include <cstddef>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "io/utf8.h"

namespace embedtune::data {

// Byte offset of the first byte that does not begin a well-formed UTF-8 sequence, or nullopt
// (io/utf8.h).
using io::find_invalid_utf8;

// Number of Unicode code points in valid UTF-8 `text` (Python's len(str)).
std::size_t count_code_points(std::string_view text);

// `text` without the leading and trailing characters Python's str.isspace() accepts (ASCII
// whitespace, U+001C..U+001F, U+0085, U+00A0, U+1680, U+2000..U+200A, U+2028, U+2029, U+202F,
// U+205F, U+3000): the same result as Python's str.strip() on valid UTF-8.
std::string_view python_strip(std::string_view text);

// True when `text` is empty or only whitespace in the sense of python_strip.
bool is_blank(std::string_view text);

// 1-based line of byte `offset` in `text`; "\n", "\r\n" and a lone "\r" each end a line.
std::size_t line_of_offset(std::string_view text, std::size_t offset);

// A short human description of a JSON value for "found ..." in error messages:
// `number 42`, `null`, `boolean true`, `an array`, `an object`, `string "abc"` (cut at 40 chars).
std::string describe_json_value(const nlohmann::json& value);

// `text` quoted and cut to `max_chars` code points with "..." appended, for messages.
std::string quote_for_message(std::string_view text, std::size_t max_chars = 40);

// Each of `items` as quote_for_message writes it, joined with ", ": "\"q\", \"context\"".
std::string quote_list_for_message(std::span<const std::string> items);

// The keys of a record's JSON object for "found ..." in messages: "columns \"q\", \"context\"",
// or "no columns".
std::string column_list(const nlohmann::json& columns);

}  // namespace embedtune::data
