// JSON file helpers: nlohmann::json with file/line/column errors and atomic writes.
#include "io/json.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <utility>

#include "io/atomic_file.h"
#include "io/error.h"
#include "io/file.h"

namespace embedtune::io {
namespace {

// 1-based line and column (in bytes) of byte `offset` of `text`.
void line_column(const std::string& text, size_t offset, size_t* line, size_t* column) {
  const size_t pos = std::min(offset, text.size());
  *line = 1;
  size_t line_start = 0;
  for (size_t i = 0; i < pos; ++i) {
    if (text[i] == '\n') {
      ++*line;
      line_start = i + 1;
    }
  }
  *column = pos - line_start + 1;
}

// nlohmann's message without its "[json.exception.parse_error.101] parse error at line 1,
// column 2: " or "[json.exception.out_of_range.406] " prefix.
std::string parse_reason(std::string_view what) {
  if (what.starts_with("[json.exception.")) {
    const size_t close = what.find("] ");
    if (close != std::string_view::npos) what.remove_prefix(close + 2);
  }
  if (what.starts_with("parse error")) {
    const size_t colon = what.find(": ", what.find("column "));
    if (colon != std::string_view::npos) what.remove_prefix(colon + 2);
  }
  return std::string(what);
}

// nlohmann's own DOM builder, except that a parse error is recorded with its byte offset instead
// of thrown: json::parse throws a number overflow as out_of_range, which carries no position,
// though the SAX interface is given one.
template <typename Json>
class LocatingDomParser : public nlohmann::detail::json_sax_dom_parser<Json> {
 public:
  LocatingDomParser(Json& root, JsonParseError& error)
      : nlohmann::detail::json_sax_dom_parser<Json>(root, /*allow_exceptions=*/false),
        error_(error) {}

  // `position` counts the bytes read, up to and including the offending one.
  template <typename Exception>
  bool parse_error(std::size_t position, const std::string& /*last_token*/,
                   const Exception& exception) {
    error_.offset = position == 0 ? 0 : position - 1;
    error_.reason = parse_reason(exception.what());
    return false;
  }

 private:
  JsonParseError& error_;
};

constexpr int kPreviewDepth = 4;

std::string dump_scalar(const nlohmann::json& value) {
  return value.dump(-1, ' ', /*ensure_ascii=*/false, nlohmann::json::error_handler_t::replace);
}

void append_preview(const nlohmann::json& value, int depth, size_t max_chars, std::string& out) {
  if (!value.is_structured()) {
    out += dump_scalar(value);
    return;
  }
  const bool array = value.is_array();
  if (depth == kPreviewDepth && !value.empty()) {
    out += array ? "[...]" : "{...}";
    return;
  }
  out += array ? '[' : '{';
  bool first = true;
  for (auto it = value.begin(); it != value.end() && out.size() <= max_chars; ++it) {
    if (!first) out += ',';
    first = false;
    if (!array) out += dump_scalar(it.key()) + ':';
    append_preview(it.value(), depth + 1, max_chars, out);
  }
  out += array ? ']' : '}';
}

template <typename Json>
Json parse_json_file(const std::filesystem::path& path) {
  const std::string text = read_file(path);
  JsonParseError error;
  std::optional<Json> value = parse_json_text<Json>(text, error);
  if (!value) {
    size_t line = 0, column = 0;
    line_column(text, error.offset, &line, &column);
    fail("{}: invalid JSON at line {}, column {}: {}; fix the file or re-create it", path.string(),
         line, column, error.reason);
  }
  return std::move(*value);
}

}  // namespace

template <typename Json>
std::optional<Json> parse_json_text(std::string_view text, JsonParseError& error) {
  Json value;
  LocatingDomParser<Json> parser(value, error);
  if (!Json::sax_parse(text.begin(), text.end(), &parser)) return std::nullopt;
  return value;
}

template std::optional<nlohmann::json> parse_json_text(std::string_view, JsonParseError&);
template std::optional<nlohmann::ordered_json> parse_json_text(std::string_view, JsonParseError&);

std::string json_preview(const nlohmann::json& value, size_t max_chars) {
  std::string out;
  append_preview(value, 0, max_chars, out);
  if (out.size() <= max_chars) return out;
  size_t cut = max_chars;  // back to the start of a UTF-8 sequence
  while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
  out.resize(cut);
  return out + "...";
}

nlohmann::json read_json_file(const std::filesystem::path& path) {
  return parse_json_file<nlohmann::json>(path);
}

nlohmann::ordered_json read_ordered_json_file(const std::filesystem::path& path) {
  return parse_json_file<nlohmann::ordered_json>(path);
}

void write_json_file_atomic(const std::filesystem::path& path, const nlohmann::json& value,
                            int indent) {
  std::string text;
  try {
    text = value.dump(indent, ' ', /*ensure_ascii=*/false);
  } catch (const nlohmann::json::type_error& e) {
    fail("{}: cannot write JSON: {}; strings must be valid UTF-8", path.string(), e.what());
  }
  text += '\n';
  write_file_atomic(path, text);
}

}  // namespace embedtune::io
