// Reading and writing JSON files with errors that name the file, line and column.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>

namespace embedtune::io {

// Parses the JSON file at `path` (UTF-8, an optional BOM is skipped).
// Throws Error "<path>: not found ..." when it does not exist, and
// "<path>: invalid JSON at line L, column C: <reason>" when it does not parse (L and C are
// 1-based; C counts bytes). Duplicate keys keep the last value, as Python's json does.
nlohmann::json read_json_file(const std::filesystem::path& path);

// read_json_file keeping the keys in file order.
nlohmann::ordered_json read_ordered_json_file(const std::filesystem::path& path);

// Writes `value` as JSON (`indent` spaces per level, < 0 for one line, UTF-8 kept as is) plus a
// trailing newline, atomically (see write_file_atomic). Throws Error naming `path` when a
// string is not valid UTF-8 or the write fails.
void write_json_file_atomic(const std::filesystem::path& path, const nlohmann::json& value,
                            int indent = 2);

}  // namespace embedtune::io
