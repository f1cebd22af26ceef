// read_file: a whole file into memory, or one located error.
#include "io/file.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "io/error.h"

namespace embedtune::io {

namespace {

std::ifstream open_file(const std::filesystem::path& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    fail("{}: expected a readable file, found a folder; pass the file inside it", path.string());
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    fail("{}: expected a readable file, found none ({}); check the path", path.string(),
         std::strerror(errno));
  }
  return in;
}

}  // namespace

void check_readable_file(const std::filesystem::path& path) { open_file(path); }

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in = open_file(path);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (in.bad()) {
    fail("{}: expected a readable file, found a read error ({}); check the disk and the file",
         path.string(), std::strerror(errno));
  }
  return std::move(bytes).str();
}

std::string lowercase_extension(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext;
}

}  // namespace embedtune::io
