// safetensors files: a validated, memory-mapped reader and a writer byte-identical to Python's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace embedtune::io {

// The element types embedtune reads and writes (the safetensors names; the F8/F4/C64 types of
// newer safetensors are rejected with a clear Error).
enum class DType { BOOL, U8, I8, I16, U16, I32, U32, I64, U64, F16, BF16, F32, F64 };

// The safetensors spelling: "BOOL", "U8", ..., "F32".
std::string_view dtype_name(DType dtype);
// Bytes per element: 1, 2, 4 or 8.
size_t dtype_size(DType dtype);

// One tensor of a file. `begin`/`end` are byte offsets within the data section (which starts
// after the 8-byte length and the JSON header). Shape {} is a scalar (one element).
struct TensorInfo {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  size_t begin;
  size_t end;
};

// A safetensors file mapped read-only into memory. Every header field is validated in open(),
// so the accessors cannot fail. Movable, not copyable; unmaps in the destructor. The spans
// returned by data() live as long as this object. Const methods are thread-safe.
class SafetensorsFile {
 public:
  // Maps and validates `path`. Throws Error (one line naming the file, the problem and what to
  // do) when: the file is missing or shorter than 8 bytes; the header length exceeds the file or
  // the 100 MB cap; the header is not UTF-8 JSON, not an object, or has duplicate keys; a dtype
  // is unknown (the message lists ours); a shape is not a list of non-negative ints; shape x
  // dtype size overflows or differs from end - begin; offsets are not two ints with
  // begin <= end; the tensors' byte ranges overlap, leave holes, or do not exactly cover the data
  // section (as safetensors' Metadata::validate requires); __metadata__ is not a string -> string
  // map (null is accepted as empty, as Python does).
  static SafetensorsFile open(const std::filesystem::path& path);

  SafetensorsFile(SafetensorsFile&& other) noexcept;
  SafetensorsFile& operator=(SafetensorsFile&& other) noexcept;
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;
  ~SafetensorsFile();

  // All tensors, sorted by name (byte order).
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  // The tensor called `name`, or nullptr when absent.
  const TensorInfo* find(std::string_view name) const;
  // The raw little-endian bytes of `info`, which must come from this file's tensors()/find().
  std::span<const std::byte> data(const TensorInfo& info) const;
  // Says this process is done with `info`'s bytes for now (after copying them out): the pages
  // wholly inside them leave its resident set, while the kernel's page cache keeps them and a
  // later data() reads them again. A loader that copies each tensor and then releases it holds
  // the model once, not twice (the copy and the mapped file), at its peak. Never fails: on a
  // system that refuses the advice the pages simply stay.
  void release(const TensorInfo& info) const;
  // The "__metadata__" map (empty when absent).
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  SafetensorsFile() = default;
  void unmap();

  std::filesystem::path path_;
  void* map_ = nullptr;
  size_t map_size_ = 0;
  const std::byte* data_section_ = nullptr;
  size_t data_size_ = 0;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, std::string> metadata_;
};

// One tensor to write: `bytes` must hold product(shape) * dtype_size(dtype) little-endian bytes.
struct TensorData {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  std::span<const std::byte> bytes;
};

// Writes `tensors` (and `metadata` as "__metadata__", omitted when empty, as Python's
// metadata=None) to `path` atomically, laid out as safetensors 0.8's serialize does: tensors
// sorted by dtype in descending order of its Rust Dtype enum (U64, I64, F64, F32, U32, I32, BF16,
// F16, U16, I16, I8, U8, BOOL), then by name; compact JSON header, padded with spaces to a
// multiple of 8; data in that order. The result is byte-identical to Python's save_file for the
// same tensors when metadata has at most one key (Python orders several keys by a randomly
// seeded HashMap; we write them sorted). Throws Error on duplicate or non-UTF-8 names, the
// reserved name "__metadata__", negative dims, a byte count that does not match the shape, or a
// failed write (then `path` is untouched).
void write_safetensors(const std::filesystem::path& path, const std::vector<TensorData>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace embedtune::io
