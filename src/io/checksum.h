// Checksums that detect damaged files: XXH64 (xxHash's 64-bit hash, seed 0) over bytes and
// files, and a manifest of a folder's files (size and XXH64 each) written last when a folder is
// complete and verified before it is trusted.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>

namespace embedtune::io {

// XXH64 of `bytes` with `seed`, as the xxHash specification defines it (so Python's
// xxhash.xxh64_intdigest gives the same value). Thread-safe.
uint64_t xxh64(std::span<const std::byte> bytes, uint64_t seed = 0);
uint64_t xxh64(std::string_view bytes, uint64_t seed = 0);

// XXH64 of the file at `path`, read in blocks. Throws Error naming the file when it cannot be
// read.
uint64_t xxh64_file(const std::filesystem::path& path);

// The manifest's file name inside a folder.
inline constexpr const char* kManifestName = "manifest.json";

// Writes DIR/manifest.json: every regular file below `dir` (relative path, size, XXH64 as 16
// hex digits), atomically. Call it last, once everything else in `dir` is written. Throws Error
// on a failed read or write.
void write_manifest(const std::filesystem::path& dir);

// Checks `dir` against its manifest: every listed file exists with its size and XXH64. Returns
// "" when it matches, else one line saying what is wrong (no manifest, a missing file, a size
// or checksum mismatch), naming the file.
std::string verify_manifest(const std::filesystem::path& dir);

}  // namespace embedtune::io
