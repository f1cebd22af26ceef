// Reading the texts to encode or tokenize: a .txt file (one text a line) or records
// (.jsonl / .json / .csv / .parquet) from which one field is taken.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace embedtune::data {

// Texts in file order. For .txt every line is a text (a trailing newline ends the last line and
// adds none; "\r\n" counts as one line end; an empty line is an empty text). For records, the
// string value of `field` in each. Throws embedtune::Error naming file and line for invalid
// UTF-8, a malformed record, or a record whose `field` is missing or not a string, and the file
// when no record has `field`; the fix names the flag `field_flag` that sets it.
std::vector<std::string> read_texts(const std::filesystem::path& path, const std::string& field,
                                    std::string_view field_flag = "--field");

}  // namespace embedtune::data
