// safetensors: every kind of broken file gives one clear Error, and random damage never crashes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "io/safetensors.h"
#include "io_test_support.h"

namespace embedtune::io {
namespace {

using ::testing::AllOf;
using testing::error_of;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::read_bytes;
using testing::ScratchDir;
using testing::write_bytes;

std::string le64(uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>((n >> (8 * i)) & 0xFF);
  return s;
}

// A file made of an 8-byte length, `header` and `data_size` zero bytes.
std::string make_file(const std::string& header, size_t data_size) {
  return le64(header.size()) + header + std::string(data_size, '\0');
}

class SafetensorsCorrupt : public ::testing::Test {
 protected:
  // The Error message of opening `bytes` written to a file; also checks it names the file and is
  // one line.
  std::string open_error(const std::string& bytes) {
    const auto path = dir_ / "bad.safetensors";
    write_bytes(path, bytes);
    std::string message = error_of([&] { SafetensorsFile::open(path); });
    EXPECT_THAT(message, HasSubstr(path.string()));
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    return message;
  }
  std::string header_error(const std::string& header, size_t data_size) {
    return open_error(make_file(header, data_size));
  }
  ScratchDir dir_;
};

TEST_F(SafetensorsCorrupt, MissingFile) {
  const auto path = dir_ / "absent.safetensors";
  EXPECT_THAT(error_of([&] { SafetensorsFile::open(path); }),
              AllOf(HasSubstr(path.string()), HasSubstr("not found")));
}

TEST_F(SafetensorsCorrupt, TruncatedAtSeveralPoints) {
  const std::string header = R"({"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})";
  const std::string good = make_file(header, 16);
  write_bytes(dir_ / "good.safetensors", good);
  ASSERT_NO_THROW(SafetensorsFile::open(dir_ / "good.safetensors"));
  for (size_t cut : {size_t{0}, size_t{1}, size_t{7}}) {
    EXPECT_THAT(open_error(good.substr(0, cut)), HasSubstr("shorter than the 8-byte header length"))
        << cut;
  }
  for (size_t cut : {size_t{8}, size_t{9}, size_t{30}, 8 + header.size() - 1}) {
    EXPECT_THAT(open_error(good.substr(0, cut)),
                HasSubstr(fmt::format("header length {} is larger than", header.size())))
        << cut;
  }
  for (size_t cut : {8 + header.size(), 8 + header.size() + 1, good.size() - 1}) {
    EXPECT_THAT(open_error(good.substr(0, cut)), HasSubstr("beyond the end of the file")) << cut;
  }
}

TEST_F(SafetensorsCorrupt, HugeHeaderLength) {
  EXPECT_THAT(open_error(le64(uint64_t{1} << 63) + "{}"), HasSubstr("exceeds the 100 MB limit"));
  EXPECT_THAT(open_error(le64(100'000'001) + "{}"), HasSubstr("exceeds the 100 MB limit"));
  EXPECT_THAT(open_error(le64(1000) + "{}"), HasSubstr("header length 1000 is larger than"));
}

TEST_F(SafetensorsCorrupt, HeaderNotJsonObject) {
  EXPECT_THAT(header_error("not json at all!", 0), HasSubstr("not valid UTF-8 JSON"));
  EXPECT_THAT(header_error("{\"a\":{\"dtype\":\"F\xff\"}}", 0), HasSubstr("not valid UTF-8 JSON"));
  EXPECT_THAT(header_error(std::string("{}\0\0\0\0\0\0", 8), 0), HasSubstr("not valid UTF-8 JSON"));
  EXPECT_THAT(header_error("[1, 2]  ", 0), HasSubstr("expected an object of tensors"));
  EXPECT_THAT(header_error(R"({"a": 5})", 0), HasSubstr("expected an object with dtype"));
  EXPECT_THAT(header_error(R"({"a": {"shape": [], "data_offsets": [0, 4]}})", 4),
              HasSubstr("has no \"dtype\" field"));
}

TEST_F(SafetensorsCorrupt, UnknownDtypeListsSupportedOnes) {
  EXPECT_THAT(header_error(R"({"w":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}})", 2),
              AllOf(HasSubstr("\"F8_E4M3\""), HasSubstr("does not support"),
                    HasSubstr("BOOL, U8, I8, I16, U16, I32, U32, I64, U64, F16, BF16, F32, F64")));
}

TEST_F(SafetensorsCorrupt, BadShapes) {
  for (const char* shape : {"[-1]", "[2.5]", "\"4\"", "[[4]]", "[1e30]", "null"}) {
    const std::string header =
        fmt::format(R"({{"w":{{"dtype":"U8","shape":{},"data_offsets":[0,4]}}}})", shape);
    EXPECT_THAT(header_error(header, 4), HasSubstr("expected a list of non-negative integers"))
        << shape;
  }
  EXPECT_THAT(header_error(R"({"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}})", 12),
              HasSubstr("needs 16 bytes but its data_offsets [0, 12] span 12"));
  EXPECT_THAT(header_error(R"({"w":{"dtype":"F64","shape":[4611686018427387904,4],)"
                           R"("data_offsets":[0,8]}})",
                           8),
              HasSubstr("byte count overflows"));
}

// fuzz/regressions/safetensors/: nlohmann throws a number too large for a double (1e999) as
// out_of_range, not parse_error, so it escaped as a non-embedtune exception.
TEST_F(SafetensorsCorrupt, NumberTooLargeForADouble) {
  EXPECT_THAT(header_error(R"({"w":{"dtype":"U8","shape":[1e999],"data_offsets":[0,4]}})", 4),
              HasSubstr("not valid JSON ([json.exception.out_of_range.406] number overflow "
                        "parsing '1e999')"));
}

// fuzz/regressions/safetensors/: the shape went into the message through dump(), which recurses
// once per level, so a shape nested 300,000 deep overflowed the stack.
TEST_F(SafetensorsCorrupt, DeeplyNestedShapeIsAnErrorNotAStackOverflow) {
  const std::string deep = std::string(300'000, '[') + std::string(300'000, ']');
  EXPECT_THAT(
      header_error(R"({"w":{"dtype":"U8","shape":)" + deep + R"(,"data_offsets":[0,0]}})", 0),
      HasSubstr("has shape [[[[[...]]]]], expected a list of non-negative integers"));
}

TEST_F(SafetensorsCorrupt, BadOffsets) {
  EXPECT_THAT(header_error(R"({"w":{"dtype":"U8","shape":[4],"data_offsets":[0]}})", 4),
              HasSubstr("expected [begin, end]"));
  EXPECT_THAT(header_error(R"({"w":{"dtype":"U8","shape":[4],"data_offsets":[0,-4]}})", 4),
              HasSubstr("expected [begin, end]"));
  EXPECT_THAT(header_error(R"({"w":{"dtype":"U8","shape":[0],"data_offsets":[4,0]}})", 4),
              HasSubstr("begin > end"));
  EXPECT_THAT(header_error(R"({"w":{"dtype":"F32","shape":[250],"data_offsets":[0,1000]}})", 16),
              HasSubstr("beyond the end of the file"));
  EXPECT_THAT(header_error(R"({"w":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})", 6),
              HasSubstr("unused bytes at the end"));
}

TEST_F(SafetensorsCorrupt, OverlapsAndHoles) {
  EXPECT_THAT(
      header_error(R"({"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]},)"
                   R"("b":{"dtype":"U8","shape":[8],"data_offsets":[4,12]}})",
                   12),
      AllOf(HasSubstr("\"b\" starts at byte 4 but tensor \"a\" ends at 8"), HasSubstr("overlap")));
  EXPECT_THAT(header_error(R"({"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]},)"
                           R"("b":{"dtype":"U8","shape":[8],"data_offsets":[12,20]}})",
                           20),
              HasSubstr("leave a hole"));
  EXPECT_THAT(header_error(R"({"a":{"dtype":"U8","shape":[8],"data_offsets":[4,12]}})", 12),
              AllOf(HasSubstr("the data section starts at 0"), HasSubstr("leave a hole")));
  // Identical ranges are an overlap too (two tensors sharing storage).
  EXPECT_THAT(header_error(R"({"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]},)"
                           R"("b":{"dtype":"U8","shape":[8],"data_offsets":[0,8]}})",
                           8),
              HasSubstr("overlap"));
  // Zero-size tensors may sit anywhere on a boundary, as in Python.
  write_bytes(dir_ / "zero.safetensors",
              make_file(R"({"a":{"dtype":"U8","shape":[8],"data_offsets":[0,8]},)"
                        R"("e":{"dtype":"F32","shape":[0,3],"data_offsets":[0,0]},)"
                        R"("f":{"dtype":"F32","shape":[0],"data_offsets":[8,8]}})",
                        8));
  EXPECT_EQ(SafetensorsFile::open(dir_ / "zero.safetensors").tensors().size(), 3u);
}

TEST_F(SafetensorsCorrupt, BadMetadataAndDuplicates) {
  EXPECT_THAT(header_error(R"({"__metadata__":{"a":1}})", 0),
              HasSubstr("__metadata__[\"a\"] is a JSON number, expected a string"));
  EXPECT_THAT(header_error(R"({"__metadata__":["a"]})", 0),
              HasSubstr("expected an object of string values"));
  EXPECT_THAT(header_error(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                           R"("a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
                           2),
              HasSubstr("duplicate key \"a\""));
  EXPECT_THAT(header_error(R"({"__metadata__":{"k":"1","k":"2"}})", 0),
              HasSubstr("duplicate key \"k\""));
  // Python reads "__metadata__": null as no metadata.
  write_bytes(dir_ / "null.safetensors", make_file(R"({"__metadata__":null})", 0));
  EXPECT_TRUE(SafetensorsFile::open(dir_ / "null.safetensors").metadata().empty());
}

TEST_F(SafetensorsCorrupt, NamesInMessagesStayOnOneLine) {
  EXPECT_THAT(header_error(R"({"bad\nname":{"dtype":"X","shape":[1],"data_offsets":[0,1]}})", 1),
              AllOf(HasSubstr(R"("bad\nname")"), Not(HasSubstr("bad\nname"))));
}

// Deterministic mini-fuzz: flip bits, overwrite bytes, truncate or extend a valid file 2000
// times. Every open must succeed or throw Error; on success all tensor bytes are read (so ASan
// sees any out-of-bounds span).
TEST_F(SafetensorsCorrupt, MiniFuzzNeverCrashes) {
  std::vector<uint8_t> payload(64);
  for (size_t i = 0; i < payload.size(); ++i) payload[i] = static_cast<uint8_t>(i * 37);
  const auto bytes = std::as_bytes(std::span(payload));
  write_safetensors(dir_ / "seed.safetensors",
                    {{"a.weight", DType::F32, {2, 4}, bytes.subspan(0, 32)},
                     {"b", DType::I64, {2}, bytes.subspan(32, 16)},
                     {"c", DType::BF16, {2, 2}, bytes.subspan(48, 8)},
                     {"d", DType::U8, {8}, bytes.subspan(56, 8)},
                     {"scalar", DType::F16, {}, bytes.subspan(0, 2)},
                     {"z", DType::F32, {0}, {}}},
                    {{"format", "pt"}});
  const std::string seed = read_bytes(dir_ / "seed.safetensors");
  std::mt19937 rng(20240601);
  const auto path = dir_ / "fuzz.safetensors";
  int opened = 0, rejected = 0;
  for (int iter = 0; iter < 2000; ++iter) {
    std::string bytes_ = seed;
    const int kind = static_cast<int>(rng() % 5);
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      if (bytes_.empty()) break;
      const size_t pos = rng() % bytes_.size();
      if (kind == 0) {
        bytes_[pos] = static_cast<char>(bytes_[pos] ^ (1 << (rng() % 8)));
      } else if (kind == 1) {
        bytes_[pos] = static_cast<char>(rng() % 256);
      } else if (kind == 2) {
        bytes_.resize(pos);
      } else if (kind == 3) {
        bytes_[rng() % 8] = static_cast<char>(rng() % 256);  // the header length
      } else {
        // JSON punctuation and digits inside the header: plausible but wrong headers.
        const char digits[] = "0123456789,:[]{}\"-.e ";
        if (bytes_.size() > 8) {
          bytes_[8 + rng() % (bytes_.size() - 8)] = digits[rng() % (sizeof(digits) - 1)];
        }
      }
    }
    // Unlink first: on ext4, truncating a just-written file forces a flush (auto_da_alloc).
    std::filesystem::remove(path);
    write_bytes(path, bytes_);
    try {
      const SafetensorsFile file = SafetensorsFile::open(path);
      unsigned sum = 0;
      for (const TensorInfo& t : file.tensors()) {
        for (std::byte b : file.data(t)) sum += static_cast<unsigned>(b);
      }
      volatile unsigned sink = sum;  // keeps the reads from being optimised away
      (void)sink;
      ++opened;
    } catch (const embedtune::Error&) {
      ++rejected;
    }
  }
  EXPECT_EQ(opened + rejected, 2000);
  EXPECT_GT(rejected, 1000);
  std::printf("mini-fuzz: %d opened, %d rejected with Error\n", opened, rejected);
}

}  // namespace
}  // namespace embedtune::io
