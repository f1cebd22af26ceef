// SHA-1 and SHA-256 through OpenSSL: the hashes the Hugging Face Hub names files by (the git blob
// SHA-1 of a regular file, the SHA-256 of an LFS file), computed in one streaming pass.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace embedtune::hub {

enum class DigestKind { kSha1, kSha256 };

// Incremental hash. Not thread-safe; one object per stream.
class Digest {
 public:
  explicit Digest(DigestKind kind);
  ~Digest();
  Digest(const Digest&) = delete;
  Digest& operator=(const Digest&) = delete;

  void update(std::string_view bytes);
  // Lower-case hex of the digest; the object cannot be updated afterwards.
  std::string hex();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// SHA-256 of `bytes`, lower-case hex.
std::string sha256_hex(std::string_view bytes);

// Lower-case hex digests of the file at `path`, read once: its SHA-256 and its git blob SHA-1
// (SHA-1 of "blob <size>\0" + contents, what `git hash-object` prints and the Hub's ETag of a
// regular file; left empty when `with_git_sha1` is false, which saves a pass of SHA-1 over large
// files). Throws Error naming the file when it cannot be read.
struct FileDigests {
  std::string sha256;
  std::string git_sha1;
  uint64_t size = 0;
};
FileDigests file_digests(const std::filesystem::path& path, bool with_git_sha1 = true);

}  // namespace embedtune::hub
