// Atomic file writing: temporary file in the same folder, flush, fsync, rename, fsync the folder.
#include "io/atomic_file.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <regex>
#include <string>
#include <system_error>

#include "io/error.h"
#include "io/file.h"

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

bool AtomicWriter::FdBuffer::drain() {
  const char* p = pbase();
  while (p < pptr()) {
    const ssize_t n = ::write(fd_, p, static_cast<size_t>(pptr() - p));
    if (n < 0) {
      if (errno == EINTR) continue;
      error_ = errno;
      setp(buffer_, buffer_ + sizeof(buffer_));
      return false;
    }
    p += n;
  }
  setp(buffer_, buffer_ + sizeof(buffer_));
  return true;
}

AtomicWriter::FdBuffer::int_type AtomicWriter::FdBuffer::overflow(int_type c) {
  if (!drain()) return traits_type::eof();
  if (!traits_type::eq_int_type(c, traits_type::eof())) {
    *pptr() = traits_type::to_char_type(c);
    pbump(1);
  }
  return traits_type::not_eof(c);
}

AtomicWriter::AtomicWriter(const std::filesystem::path& path)
    : path_(path), temp_path_(create_temp_beside(path)) {
  fd_ = ::open(temp_path_.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd_ < 0) {
    const int err = errno;
    std::error_code ignored;
    std::filesystem::remove(temp_path_, ignored);
    fail("{}: cannot open temporary file {} for writing ({}); check permissions", path_.string(),
         temp_path_.string(), errno_text(err));
  }
  buffer_ = std::make_unique<FdBuffer>(fd_);
  stream_.rdbuf(buffer_.get());
}

AtomicWriter::~AtomicWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (committed_) return;
  std::error_code ignored;
  std::filesystem::remove(temp_path_, ignored);
}

std::ostream& AtomicWriter::stream() { return stream_; }

void AtomicWriter::prepare() {
  if (committed_) fail("{}: AtomicWriter::prepare() after commit()", path_.string());
  if (prepared_) return;
  stream_.flush();
  if (!stream_ || !buffer_->drain()) {
    abandon(fmt::format("cannot write it ({})", buffer_->error() != 0
                                                    ? errno_text(buffer_->error())
                                                    : std::string("a write failed")));
  }
  if (::fsync(fd_) != 0) abandon(fmt::format("cannot write it (fsync: {})", errno_text(errno)));
  ::close(fd_);
  fd_ = -1;
  prepared_ = true;
}

void AtomicWriter::abandon(const std::string& what) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  std::error_code ignored;
  std::filesystem::remove(temp_path_, ignored);
  committed_ = true;  // nothing left for the destructor to clean
  fail("{}: {}; the previous version, if any, is unchanged", path_.string(), what);
}

void AtomicWriter::commit() {
  if (committed_) fail("{}: AtomicWriter::commit() called twice", path_.string());
  prepare();
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    int err = errno;
    abandon("cannot rename the temporary file over it (" + errno_text(err) + ")");
  }
  committed_ = true;
  // Make the rename itself durable. Best effort: some file systems refuse fsync on folders.
  const std::filesystem::path parent = path_.parent_path();
  fsync_path(parent.empty() ? std::filesystem::path(".") : parent, O_RDONLY | O_DIRECTORY);
}

std::filesystem::path staging_path(const std::filesystem::path& path, std::string_view kind) {
  const std::string name = fmt::format(".{}.{}-{}", path.filename().string(), kind, ::getpid());
  return path.parent_path().empty() ? std::filesystem::path(name) : path.parent_path() / name;
}

std::vector<std::filesystem::path> clean_stale_staging(const std::filesystem::path& dir) {
  static const std::regex staged(R"(^\.(.+)\.(tmp|old)-([0-9]+)$)");
  static const std::regex temp_file(R"(^\.(.+)\.tmp\.([0-9]+)\.[0-9]+$)");
  auto running = [](long pid) {
    if (pid <= 0) return true;  // not ours to judge
    if (pid == ::getpid()) return true;
    return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
  };
  std::vector<std::filesystem::path> done;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return done;
  std::vector<std::filesystem::path> entries;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) entries.push_back(entry);
  for (const auto& path : entries) {
    const std::string name = path.filename().string();
    std::smatch match;
    if (std::regex_match(name, match, staged)) {
      if (running(std::stol(match[3].str()))) continue;
      const std::filesystem::path target = dir / match[1].str();
      if (match[2] == "old" && !std::filesystem::exists(target, ec)) {
        std::filesystem::rename(path, target, ec);  // the replacement never arrived
      } else {
        std::filesystem::remove_all(path, ec);
      }
      done.push_back(path);
    } else if (std::regex_match(name, match, temp_file)) {
      if (running(std::stol(match[2].str()))) continue;
      std::filesystem::remove_all(path, ec);
      done.push_back(path);
    }
  }
  return done;
}

void check_output_extension(const std::filesystem::path& path, std::string_view what,
                            std::string_view extension, std::string_view contents) {
  const std::string found = lowercase_extension(path);
  if (found == extension) return;
  fail("{}: {}: expected a file name ending in {} ({}), found {}; name it {}", path.string(), what,
       extension, contents, found.empty() ? "no extension" : "'" + found + "'",
       std::filesystem::path(path).replace_extension(extension).string());
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
