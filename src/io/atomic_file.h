// Writing files so that readers see either the old file or the whole new one, never half of it.
#pragma once

#include <filesystem>
#include <fstream>
#include <ostream>
#include <string_view>

namespace embedtune::io {

// Writes `bytes` to `path` atomically: a temporary file beside `path` is written, flushed,
// fsynced and renamed over `path` (then the folder is fsynced). The parent folder must exist.
// Throws Error (naming `path`) on any I/O failure; on failure `path` is untouched and no
// temporary file remains. Thread-safe for distinct paths.
void write_file_atomic(const std::filesystem::path& path, std::string_view bytes);

// Checks, before any work, that `path` can be written later: its folder exists and is writable
// and `path` itself is not a folder. Throws Error "PATH: ..." (`what` names the setting, e.g.
// "--output") with the fix.
void check_output_file(const std::filesystem::path& path, std::string_view what);

// Checks, before any work, that `dir` can become an output folder: it is a folder or can be
// created (its nearest existing ancestor is a writable folder), and it is not a file. Throws
// Error "DIR: ..." naming `what`.
void check_output_dir(const std::filesystem::path& dir, std::string_view what);

// Streams a file into a temporary beside `path`; commit() flushes, fsyncs and renames it over
// `path`. If commit() is never reached (an exception, an early return) the destructor removes
// the temporary and `path` keeps its old contents. Not copyable or movable: the temporary
// belongs to exactly one scope. Not thread-safe.
class AtomicWriter {
 public:
  // Creates the temporary file (mode 0666 & ~umask, as a plain open() would). Throws Error.
  explicit AtomicWriter(const std::filesystem::path& path);
  AtomicWriter(const AtomicWriter&) = delete;
  AtomicWriter& operator=(const AtomicWriter&) = delete;
  ~AtomicWriter();

  // The binary stream to write the new contents to.
  std::ostream& stream();
  // Flushes, fsyncs and renames the temporary over `path`. Throws Error if any write failed
  // (disk full...) or the rename fails; the temporary is then removed. Call at most once.
  void commit();

  const std::filesystem::path& path() const { return path_; }
  const std::filesystem::path& temp_path() const { return temp_path_; }

 private:
  std::filesystem::path path_;
  std::filesystem::path temp_path_;
  std::ofstream stream_;
  bool committed_ = false;
};

}  // namespace embedtune::io
