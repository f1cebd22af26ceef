// Reading a whole file: the one helper every reader uses, with one wording for its errors.
#pragma once

#include <filesystem>
#include <string>

namespace embedtune::io {

// The bytes of the file at `path`. Throws Error "PATH: expected a readable file, found ..."
// naming what was found (nothing, a folder, a read error with the system's reason) and the fix.
std::string read_file(const std::filesystem::path& path);

}  // namespace embedtune::io
