// safetensors reader (mmap + the validation of safetensors' Metadata::validate) and writer.
#include "io/safetensors.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <system_error>
#include <tuple>
#include <utility>

#include "io/atomic_file.h"
#include "io/error.h"
#include "io/json.h"

namespace embedtune::io {
namespace {

// safetensors' MAX_HEADER_SIZE: a larger header is refused before it is parsed.
constexpr uint64_t kMaxHeaderSize = 100'000'000;
constexpr std::string_view kMetadataKey = "__metadata__";
constexpr std::string_view kSupportedDtypes =
    "BOOL, U8, I8, I16, U16, I32, U32, I64, U64, F16, BF16, F32, F64";
constexpr std::string_view kCorruptHint =
    "the file is corrupt or truncated; re-download it or re-save it with safetensors";

struct DTypeEntry {
  DType dtype;
  std::string_view name;
  size_t size;
  // Position in safetensors' Rust `enum Dtype` (whose derived Ord sorts tensors on write):
  // BOOL < U8 < I8 < I16 < U16 < F16 < BF16 < I32 < U32 < F32 < F64 < I64 < U64.
  int rust_rank;
};

constexpr std::array<DTypeEntry, 13> kDTypes = {{
    {DType::BOOL, "BOOL", 1, 0},
    {DType::U8, "U8", 1, 1},
    {DType::I8, "I8", 1, 2},
    {DType::I16, "I16", 2, 3},
    {DType::U16, "U16", 2, 4},
    {DType::I32, "I32", 4, 7},
    {DType::U32, "U32", 4, 8},
    {DType::I64, "I64", 8, 11},
    {DType::U64, "U64", 8, 12},
    {DType::F16, "F16", 2, 5},
    {DType::BF16, "BF16", 2, 6},
    {DType::F32, "F32", 4, 9},
    {DType::F64, "F64", 8, 10},
}};

const DTypeEntry& entry(DType dtype) {
  for (const auto& e : kDTypes) {
    if (e.dtype == dtype) return e;
  }
  fail("unknown DType value {}", static_cast<int>(dtype));
}

std::optional<DType> parse_dtype(std::string_view name) {
  for (const auto& e : kDTypes) {
    if (e.name == name) return e.dtype;
  }
  return std::nullopt;
}

// Elements x bytes per element, or nullopt on overflow of size_t.
std::optional<size_t> byte_count(const std::vector<int64_t>& shape, size_t item_size) {
  size_t count = 1;
  for (int64_t dim : shape) {
    const auto d = static_cast<size_t>(dim);
    if (d != 0 && count > std::numeric_limits<size_t>::max() / d) return std::nullopt;
    count *= d;
  }
  if (count != 0 && item_size > std::numeric_limits<size_t>::max() / count) return std::nullopt;
  return count * item_size;
}

// Strict UTF-8 (no overlongs, surrogates or code points above U+10FFFF), as Rust's str.
bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      n = 1, cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2, cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // truncated sequence
    for (size_t k = 1; k <= n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

// A JSON string exactly as serde_json::to_string writes it: only '"', '\\' and control
// characters are escaped (\b \f \n \r \t, else \u00xx in lower-case hex); UTF-8 kept as is.
void append_json_string(std::string* out, std::string_view s) {
  out->push_back('"');
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\b':
        *out += "\\b";
        break;
      case '\f':
        *out += "\\f";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\r':
        *out += "\\r";
        break;
      case '\t':
        *out += "\\t";
        break;
      default:
        if (c < 0x20) {
          *out += fmt::format("\\u{:04x}", c);
        } else {
          out->push_back(ch);
        }
    }
  }
  out->push_back('"');
}

// Parses the header JSON, rejecting duplicate keys at any level (nlohmann would keep the last
// one silently, and a file with two entries for one tensor is ambiguous).
nlohmann::json parse_header(const std::filesystem::path& path, std::string_view text) {
  std::vector<std::set<std::string>> keys;
  auto on_event = [&](int /*depth*/, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    if (event == Event::object_start) {
      keys.emplace_back();
    } else if (event == Event::object_end) {
      keys.pop_back();
    } else if (event == Event::key && !keys.empty()) {
      const auto& key = parsed.get_ref<const std::string&>();
      if (!keys.back().insert(key).second) {
        fail("{}: invalid safetensors header: duplicate key {:?}; {}", path.string(), key,
             kCorruptHint);
      }
    }
    return true;
  };
  // nlohmann stops at a NUL byte as if the input ended there; serde_json (Python) rejects it,
  // and no valid JSON text contains one.
  if (const size_t nul = text.find('\0'); nul != std::string_view::npos) {
    fail("{}: invalid safetensors header: not valid UTF-8 JSON (NUL byte at header byte {}); {}",
         path.string(), nul, kCorruptHint);
  }
  try {
    return nlohmann::json::parse(text.begin(), text.end(), on_event);
  } catch (const nlohmann::json::parse_error& e) {
    fail("{}: invalid safetensors header: not valid UTF-8 JSON (at header byte {}: {}); {}",
         path.string(), e.byte, e.what(), kCorruptHint);
  } catch (const nlohmann::json::out_of_range& e) {  // a number too large for a double: 1e999
    fail("{}: invalid safetensors header: not valid JSON ({}); {}", path.string(), e.what(),
         kCorruptHint);
  }
}

const nlohmann::json& field(const std::filesystem::path& path, const std::string& name,
                            const nlohmann::json& tensor, const char* key) {
  auto it = tensor.find(key);
  if (it == tensor.end()) {
    fail("{}: invalid safetensors header: tensor {:?} has no \"{}\" field; {}", path.string(), name,
         key, kCorruptHint);
  }
  return *it;
}

TensorInfo parse_tensor(const std::filesystem::path& path, const std::string& name,
                        const nlohmann::json& value) {
  if (!value.is_object()) {
    fail(
        "{}: invalid safetensors header: entry {:?} is a JSON {}, expected an object with "
        "dtype, shape and data_offsets; {}",
        path.string(), name, value.type_name(), kCorruptHint);
  }
  TensorInfo info{name, DType::F32, {}, 0, 0};
  const auto& dtype = field(path, name, value, "dtype");
  if (!dtype.is_string()) {
    fail("{}: invalid safetensors header: tensor {:?} has a dtype that is not a string; {}",
         path.string(), name, kCorruptHint);
  }
  const auto parsed = parse_dtype(dtype.get_ref<const std::string&>());
  if (!parsed) {
    fail(
        "{}: tensor {:?} has dtype {:?}, which embedtune does not support (supported: {}); "
        "convert the tensor, e.g. to F32, and re-save the file",
        path.string(), name, dtype.get_ref<const std::string&>(), kSupportedDtypes);
  }
  info.dtype = *parsed;
  const auto& shape = field(path, name, value, "shape");
  if (!shape.is_array()) {
    fail(
        "{}: invalid safetensors header: tensor {:?} has shape {}, expected a list of "
        "non-negative integers; {}",
        path.string(), name, json_preview(shape), kCorruptHint);
  }
  for (const auto& dim : shape) {
    if (!dim.is_number_unsigned() || dim.get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) {
      fail(
          "{}: invalid safetensors header: tensor {:?} has shape {}, expected a list of "
          "non-negative integers; {}",
          path.string(), name, json_preview(shape), kCorruptHint);
    }
    info.shape.push_back(dim.get<int64_t>());
  }
  const auto& offsets = field(path, name, value, "data_offsets");
  if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
      !offsets[1].is_number_unsigned()) {
    fail(
        "{}: invalid safetensors header: tensor {:?} has data_offsets {}, expected [begin, end] "
        "with non-negative integers; {}",
        path.string(), name, json_preview(offsets), kCorruptHint);
  }
  info.begin = offsets[0].get<uint64_t>();
  info.end = offsets[1].get<uint64_t>();
  if (info.begin > info.end) {
    fail(
        "{}: invalid safetensors header: tensor {:?} has data_offsets [{}, {}] with begin > end; "
        "{}",
        path.string(), name, info.begin, info.end, kCorruptHint);
  }
  const auto bytes = byte_count(info.shape, dtype_size(info.dtype));
  if (!bytes) {
    fail(
        "{}: invalid safetensors header: tensor {:?} of shape [{}] and dtype {} is too large "
        "(the byte count overflows); {}",
        path.string(), name, fmt::join(info.shape, ", "), dtype_name(info.dtype), kCorruptHint);
  }
  if (*bytes != info.end - info.begin) {
    fail(
        "{}: invalid safetensors header: tensor {:?} of shape [{}] and dtype {} needs {} bytes "
        "but its data_offsets [{}, {}] span {}; {}",
        path.string(), name, fmt::join(info.shape, ", "), dtype_name(info.dtype), *bytes,
        info.begin, info.end, info.end - info.begin, kCorruptHint);
  }
  return info;
}

std::map<std::string, std::string> parse_metadata(const std::filesystem::path& path,
                                                  const nlohmann::json& value) {
  std::map<std::string, std::string> metadata;
  if (value.is_null()) return metadata;  // serde reads null as None, so Python accepts it
  if (!value.is_object()) {
    fail(
        "{}: invalid safetensors header: __metadata__ is a JSON {}, expected an object of "
        "string values; {}",
        path.string(), value.type_name(), kCorruptHint);
  }
  for (const auto& [key, item] : value.items()) {
    if (!item.is_string()) {
      fail(
          "{}: invalid safetensors header: __metadata__[{:?}] is a JSON {}, expected a string; "
          "{}",
          path.string(), key, item.type_name(), kCorruptHint);
    }
    metadata.emplace(key, item.get<std::string>());
  }
  return metadata;
}

// Safetensors requires the tensors, ordered by offsets, to tile the data section exactly:
// each begins where the previous ended, the first at 0, the last at the section's end.
void check_coverage(const std::filesystem::path& path, const std::vector<TensorInfo>& tensors,
                    size_t data_size) {
  std::vector<const TensorInfo*> by_offset;
  for (const auto& t : tensors) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(), [](const TensorInfo* a, const TensorInfo* b) {
    return std::tie(a->begin, a->end, a->name) < std::tie(b->begin, b->end, b->name);
  });
  size_t expected = 0;
  const TensorInfo* previous = nullptr;
  for (const TensorInfo* t : by_offset) {
    if (t->begin != expected) {
      const std::string after =
          previous != nullptr ? fmt::format("tensor {:?} ends at {}", previous->name, expected)
                              : std::string("the data section starts at 0");
      fail(
          "{}: invalid safetensors header: tensor {:?} starts at byte {} but {}, so the byte "
          "ranges {}; {}",
          path.string(), t->name, t->begin, after, t->begin < expected ? "overlap" : "leave a hole",
          kCorruptHint);
    }
    expected = t->end;
    previous = t;
  }
  if (expected != data_size) {
    fail(
        "{}: invalid safetensors header: the tensors cover {} data bytes but the data section "
        "holds {} ({}); {}",
        path.string(), expected, data_size,
        expected > data_size ? "offsets point beyond the end of the file"
                             : "unused bytes at the end",
        kCorruptHint);
  }
}

}  // namespace

std::string_view dtype_name(DType dtype) { return entry(dtype).name; }
size_t dtype_size(DType dtype) { return entry(dtype).size; }

SafetensorsFile SafetensorsFile::open(const std::filesystem::path& path) {
  SafetensorsFile file;
  file.path_ = path;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) fail("{}: not found; check the path to the safetensors file", path.string());
    fail("{}: cannot open ({}); check its permissions", path.string(),
         std::error_code(err, std::generic_category()).message());
  }
  struct stat st{};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail("{}: not a regular file; pass the path of a .safetensors file", path.string());
  }
  const auto file_size = static_cast<uint64_t>(st.st_size);
  if (file_size < 8) {
    ::close(fd);
    fail("{}: invalid safetensors file: only {} bytes, shorter than the 8-byte header length; {}",
         path.string(), file_size, kCorruptHint);
  }
  void* map = ::mmap(nullptr, file_size, PROT_READ, MAP_PRIVATE, fd, 0);
  const int map_err = errno;
  ::close(fd);
  if (map == MAP_FAILED) {
    fail("{}: cannot memory-map the file ({}); check free memory and the file system",
         path.string(), std::error_code(map_err, std::generic_category()).message());
  }
  file.map_ = map;
  file.map_size_ = file_size;  // from here on the destructor unmaps, also on a throw
  const auto* bytes = static_cast<const unsigned char*>(map);

  uint64_t header_size = 0;
  for (int i = 0; i < 8; ++i) header_size |= static_cast<uint64_t>(bytes[i]) << (8 * i);
  if (header_size > kMaxHeaderSize) {
    fail("{}: invalid safetensors file: header length {} exceeds the 100 MB limit; {}",
         path.string(), header_size, kCorruptHint);
  }
  if (header_size > file_size - 8) {
    fail("{}: invalid safetensors file: header length {} is larger than the {} bytes after it; {}",
         path.string(), header_size, file_size - 8, kCorruptHint);
  }
  const std::string_view header_text(reinterpret_cast<const char*>(bytes + 8), header_size);
  const nlohmann::json header = parse_header(path, header_text);
  if (!header.is_object()) {
    fail("{}: invalid safetensors header: a JSON {}, expected an object of tensors; {}",
         path.string(), header.type_name(), kCorruptHint);
  }
  for (const auto& [key, value] : header.items()) {
    if (key == kMetadataKey) {
      file.metadata_ = parse_metadata(path, value);
    } else {
      file.tensors_.push_back(parse_tensor(path, key, value));
    }
  }
  file.data_section_ = reinterpret_cast<const std::byte*>(bytes + 8 + header_size);
  file.data_size_ = file_size - 8 - header_size;
  check_coverage(path, file.tensors_, file.data_size_);
  // nlohmann's object is a std::map, so items() are already in name order; sort anyway to keep
  // the contract independent of that.
  std::sort(file.tensors_.begin(), file.tensors_.end(),
            [](const TensorInfo& a, const TensorInfo& b) { return a.name < b.name; });
  return file;
}

SafetensorsFile::SafetensorsFile(SafetensorsFile&& other) noexcept
    : path_(std::move(other.path_)),
      map_(std::exchange(other.map_, nullptr)),
      map_size_(std::exchange(other.map_size_, 0)),
      data_section_(std::exchange(other.data_section_, nullptr)),
      data_size_(std::exchange(other.data_size_, 0)),
      tensors_(std::move(other.tensors_)),
      metadata_(std::move(other.metadata_)) {}

SafetensorsFile& SafetensorsFile::operator=(SafetensorsFile&& other) noexcept {
  if (this != &other) {
    unmap();
    path_ = std::move(other.path_);
    map_ = std::exchange(other.map_, nullptr);
    map_size_ = std::exchange(other.map_size_, 0);
    data_section_ = std::exchange(other.data_section_, nullptr);
    data_size_ = std::exchange(other.data_size_, 0);
    tensors_ = std::move(other.tensors_);
    metadata_ = std::move(other.metadata_);
  }
  return *this;
}

SafetensorsFile::~SafetensorsFile() { unmap(); }

void SafetensorsFile::unmap() {
  if (map_ != nullptr) ::munmap(map_, map_size_);
  map_ = nullptr;
  map_size_ = 0;
}

const TensorInfo* SafetensorsFile::find(std::string_view name) const {
  auto it = std::lower_bound(tensors_.begin(), tensors_.end(), name,
                             [](const TensorInfo& t, std::string_view n) { return t.name < n; });
  return it != tensors_.end() && it->name == name ? &*it : nullptr;
}

std::span<const std::byte> SafetensorsFile::data(const TensorInfo& info) const {
  if (info.begin > info.end || info.end > data_size_) {
    fail(
        "{}: tensor {:?} with data_offsets [{}, {}] does not belong to this file (data section "
        "of {} bytes); look tensors up with find()",
        path_.string(), info.name, info.begin, info.end, data_size_);
  }
  return {data_section_ + info.begin, info.end - info.begin};
}

void SafetensorsFile::release(const TensorInfo& info) const {
  const auto bytes = data(info);
  const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<uintptr_t>(bytes.data());
  const uintptr_t first = (begin + page - 1) / page * page;  // pages wholly inside the bytes
  const uintptr_t last = (begin + bytes.size()) / page * page;
  // MAP_PRIVATE and never written: dropping the pages loses nothing, a later read faults them in
  // from the file again.
  if (last > first) ::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
}

void write_safetensors(const std::filesystem::path& path, const std::vector<TensorData>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<const TensorData*> order;
  std::set<std::string_view> names;
  for (const auto& t : tensors) {
    if (t.name == kMetadataKey) {
      fail(
          "{}: cannot write a tensor named \"__metadata__\": the name is reserved for the "
          "metadata map; rename the tensor",
          path.string());
    }
    if (!valid_utf8(t.name)) {
      fail("{}: cannot write tensor {:?}: its name is not valid UTF-8", path.string(), t.name);
    }
    if (!names.insert(t.name).second) {
      fail("{}: cannot write two tensors named {:?}; names must be unique", path.string(), t.name);
    }
    for (int64_t dim : t.shape) {
      if (dim < 0) {
        fail("{}: cannot write tensor {:?} with shape [{}]: dimensions must be >= 0", path.string(),
             t.name, fmt::join(t.shape, ", "));
      }
    }
    const auto expected = byte_count(t.shape, dtype_size(t.dtype));
    if (!expected || *expected != t.bytes.size()) {
      fail("{}: cannot write tensor {:?}: shape [{}] of {} needs {} bytes but {} were given",
           path.string(), t.name, fmt::join(t.shape, ", "), dtype_name(t.dtype),
           expected ? std::to_string(*expected) : std::string("too many"), t.bytes.size());
    }
    order.push_back(&t);
  }
  for (const auto& [key, value] : metadata) {
    if (!valid_utf8(key) || !valid_utf8(value)) {
      fail("{}: cannot write metadata entry {:?}: keys and values must be valid UTF-8",
           path.string(), key);
    }
  }
  // As safetensors' prepare(): descending Dtype (Rust enum order), then name.
  std::sort(order.begin(), order.end(), [](const TensorData* a, const TensorData* b) {
    const int ra = entry(a->dtype).rust_rank, rb = entry(b->dtype).rust_rank;
    return ra != rb ? ra > rb : a->name < b->name;
  });

  // The header as serde_json::to_string(&Metadata) writes it: "__metadata__" first (only when
  // given), then the tensors in data order, fields dtype, shape, data_offsets.
  std::string header = "{";
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    bool first = true;
    for (const auto& [key, value] : metadata) {
      if (!first) header += ',';
      first = false;
      append_json_string(&header, key);
      header += ':';
      append_json_string(&header, value);
    }
    header += '}';
  }
  size_t offset = 0;
  for (const TensorData* t : order) {
    if (header.size() > 1) header += ',';
    append_json_string(&header, t->name);
    header += fmt::format(":{{\"dtype\":\"{}\",\"shape\":[{}],\"data_offsets\":[{},{}]}}",
                          dtype_name(t->dtype), fmt::join(t->shape, ","), offset,
                          offset + t->bytes.size());
    offset += t->bytes.size();
  }
  header += '}';
  header.append((8 - header.size() % 8) % 8, ' ');
  if (header.size() > kMaxHeaderSize) {
    fail(
        "{}: cannot write: the header would be {} bytes, over safetensors' 100 MB limit; store "
        "fewer tensors or less metadata per file",
        path.string(), header.size());
  }

  AtomicWriter writer(path);
  std::ostream& out = writer.stream();
  std::array<char, 8> length{};
  for (int i = 0; i < 8; ++i) length[i] = static_cast<char>((header.size() >> (8 * i)) & 0xFF);
  out.write(length.data(), 8);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  for (const TensorData* t : order) {
    if (t->bytes.empty()) continue;
    out.write(reinterpret_cast<const char*>(t->bytes.data()),
              static_cast<std::streamsize>(t->bytes.size()));
  }
  writer.commit();
}

}  // namespace embedtune::io
