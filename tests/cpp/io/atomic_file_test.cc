// Atomic writes: the target is either untouched or completely replaced, and no temporary remains.
#include "io/atomic_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "io/safetensors.h"
#include "io_test_support.h"

namespace embedtune::io {
namespace {

using testing::error_of;
using ::testing::HasSubstr;
using testing::read_bytes;
using testing::ScratchDir;
using testing::write_bytes;

size_t entries(const std::filesystem::path& dir) {
  return static_cast<size_t>(std::distance(std::filesystem::directory_iterator(dir),
                                           std::filesystem::directory_iterator()));
}

TEST(AtomicFile, CreatesAndReplaces) {
  ScratchDir dir;
  write_file_atomic(dir / "f.bin", std::string("a\0b", 3));
  EXPECT_EQ(read_bytes(dir / "f.bin"), std::string("a\0b", 3));
  write_file_atomic(dir / "f.bin", "replaced");
  EXPECT_EQ(read_bytes(dir / "f.bin"), "replaced");
  write_file_atomic(dir / "f.bin", "");
  EXPECT_EQ(read_bytes(dir / "f.bin"), "");
  EXPECT_EQ(entries(dir.path()), 1u);
}

TEST(AtomicFile, ExceptionMidWriteLeavesOldFileAndNoTemp) {
  ScratchDir dir;
  const auto path = dir / "model.safetensors";
  write_bytes(path, "old contents");
  try {
    AtomicWriter writer(path);
    EXPECT_EQ(writer.temp_path().parent_path(), dir.path());
    EXPECT_TRUE(std::filesystem::exists(writer.temp_path()));
    writer.stream() << std::string(1 << 20, 'x');
    throw std::runtime_error("simulated failure half way");
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(read_bytes(path), "old contents");
  EXPECT_EQ(entries(dir.path()), 1u);
}

TEST(AtomicFile, FailedRenameRemovesTempAndReportsPath) {
  ScratchDir dir;
  const auto target = dir / "occupied";
  std::filesystem::create_directories(target / "child");  // rename over a non-empty folder fails
  const std::string message = error_of([&] { write_file_atomic(target, "data"); });
  EXPECT_THAT(message, HasSubstr(target.string()));
  EXPECT_THAT(message, HasSubstr("cannot rename"));
  EXPECT_TRUE(std::filesystem::is_directory(target / "child"));
  EXPECT_EQ(entries(dir.path()), 1u);
}

TEST(AtomicFile, MissingFolderIsAnError) {
  ScratchDir dir;
  const auto path = dir / "no" / "such" / "folder" / "f.json";
  const std::string message = error_of([&] { write_file_atomic(path, "x"); });
  EXPECT_THAT(message, HasSubstr(path.string()));
  EXPECT_THAT(message, HasSubstr("folder exists"));
}

TEST(AtomicFile, RejectedSafetensorsWriteLeavesOldFile) {
  ScratchDir dir;
  const auto path = dir / "m.safetensors";
  write_bytes(path, "previous model");
  const std::vector<uint8_t> bytes(3, 0);
  EXPECT_THAT(error_of([&] {
                write_safetensors(path, {{"w", DType::F32, {1}, std::as_bytes(std::span(bytes))}});
              }),
              HasSubstr("needs 4 bytes"));
  EXPECT_EQ(read_bytes(path), "previous model");
  EXPECT_EQ(entries(dir.path()), 1u);
}

}  // namespace
}  // namespace embedtune::io
