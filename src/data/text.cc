// Small text helpers the dataset readers share (see text.h).
#include "data/text.h"

#include <cstdint>
#include <nlohmann/json.hpp>

#include "io/utf8.h"

namespace embedtune::data {
namespace {

// Decodes the code point at text[i] of valid UTF-8; sets `length` to its byte count.
char32_t decode(std::string_view text, std::size_t i, std::size_t& length) {
  const auto byte = [&](std::size_t k) -> char32_t { return static_cast<unsigned char>(text[k]); };
  const char32_t b0 = byte(i);
  if (b0 < 0x80) {
    length = 1;
    return b0;
  }
  if (b0 < 0xE0) {
    length = 2;
    return ((b0 & 0x1F) << 6) | (byte(i + 1) & 0x3F);
  }
  if (b0 < 0xF0) {
    length = 3;
    return ((b0 & 0x0F) << 12) | ((byte(i + 1) & 0x3F) << 6) | (byte(i + 2) & 0x3F);
  }
  length = 4;
  return ((b0 & 0x07) << 18) | ((byte(i + 1) & 0x3F) << 12) | ((byte(i + 2) & 0x3F) << 6) |
         (byte(i + 3) & 0x3F);
}

// Python's str.isspace(): characters of bidirectional class WS, B or S, or category Zs.
bool is_python_space(char32_t c) {
  if ((c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20)) return true;
  switch (c) {
    case 0x85:
    case 0xA0:
    case 0x1680:
    case 0x2028:
    case 0x2029:
    case 0x202F:
    case 0x205F:
    case 0x3000:
      return true;
    default:
      return c >= 0x2000 && c <= 0x200A;
  }
}

// Byte offset where the last code point before `end` begins (valid UTF-8 assumed).
std::size_t previous_start(std::string_view text, std::size_t end) {
  std::size_t i = end - 1;
  while (i > 0 && (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) --i;
  return i;
}

}  // namespace

std::size_t count_code_points(std::string_view text) {
  std::size_t count = 0;
  for (char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++count;
  }
  return count;
}

std::string_view python_strip(std::string_view text) {
  std::size_t begin = 0;
  while (begin < text.size()) {
    std::size_t length = 0;
    if (!is_python_space(decode(text, begin, length))) break;
    begin += length;
  }
  std::size_t end = text.size();
  while (end > begin) {
    const std::size_t start = previous_start(text, end);
    std::size_t length = 0;
    if (!is_python_space(decode(text, start, length))) break;
    end = start;
  }
  return text.substr(begin, end - begin);
}

bool is_blank(std::string_view text) { return python_strip(text).empty(); }

std::size_t line_of_offset(std::string_view text, std::size_t offset) {
  std::size_t line = 1;
  const std::size_t end = offset < text.size() ? offset : text.size();
  for (std::size_t i = 0; i < end; ++i) {
    if (text[i] == '\n') {
      ++line;
    } else if (text[i] == '\r' && (i + 1 >= text.size() || text[i + 1] != '\n')) {
      ++line;
    }
  }
  return line;
}

std::string quote_for_message(std::string_view text, std::size_t max_chars) {
  std::string shown;
  std::size_t chars = 0;
  std::size_t i = 0;
  while (i < text.size() && chars < max_chars) {
    std::size_t n = io::utf8_sequence_length(text, i);
    if (n == 0) n = 1;  // keep going on bad bytes; the message is only a hint
    shown.append(text.substr(i, n));
    i += n;
    ++chars;
  }
  // Escapes quotes and control characters so the message stays on one line.
  std::string quoted =
      nlohmann::json(shown).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (i < text.size()) quoted.insert(quoted.size() - 1, "...");
  return quoted;
}

std::string quote_list_for_message(std::span<const std::string> items) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += ", ";
    out += quote_for_message(item);
  }
  return out;
}

std::string column_list(const nlohmann::json& columns) {
  std::vector<std::string> names;
  for (const auto& item : columns.items()) names.push_back(item.key());
  if (names.empty()) return "no columns";
  return "columns " + quote_list_for_message(names);
}

std::string describe_json_value(const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::null:
      return "null";
    case nlohmann::json::value_t::boolean:
      return value.get<bool>() ? "boolean true" : "boolean false";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
    case nlohmann::json::value_t::number_float:
      return "number " + value.dump();
    case nlohmann::json::value_t::string:
      return "string " + quote_for_message(value.get_ref<const std::string&>());
    case nlohmann::json::value_t::array:
      return "an array";
    case nlohmann::json::value_t::object:
      return "an object";
    default:
      return "a binary value";
  }
}

}  // namespace embedtune::data
