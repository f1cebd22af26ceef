// .npy reader (format 1.0/2.0, C order, little-endian) and numpy.save-identical float32 writer.
#include "io/npy.h"

#include <fmt/format.h>

#include <array>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <string_view>

#include "io/atomic_file.h"
#include "io/error.h"

namespace embedtune::io {
namespace {

constexpr std::string_view kMagic = "\x93NUMPY";
constexpr size_t kArrayAlign = 64;           // numpy.lib.format.ARRAY_ALIGN
constexpr size_t kGrowthAxisMaxDigits = 21;  // numpy.lib.format.GROWTH_AXIS_MAX_DIGITS
constexpr std::string_view kSupported = "'<f4', '<f2', '<f8', '<i8', '<i4', '|u1', '|b1'";

size_t item_size(std::string_view descr) {
  static const std::map<std::string_view, size_t> sizes = {
      {"<f4", 4}, {"<f2", 2}, {"<f8", 8}, {"<i8", 8}, {"<i4", 4}, {"|u1", 1}, {"|b1", 1}};
  auto it = sizes.find(descr);
  return it == sizes.end() ? 0 : it->second;
}

// The header is a Python dict literal, e.g. "{'descr': '<f4', 'fortran_order': False,
// 'shape': (3, 4), }". This parses exactly the subset numpy writes (and what older numpy wrote:
// "3L" ints, double quotes), not general Python.
class HeaderParser {
 public:
  HeaderParser(const std::filesystem::path& path, std::string_view text) : path_(path), s_(text) {}

  void parse(std::string* descr, bool* fortran_order, std::vector<int64_t>* shape) {
    bool seen_descr = false, seen_order = false, seen_shape = false;
    expect('{');
    while (true) {
      skip_space();
      if (peek() == '}') break;
      const std::string key = parse_string();
      expect(':');
      if (key == "descr") {
        *descr = parse_string();
        seen_descr = true;
      } else if (key == "fortran_order") {
        *fortran_order = parse_bool();
        seen_order = true;
      } else if (key == "shape") {
        *shape = parse_shape();
        seen_shape = true;
      } else {
        bad(fmt::format("unexpected key {:?}", key));
      }
      skip_space();
      if (peek() == ',') {
        ++pos_;
      } else if (peek() != '}') {
        bad("expected ',' or '}'");
      }
    }
    if (!seen_descr || !seen_order || !seen_shape) {
      bad("the keys 'descr', 'fortran_order' and 'shape' must all be present");
    }
  }

 private:
  [[noreturn]] void bad(const std::string& what) const {
    fail("{}: malformed .npy header at character {}: {} (header: {:?}); re-save it with numpy.save",
         path_.string(), pos_, what, s_);
  }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void skip_space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n')) ++pos_;
  }
  void expect(char c) {
    skip_space();
    if (peek() != c) bad(fmt::format("expected '{}'", c));
    ++pos_;
  }
  std::string parse_string() {
    skip_space();
    const char quote = peek();
    if (quote != '\'' && quote != '"') bad("expected a quoted string");
    const size_t end = s_.find(quote, pos_ + 1);
    if (end == std::string_view::npos) bad("unterminated string");
    std::string out(s_.substr(pos_ + 1, end - pos_ - 1));
    pos_ = end + 1;
    return out;
  }
  bool parse_bool() {
    skip_space();
    if (s_.substr(pos_, 4) == "True") {
      pos_ += 4;
      return true;
    }
    if (s_.substr(pos_, 5) == "False") {
      pos_ += 5;
      return false;
    }
    bad("expected True or False");
  }
  std::vector<int64_t> parse_shape() {
    std::vector<int64_t> shape;
    expect('(');
    while (true) {
      skip_space();
      if (peek() == ')') break;
      if (peek() < '0' || peek() > '9') bad("expected a non-negative integer in the shape");
      int64_t value = 0;
      while (peek() >= '0' && peek() <= '9') {
        const int digit = peek() - '0';
        if (value > (std::numeric_limits<int64_t>::max() - digit) / 10) bad("dimension too large");
        value = value * 10 + digit;
        ++pos_;
      }
      if (peek() == 'L') ++pos_;  // Python 2 long literal
      shape.push_back(value);
      skip_space();
      if (peek() == ',') {
        ++pos_;
      } else if (peek() != ')') {
        bad("expected ',' or ')' in the shape");
      }
    }
    ++pos_;
    return shape;
  }

  const std::filesystem::path& path_;
  std::string_view s_;
  size_t pos_ = 0;
};

uint32_t read_le(std::string_view bytes, size_t offset, size_t width) {
  uint32_t value = 0;
  for (size_t i = 0; i < width; ++i) {
    value |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[offset + i])) << (8 * i);
  }
  return value;
}

}  // namespace

NpyHeader read_npy_header(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) fail("{}: not found; check the path", path.string());
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open for reading; check its permissions", path.string());
  const uint64_t file_size = std::filesystem::file_size(path, ec);
  if (ec) fail("{}: cannot read its size ({}); check the file", path.string(), ec.message());
  // The preamble: magic, version, header length (2 bytes in 1.0, 4 in 2.0).
  std::string preamble(12, '\0');
  in.read(preamble.data(), static_cast<std::streamsize>(preamble.size()));
  preamble.resize(static_cast<size_t>(in.gcount()));
  const std::string_view bytes(preamble);
  if (bytes.size() < 10 || bytes.substr(0, kMagic.size()) != kMagic) {
    fail(
        "{}: not a .npy file (it does not start with the magic bytes \\x93NUMPY); pass a file "
        "written by numpy.save",
        path.string());
  }
  const int major = static_cast<unsigned char>(bytes[6]);
  const int minor = static_cast<unsigned char>(bytes[7]);
  if ((major != 1 && major != 2) || minor != 0) {
    fail(
        "{}: .npy format version {}.{} is not supported (expected 1.0 or 2.0); re-save it with "
        "numpy.save",
        path.string(), major, minor);
  }
  const size_t length_width = major == 1 ? 2 : 4;
  if (bytes.size() < 8 + length_width) {
    fail("{}: truncated .npy file ({} bytes, the header length is cut off); re-create the file",
         path.string(), file_size);
  }
  const size_t header_len = read_le(bytes, 8, length_width);
  const size_t data_start = 8 + length_width + header_len;
  if (data_start > file_size) {
    fail("{}: truncated .npy file: the header says {} bytes but only {} follow; re-create the file",
         path.string(), header_len, file_size - 8 - length_width);
  }
  std::string header_text(header_len, '\0');
  in.seekg(static_cast<std::streamoff>(8 + length_width));
  in.read(header_text.data(), static_cast<std::streamsize>(header_len));
  if (static_cast<size_t>(in.gcount()) != header_len)
    fail("{}: read error in the header; check the disk and the file", path.string());

  NpyHeader header;
  bool fortran_order = false;
  HeaderParser(path, header_text).parse(&header.descr, &fortran_order, &header.shape);

  if (!header.descr.empty() && header.descr[0] == '>') {
    fail(
        "{}: dtype {:?} is big-endian; only little-endian is supported: re-save it with "
        "numpy.save(path, a.astype(a.dtype.newbyteorder('<')))",
        path.string(), header.descr);
  }
  const size_t itemsize = item_size(header.descr);
  if (itemsize == 0) {
    fail(
        "{}: dtype {:?} is not supported; expected one of {}; convert with a.astype(...) and "
        "re-save",
        path.string(), header.descr, kSupported);
  }
  if (fortran_order) {
    fail(
        "{}: the array is stored in Fortran order, expected C order; re-save it with "
        "numpy.save(path, np.ascontiguousarray(a))",
        path.string());
  }
  uint64_t count = 1;
  for (int64_t dim : header.shape) {
    if (dim != 0 && count > std::numeric_limits<uint64_t>::max() / static_cast<uint64_t>(dim)) {
      fail("{}: shape {} overflows; the header is corrupt, re-create the file", path.string(),
           fmt::join(header.shape, "x"));
    }
    count *= static_cast<uint64_t>(dim);
  }
  const uint64_t available = file_size - data_start;
  if (count > available / itemsize || count * itemsize != available) {
    fail(
        "{}: the header says shape ({}) of {} = {} data bytes but the file holds {}; the file is "
        "truncated or corrupt, re-create it",
        path.string(), fmt::join(header.shape, ", "), header.descr,
        count > std::numeric_limits<uint64_t>::max() / itemsize ? std::string("too many")
                                                                : std::to_string(count * itemsize),
        available);
  }
  header.data_offset = data_start;
  header.data_bytes = static_cast<size_t>(available);
  return header;
}

void read_npy_data(const std::filesystem::path& path, const NpyHeader& header, void* destination) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("{}: cannot open for reading; check its permissions", path.string());
  in.seekg(static_cast<std::streamoff>(header.data_offset));
  in.read(static_cast<char*>(destination), static_cast<std::streamsize>(header.data_bytes));
  if (static_cast<size_t>(in.gcount()) != header.data_bytes) {
    fail("{}: read {} of {} data bytes; the file changed while it was read or the disk failed",
         path.string(), in.gcount(), header.data_bytes);
  }
}

NpyArray read_npy(const std::filesystem::path& path) {
  NpyHeader header = read_npy_header(path);
  NpyArray array;
  array.bytes.resize(header.data_bytes);
  read_npy_data(path, header, array.bytes.data());
  array.descr = std::move(header.descr);
  array.shape = std::move(header.shape);
  return array;
}

void write_npy_f32(const std::filesystem::path& path, const float* data,
                   const std::vector<int64_t>& shape) {
  static_assert(sizeof(float) == 4 && std::numeric_limits<float>::is_iec559);
  size_t count = 1;
  for (int64_t dim : shape) {
    if (dim < 0) {
      fail("{}: cannot write shape ({}): dimensions must be >= 0", path.string(),
           fmt::join(shape, ", "));
    }
    count *= static_cast<size_t>(dim);
  }
  // As numpy.lib.format._write_array_header: repr() of the dict with sorted keys, then spare
  // spaces so the first axis can grow in place, then _wrap_header's alignment padding.
  std::string shape_repr = "(";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) shape_repr += ", ";
    shape_repr += std::to_string(shape[i]);
  }
  shape_repr += shape.size() == 1 ? ",)" : ")";
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': " + shape_repr + ", }";
  if (!shape.empty()) {
    const size_t digits = std::to_string(shape[0]).size();
    if (digits < kGrowthAxisMaxDigits) header.append(kGrowthAxisMaxDigits - digits, ' ');
  }
  const size_t hlen = header.size() + 1;  // + the final '\n'
  // Format 1.0 unless its 16-bit header length would overflow (numpy's _wrap_header_guess_version).
  int major = 1;
  size_t prefix = 10;
  size_t padlen = kArrayAlign - ((prefix + hlen) % kArrayAlign);
  if (hlen + padlen > 0xFFFF) {
    major = 2;
    prefix = 12;
    padlen = kArrayAlign - ((prefix + hlen) % kArrayAlign);
  }
  const uint32_t total = static_cast<uint32_t>(hlen + padlen);

  std::string out(kMagic);
  out += static_cast<char>(major);
  out += '\0';
  for (size_t i = 0; i < prefix - 8; ++i) out += static_cast<char>((total >> (8 * i)) & 0xFF);
  out += header;
  out.append(padlen, ' ');
  out += '\n';
  // The host is little-endian (x86-64, aarch64 Linux), so the floats' bytes are '<f4' already.
  if (count > 0) out.append(reinterpret_cast<const char*>(data), count * sizeof(float));
  write_file_atomic(path, out);
}

}  // namespace embedtune::io
