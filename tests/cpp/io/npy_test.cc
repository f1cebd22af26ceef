// .npy: files written by numpy.save read as the oracle says, float32 written byte-identically.
#include "io/npy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>

#include "io/json.h"
#include "io_test_support.h"

namespace embedtune::io {
namespace {

using ::testing::AllOf;
using testing::error_of;
using ::testing::HasSubstr;
using testing::oracle_dir;
using testing::read_bytes;
using testing::ScratchDir;
using testing::sha256_hex;
using testing::write_bytes;

TEST(Npy, ReadsNumpyFilesAsTheManifestSays) {
  const auto dir = oracle_dir();
  const auto manifest = read_json_file(dir / "npy.json");
  int read = 0, rejected = 0;
  for (const auto& entry : manifest["arrays"]) {
    const auto path = dir / entry["file"].get<std::string>();
    SCOPED_TRACE(path.string());
    if (!entry["error"].is_null()) {
      EXPECT_THAT(error_of([&] { read_npy(path); }),
                  AllOf(HasSubstr(path.string()), HasSubstr(entry["error"].get<std::string>())));
      ++rejected;
      continue;
    }
    const NpyArray array = read_npy(path);
    EXPECT_EQ(array.descr, entry["descr"].get<std::string>());
    EXPECT_EQ(array.shape, entry["shape"].get<std::vector<int64_t>>());
    EXPECT_EQ(sha256_hex(std::as_bytes(std::span(array.bytes))),
              entry["sha256"].get<std::string>());
    ++read;
  }
  EXPECT_EQ(read, 13);
  EXPECT_EQ(rejected, 3);
}

TEST(Npy, WriteF32IsByteIdenticalToNumpySave) {
  const auto dir = oracle_dir();
  ScratchDir scratch;
  const auto manifest = read_json_file(dir / "npy.json");
  int compared = 0;
  for (const auto& entry : manifest["arrays"]) {
    if (!entry["f32_rewrite_identical"].get<bool>()) continue;
    const std::string name = entry["file"];
    SCOPED_TRACE(name);
    const NpyArray array = read_npy(dir / name);
    ASSERT_EQ(array.descr, "<f4");
    std::vector<float> values(array.bytes.size() / 4);
    if (!values.empty()) std::memcpy(values.data(), array.bytes.data(), array.bytes.size());
    write_npy_f32(scratch / name, values.data(), array.shape);
    EXPECT_EQ(read_bytes(scratch / name), read_bytes(dir / name));
    ++compared;
  }
  EXPECT_EQ(compared, 6);
}

TEST(Npy, RoundTrip) {
  ScratchDir dir;
  const std::vector<float> values = {1.5f, -2.0f, 0.0f, 3.25f, 1e-30f, -0.0f};
  write_npy_f32(dir / "a.npy", values.data(), {2, 3});
  const NpyArray array = read_npy(dir / "a.npy");
  EXPECT_EQ(array.descr, "<f4");
  EXPECT_EQ(array.shape, (std::vector<int64_t>{2, 3}));
  ASSERT_EQ(array.bytes.size(), 24u);
  EXPECT_EQ(std::memcmp(array.bytes.data(), values.data(), 24), 0);
  EXPECT_THAT(error_of([&] { write_npy_f32(dir / "b.npy", values.data(), {-1, 3}); }),
              HasSubstr("dimensions must be >= 0"));
  EXPECT_FALSE(std::filesystem::exists(dir / "b.npy"));
}

class NpyCorrupt : public ::testing::Test {
 protected:
  std::string read_error(const std::string& bytes) {
    const auto path = dir_ / "bad.npy";
    write_bytes(path, bytes);
    std::string message = error_of([&] { read_npy(path); });
    EXPECT_THAT(message, HasSubstr(path.string()));
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    return message;
  }
  // A version-1.0 file with `header` (padded as numpy does) and `data`.
  static std::string npy_file(std::string header, const std::string& data) {
    while ((10 + header.size() + 1) % 64 != 0) header += ' ';
    header += '\n';
    std::string out = "\x93NUMPY\x01";
    out += '\0';
    out += static_cast<char>(header.size() & 0xFF);
    out += static_cast<char>(header.size() >> 8);
    return out + header + data;
  }
  ScratchDir dir_;
};

TEST_F(NpyCorrupt, MissingFile) {
  EXPECT_THAT(error_of([&] { read_npy(dir_ / "absent.npy"); }), HasSubstr("absent.npy: not found"));
}

TEST_F(NpyCorrupt, BadMagic) {
  EXPECT_THAT(read_error("PK\x03\x04 this is a zip"), HasSubstr("magic"));
  EXPECT_THAT(read_error(""), HasSubstr("magic"));
}

TEST_F(NpyCorrupt, Truncated) {
  const std::string good = npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
                                    std::string(24, '\x01'));
  write_bytes(dir_ / "good.npy", good);
  ASSERT_NO_THROW(read_npy(dir_ / "good.npy"));
  EXPECT_THAT(read_error(good.substr(0, 9)), HasSubstr("magic"));
  EXPECT_THAT(read_error(good.substr(0, 30)), HasSubstr("truncated .npy file: the header says"));
  EXPECT_THAT(read_error(good.substr(0, good.size() - 1)),
              HasSubstr("shape (2, 3) of <f4 = 24 data bytes but the file holds 23"));
  EXPECT_THAT(read_error(good + "xx"), HasSubstr("24 data bytes but the file holds 26"));
}

TEST_F(NpyCorrupt, FortranOrderBigEndianAndUnsupported) {
  EXPECT_THAT(read_error(npy_file("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }",
                                  std::string(24, '\0'))),
              AllOf(HasSubstr("Fortran order"), HasSubstr("np.ascontiguousarray")));
  EXPECT_THAT(read_error(npy_file("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }",
                                  std::string(8, '\0'))),
              HasSubstr("big-endian"));
  EXPECT_THAT(read_error(npy_file("{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }",
                                  std::string(16, '\0'))),
              AllOf(HasSubstr("\"<c8\" is not supported"), HasSubstr("'<f4', '<f2'")));
  std::string v3 = npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (), }", "abcd");
  v3[6] = '\x03';
  EXPECT_THAT(read_error(v3), HasSubstr("version 3.0 is not supported"));
}

TEST_F(NpyCorrupt, MalformedHeader) {
  EXPECT_THAT(read_error(npy_file("{'descr': '<f4', 'shape': (2,), }", std::string(8, '\0'))),
              HasSubstr("must all be present"));
  EXPECT_THAT(read_error(npy_file("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,), }",
                                  std::string(8, '\0'))),
              HasSubstr("expected True or False"));
  EXPECT_THAT(read_error(npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }",
                                  std::string(8, '\0'))),
              HasSubstr("non-negative integer"));
  EXPECT_THAT(read_error(npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}",
                                  std::string(8, '\0'))),
              HasSubstr("unexpected key \"x\""));
  EXPECT_THAT(read_error(npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': "
                                  "(99999999999, 99999999999, 99999999999), }",
                                  "")),
              HasSubstr("overflows"));
}

}  // namespace
}  // namespace embedtune::io
