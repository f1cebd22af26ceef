// Reading a whole file: the one helper every reader uses, with one wording for its errors; and
// the extension a format is chosen by.
#pragma once

#include <filesystem>
#include <string>

namespace embedtune::io {

// The bytes of the file at `path`. Throws Error "PATH: expected a readable file, found ..."
// naming what was found (nothing, a folder, a read error with the system's reason) and the fix.
std::string read_file(const std::filesystem::path& path);

// Throws the Error read_file would when `path` is not a file it can open, for readers that open
// the file through another library (Arrow's Parquet reader).
void check_readable_file(const std::filesystem::path& path);

// `path`'s extension in lower case, with its dot (".jsonl"; "" when it has none), for choosing a
// format by file name.
std::string lowercase_extension(const std::filesystem::path& path);

}  // namespace embedtune::io
