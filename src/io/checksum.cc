// XXH64 (the xxHash specification, streaming form) and folder manifests.
#include "io/checksum.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <vector>

#include "io/error.h"
#include "io/json.h"

namespace embedtune::io {
namespace fs = std::filesystem;
namespace {

constexpr uint64_t kPrime1 = 0x9E3779B185EBCA87ULL;
constexpr uint64_t kPrime2 = 0xC2B2AE3D27D4EB4FULL;
constexpr uint64_t kPrime3 = 0x165667B19E3779F9ULL;
constexpr uint64_t kPrime4 = 0x85EBCA77C2B2AE63ULL;
constexpr uint64_t kPrime5 = 0x27D4EB2F165667C5ULL;

uint64_t read64(const unsigned char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap64(v);
  return v;
}

uint32_t read32(const unsigned char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  if constexpr (std::endian::native == std::endian::big) v = __builtin_bswap32(v);
  return v;
}

uint64_t xxh_round(uint64_t acc, uint64_t input) {
  acc += input * kPrime2;
  acc = std::rotl(acc, 31);
  return acc * kPrime1;
}

uint64_t merge_round(uint64_t acc, uint64_t value) {
  acc ^= xxh_round(0, value);
  return acc * kPrime1 + kPrime4;
}

// XXH64 fed in pieces: 32-byte stripes into four lanes, the tail kept for digest().
class Xxh64 {
 public:
  explicit Xxh64(uint64_t seed)
      : seed_(seed), v_{seed + kPrime1 + kPrime2, seed + kPrime2, seed, seed - kPrime1} {}

  void update(const unsigned char* p, size_t n) {
    total_ += n;
    if (buffered_ + n < 32) {
      std::memcpy(buffer_ + buffered_, p, n);
      buffered_ += n;
      return;
    }
    if (buffered_ > 0) {
      const size_t fill = 32 - buffered_;
      std::memcpy(buffer_ + buffered_, p, fill);
      stripe(buffer_);
      p += fill;
      n -= fill;
      buffered_ = 0;
    }
    for (; n >= 32; p += 32, n -= 32) stripe(p);
    std::memcpy(buffer_, p, n);
    buffered_ = n;
  }

  uint64_t digest() const {
    uint64_t h;
    if (total_ >= 32) {
      h = std::rotl(v_[0], 1) + std::rotl(v_[1], 7) + std::rotl(v_[2], 12) + std::rotl(v_[3], 18);
      for (uint64_t v : v_) h = merge_round(h, v);
    } else {
      h = seed_ + kPrime5;
    }
    h += total_;
    const unsigned char* p = buffer_;
    size_t n = buffered_;
    for (; n >= 8; p += 8, n -= 8) {
      h ^= xxh_round(0, read64(p));
      h = std::rotl(h, 27) * kPrime1 + kPrime4;
    }
    if (n >= 4) {
      h ^= static_cast<uint64_t>(read32(p)) * kPrime1;
      h = std::rotl(h, 23) * kPrime2 + kPrime3;
      p += 4;
      n -= 4;
    }
    for (; n > 0; ++p, --n) {
      h ^= *p * kPrime5;
      h = std::rotl(h, 11) * kPrime1;
    }
    h ^= h >> 33;
    h *= kPrime2;
    h ^= h >> 29;
    h *= kPrime3;
    h ^= h >> 32;
    return h;
  }

 private:
  void stripe(const unsigned char* p) {
    for (int lane = 0; lane < 4; ++lane) v_[lane] = xxh_round(v_[lane], read64(p + 8 * lane));
  }

  uint64_t seed_;
  uint64_t v_[4];
  unsigned char buffer_[32] = {};
  size_t buffered_ = 0;
  uint64_t total_ = 0;
};

std::string hex(uint64_t value) { return fmt::format("{:016x}", value); }

}  // namespace

uint64_t xxh64(std::span<const std::byte> bytes, uint64_t seed) {
  Xxh64 state(seed);
  state.update(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  return state.digest();
}

uint64_t xxh64(std::string_view bytes, uint64_t seed) {
  return xxh64(std::as_bytes(std::span(bytes.data(), bytes.size())), seed);
}

uint64_t xxh64_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot be read; check that it exists and is readable", path.string());
  Xxh64 state(0);
  std::vector<char> block(1 << 20);
  while (in) {
    in.read(block.data(), static_cast<std::streamsize>(block.size()));
    state.update(reinterpret_cast<const unsigned char*>(block.data()),
                 static_cast<size_t>(in.gcount()));
  }
  if (in.bad()) fail("{}: a read failed part-way (I/O error)", path.string());
  return state.digest();
}

void write_manifest(const fs::path& dir) {
  std::map<std::string, std::pair<uint64_t, uint64_t>> files;  // sorted: a stable manifest
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    const std::string name = entry.path().lexically_relative(dir).generic_string();
    if (name == kManifestName) continue;
    files[name] = {entry.file_size(), xxh64_file(entry.path())};
  }
  nlohmann::ordered_json json;
  json["algorithm"] = "xxh64";
  nlohmann::ordered_json list = nlohmann::ordered_json::object();
  for (const auto& [name, info] : files) {
    list[name] = {{"size", info.first}, {"xxh64", hex(info.second)}};
  }
  json["files"] = list;
  write_json_file_atomic(dir / kManifestName, nlohmann::json::parse(json.dump()));
}

std::string verify_manifest(const fs::path& dir) {
  const fs::path path = dir / kManifestName;
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    return fmt::format("{} is missing (the folder was not finished)", path.string());
  }
  nlohmann::json json;
  try {
    json = read_json_file(path);
  } catch (const Error& e) {
    return e.what();
  }
  if (!json.is_object() || !json.contains("files") || !json["files"].is_object()) {
    return fmt::format("{} is malformed: expected {{\"files\": {{...}}}}", path.string());
  }
  for (const auto& [name, info] : json["files"].items()) {
    const fs::path file = dir / name;
    if (!info.is_object() || !info.contains("size") || !info["size"].is_number_unsigned() ||
        !info.contains("xxh64") || !info["xxh64"].is_string()) {
      return fmt::format("{} is malformed at \"{}\"", path.string(), name);
    }
    if (name.find("..") != std::string::npos || !fs::is_regular_file(file, ec)) {
      return fmt::format("{} is missing", file.string());
    }
    const uint64_t size = fs::file_size(file, ec);
    if (ec || size != info["size"].get<uint64_t>()) {
      return fmt::format("{} has {} bytes, expected {}", file.string(), size,
                         info["size"].get<uint64_t>());
    }
    try {
      if (hex(xxh64_file(file)) != info["xxh64"].get<std::string>())
        return fmt::format("{} is damaged (its checksum differs)", file.string());
    } catch (const Error& e) {
      return e.what();
    }
  }
  return "";
}

}  // namespace embedtune::io
