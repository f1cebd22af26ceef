// Atomic file writing: temporary file in the same folder, flush, fsync, rename, fsync the folder.
#include "io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>

#include "io/error.h"

namespace embedtune::io {
namespace {

std::string errno_text(int err) { return std::error_code(err, std::generic_category()).message(); }

// fsync through a fresh descriptor: on Linux fsync flushes the file's pages whichever
// descriptor asks, so the ofstream need not expose its own.
bool fsync_path(const std::filesystem::path& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

// Creates a new, empty, uniquely named file beside `path` and returns its name. O_EXCL makes
// two writers (threads or processes) never share a temporary.
std::filesystem::path create_temp_beside(const std::filesystem::path& path) {
  static std::atomic<unsigned> counter{0};
  const std::filesystem::path parent = path.parent_path();
  for (int attempt = 0; attempt < 100; ++attempt) {
    // fmt rather than operator+: GCC 12 gives a false -Wrestrict on "." + std::string.
    const std::string name =
        fmt::format(".{}.tmp.{}.{}", path.filename().string(), ::getpid(), counter.fetch_add(1));
    std::filesystem::path temp = parent.empty() ? std::filesystem::path(name) : parent / name;
    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) {
      ::close(fd);
      return temp;
    }
    if (errno != EEXIST) {
      int err = errno;
      fail(
          "{}: cannot create a temporary file beside it ({}); check that the folder exists and is "
          "writable",
          path.string(), errno_text(err));
    }
  }
  fail(
      "{}: cannot create a unique temporary file beside it after 100 attempts; remove stale "
      "'.{}.tmp.*' files from the folder",
      path.string(), path.filename().string());
}

}  // namespace

AtomicWriter::AtomicWriter(const std::filesystem::path& path)
    : path_(path), temp_path_(create_temp_beside(path)) {
  stream_.open(temp_path_, std::ios::binary | std::ios::out | std::ios::trunc);
  if (!stream_) {
    std::error_code ignored;
    std::filesystem::remove(temp_path_, ignored);
    fail("{}: cannot open temporary file {} for writing; check permissions", path_.string(),
         temp_path_.string());
  }
}

AtomicWriter::~AtomicWriter() {
  if (committed_) return;
  stream_.close();
  std::error_code ignored;
  std::filesystem::remove(temp_path_, ignored);
}

std::ostream& AtomicWriter::stream() { return stream_; }

void AtomicWriter::commit() {
  if (committed_) fail("{}: AtomicWriter::commit() called twice", path_.string());
  stream_.flush();
  const bool written = static_cast<bool>(stream_);
  stream_.close();
  auto abandon = [&](const std::string& what) {
    std::error_code ignored;
    std::filesystem::remove(temp_path_, ignored);
    committed_ = true;  // nothing left for the destructor to clean
    fail("{}: {}; the previous file (if any) is unchanged. Check free disk space and permissions",
         path_.string(), what);
  };
  if (!written || stream_.fail()) {
    abandon("writing the temporary file failed (disk full or I/O error)");
  }
  if (!fsync_path(temp_path_, O_RDONLY)) abandon("fsync failed (" + errno_text(errno) + ")");
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    int err = errno;
    abandon("cannot rename the temporary file over it (" + errno_text(err) + ")");
  }
  committed_ = true;
  // Make the rename itself durable. Best effort: some file systems refuse fsync on folders.
  const std::filesystem::path parent = path_.parent_path();
  fsync_path(parent.empty() ? std::filesystem::path(".") : parent, O_RDONLY | O_DIRECTORY);
}

void check_output_file(const std::filesystem::path& path, std::string_view what) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    fail("{}: {} names a folder; expected a file path", path.string(), what);
  }
  const std::filesystem::path parent =
      path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
  if (!std::filesystem::is_directory(parent, ec)) {
    fail("{}: the folder {} does not exist; create it or choose another {}", path.string(),
         parent.string(), what);
  }
  if (::access(parent.c_str(), W_OK) != 0) {
    fail("{}: the folder {} is not writable; choose another {}", path.string(), parent.string(),
         what);
  }
}

void check_output_dir(const std::filesystem::path& dir, std::string_view what) {
  std::error_code ec;
  if (std::filesystem::exists(dir, ec) && !std::filesystem::is_directory(dir, ec)) {
    fail("{}: {} names a file; expected a folder (choose another {})", dir.string(), what, what);
  }
  std::filesystem::path existing = std::filesystem::absolute(dir, ec);
  while (!existing.empty() && !std::filesystem::exists(existing, ec)) {
    if (existing == existing.parent_path()) break;
    existing = existing.parent_path();
  }
  if (!std::filesystem::is_directory(existing, ec)) {
    fail("{}: {} cannot be created: {} is not a folder; choose another {}", dir.string(), what,
         existing.string(), what);
  }
  if (::access(existing.c_str(), W_OK) != 0) {
    fail("{}: {} cannot be written: {} is not writable; choose another {}", dir.string(), what,
         existing.string(), what);
  }
}

void write_file_atomic(const std::filesystem::path& path, std::string_view bytes) {
  AtomicWriter writer(path);
  writer.stream().write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  writer.commit();
}

}  // namespace embedtune::io
