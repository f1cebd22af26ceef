// Writing files so that readers see either the old file or the whole new one, never half of it.
#pragma once

#include <filesystem>
#include <fstream>
#include <memory>
#include <ostream>
#include <streambuf>
#include <string>
#include <string_view>
#include <vector>

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

// Checks that `path` ends in `extension` (".npy"; any case), so that a file is not written under
// a name that says another format: "PATH: --output: expected a file name ending in .npy
// (CONTENTS), found '.jsonl'; name it NEW" (`contents` says what is written, e.g. "embeddings are
// written as a float32 NumPy array").
void check_output_extension(const std::filesystem::path& path, std::string_view what,
                            std::string_view extension, std::string_view contents);

// Checks, before any work, that `dir` can become an output folder: it is a folder or can be
// created (its nearest existing ancestor is a writable folder), and it is not a file. Throws
// Error "DIR: ..." naming `what`.
void check_output_dir(const std::filesystem::path& dir, std::string_view what);

// Where a folder (or file) `path` is built before it is renamed into place ("tmp"), or where
// the one it replaces waits until the rename is done ("old"): `.NAME.KIND-PID` beside it.
std::filesystem::path staging_path(const std::filesystem::path& path, std::string_view kind);

// Clears what writers that died mid-write (SIGKILL, power loss) left in `dir`: staging folders
// and files (`.NAME.tmp-PID`, and AtomicWriter's `.NAME.tmp.PID.N`) are removed, and a replaced
// folder (`.NAME.old-PID`) whose replacement never arrived is put back as NAME (else removed).
// Only entries of processes that are no longer running are touched. Returns what it removed or
// restored.
std::vector<std::filesystem::path> clean_stale_staging(const std::filesystem::path& dir);

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
  // Flushes and fsyncs the temporary: after it returns, commit() only renames. Lets several
  // files be written in full before any of them replaces its old version. Throws Error if any
  // write failed (disk full...); the temporary is then removed.
  void prepare();
  // prepare() (if not done yet), then renames the temporary over `path`. Throws Error if a write
  // or the rename fails; the temporary is then removed. Call at most once.
  void commit();

  const std::filesystem::path& path() const { return path_; }
  const std::filesystem::path& temp_path() const { return temp_path_; }

 private:
  std::filesystem::path path_;
  std::filesystem::path temp_path_;
  [[noreturn]] void abandon(const std::string& what);

  // A buffered output stream on a file descriptor that keeps the errno of a failed write, so a
  // full disk is reported as "No space left on device", not as a failed stream.
  class FdBuffer : public std::streambuf {
   public:
    explicit FdBuffer(int fd) : fd_(fd) { setp(buffer_, buffer_ + sizeof(buffer_)); }
    int error() const { return error_; }
    // Writes what is buffered; false (with error() set) on failure.
    bool drain();

   protected:
    int_type overflow(int_type c) override;
    int sync() override { return drain() ? 0 : -1; }

   private:
    int fd_;
    int error_ = 0;
    char buffer_[1 << 16];
  };

  int fd_ = -1;
  std::unique_ptr<FdBuffer> buffer_;
  std::ostream stream_{nullptr};
  bool prepared_ = false;
  bool committed_ = false;
};

}  // namespace embedtune::io
