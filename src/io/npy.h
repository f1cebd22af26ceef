// NumPy .npy files: reading the common dtypes, writing float32 exactly as numpy.save does.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace embedtune::io {

// One array, C order, little-endian. `descr` is NumPy's dtype string: "<f4", "<f2", "<f8",
// "<i8", "<i4", "|u1" or "|b1". `bytes.size()` == product(shape) * item size; shape {} is a
// scalar (one element).
struct NpyArray {
  std::string descr;
  std::vector<int64_t> shape;
  std::vector<char> bytes;
};

// A .npy file's header, checked against the file's size: the data is `data_bytes` bytes at
// `data_offset`.
struct NpyHeader {
  std::string descr;
  std::vector<int64_t> shape;
  size_t data_offset = 0;
  size_t data_bytes = 0;
};

// Reads and checks only the header (the errors of read_npy below); the data stays on disk, so a
// caller can read it straight into memory it owns (a tensor) with read_npy_data.
NpyHeader read_npy_header(const std::filesystem::path& path);

// Reads the header's `data_bytes` data bytes into `destination`. Throws Error naming `path` when
// fewer can be read (the file changed since read_npy_header, or a read error).
void read_npy_data(const std::filesystem::path& path, const NpyHeader& header, void* destination);

// Reads a .npy file of format version 1.0 or 2.0 with one of the dtypes above.
// Throws Error naming `path` and the problem when the file is missing, not .npy (bad magic),
// truncated or longer than its header says, has a malformed header, is Fortran-ordered or
// big-endian (each with how to re-save it), or holds another dtype (the message lists ours).
NpyArray read_npy(const std::filesystem::path& path);

// Writes a float32 array of `shape` (C order, product(shape) values at `data`) to `path`
// atomically, byte for byte as numpy.save(path, array) does: format 1.0 (2.0 only when the
// header would not fit, as numpy), header "{'descr': '<f4', 'fortran_order': False,
// 'shape': (N, D), }" padded with spaces so the data starts at a multiple of 64 bytes.
// Throws Error on a negative dimension or a failed write.
void write_npy_f32(const std::filesystem::path& path, const float* data,
                   const std::vector<int64_t>& shape);

}  // namespace embedtune::io
