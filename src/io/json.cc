// JSON file helpers: nlohmann::json with file/line/column errors and atomic writes.
#include "io/json.h"

#include <fstream>
#include <iterator>
#include <string>
#include <system_error>

#include "io/atomic_file.h"
#include "io/error.h"
#include "io/file.h"

namespace embedtune::io {
namespace {

// nlohmann reports a byte count (the bytes read up to and including the offending one);
// turn it into a 1-based line and column of that byte.
void line_column(const std::string& text, size_t bytes_read, size_t* line, size_t* column) {
  size_t pos = bytes_read == 0 ? 0 : bytes_read - 1;
  if (pos > text.size()) pos = text.size();
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

// nlohmann's message is "[json.exception.parse_error.101] parse error at line 1, column 2: why";
// keep only "why".
std::string parse_reason(const std::string& what) {
  const size_t at = what.find("column ");
  const size_t colon = what.find(": ", at == std::string::npos ? 0 : at);
  return colon == std::string::npos ? what : what.substr(colon + 2);
}

}  // namespace

namespace {

template <typename Json>
Json parse_json_file(const std::filesystem::path& path) {
  const std::string text = read_file(path);
  try {
    return Json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    size_t line = 0, column = 0;
    line_column(text, e.byte, &line, &column);
    fail("{}: invalid JSON at line {}, column {}: {}; fix the file or re-create it", path.string(),
         line, column, parse_reason(e.what()));
  }
}

}  // namespace

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
