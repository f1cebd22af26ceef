// XXH64 against the xxHash reference (values from Python's xxhash 3.x), and folder manifests:
// a finished folder verifies; a damaged, truncated, missing or unlisted-manifest folder is named.
#include "io/checksum.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "test_support.h"

namespace embedtune::io {
namespace {

using ::testing::HasSubstr;
using testing::ScratchDir;

std::string bytes_0_to_255_three_times_then_xyz() {
  std::string s;
  for (int r = 0; r < 3; ++r)
    for (int i = 0; i < 256; ++i) s += static_cast<char>(i);
  return s + "xyz";
}

TEST(Xxh64, MatchesTheReferenceImplementation) {
  EXPECT_EQ(xxh64(std::string_view("")), 0xef46db3751d8e999ULL);
  EXPECT_EQ(xxh64(std::string_view("a")), 0xd24ec4f1a98c6e5bULL);
  EXPECT_EQ(xxh64(std::string_view("abc")), 0x44bc2cf5ad770999ULL);
  EXPECT_EQ(xxh64(std::string_view("0123456789abcdef0123456789abcdef")), 0x642a94958e71e6c5ULL);
  EXPECT_EQ(xxh64(bytes_0_to_255_three_times_then_xyz()), 0xe921a1b45bd779f8ULL);
}

TEST(Xxh64, FileHashEqualsBytesHash) {
  ScratchDir dir;
  const std::string data = bytes_0_to_255_three_times_then_xyz();
  EXPECT_EQ(xxh64_file(dir.write("f.bin", data)), xxh64(data));
  EXPECT_THAT(testing::error_of([&] { xxh64_file(dir / "absent"); }), HasSubstr("absent"));
}

TEST(Manifest, AFinishedFolderVerifiesAndDamageIsNamed) {
  ScratchDir dir;
  dir.write("model.safetensors", std::string(1000, 'w'));
  dir.write("sub/config.json", "{}");
  EXPECT_THAT(verify_manifest(dir.path()), HasSubstr("manifest.json is missing"));
  write_manifest(dir.path());
  EXPECT_EQ(verify_manifest(dir.path()), "");

  std::string flipped(1000, 'w');
  flipped[500] = 'x';
  dir.write("model.safetensors", flipped);
  EXPECT_THAT(verify_manifest(dir.path()),
              HasSubstr("model.safetensors is damaged (its checksum differs)"));
  dir.write("model.safetensors", std::string(999, 'w'));
  EXPECT_THAT(verify_manifest(dir.path()),
              HasSubstr("model.safetensors has 999 bytes, expected 1000"));
  std::filesystem::remove(dir / "model.safetensors");
  EXPECT_THAT(verify_manifest(dir.path()), HasSubstr("model.safetensors is missing"));
  dir.write("manifest.json", "{\"files\": [");
  EXPECT_THAT(verify_manifest(dir.path()), HasSubstr("manifest.json"));
}

}  // namespace
}  // namespace embedtune::io
