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

TEST(AtomicFile, PreparedWritersReplaceNothingUntilCommitted) {
  ScratchDir dir;
  write_bytes(dir / "a", "old a");
  write_bytes(dir / "b", "old b");
  {
    AtomicWriter a(dir / "a"), b(dir / "b");
    a.stream() << "new a";
    b.stream() << "new b";
    a.prepare();
    b.prepare();
    EXPECT_EQ(read_bytes(dir / "a"), "old a");  // prepared, not yet in place
    a.commit();
    // b goes out of scope uncommitted: its old version stays and its temporary is removed.
  }
  EXPECT_EQ(read_bytes(dir / "a"), "new a");
  EXPECT_EQ(read_bytes(dir / "b"), "old b");
  EXPECT_EQ(entries(dir.path()), 2u);
}

TEST(StagingCleanup, DeadWritersLeftoversAreClearedLiveOnesKept) {
  ScratchDir dir;
  // A pid that cannot be running: above the kernel's pid_max.
  const std::string dead = "99999999";
  std::filesystem::create_directories(dir / (".checkpoint-3.tmp-" + dead) / "1_Pooling");
  std::filesystem::create_directories(dir / (".checkpoint-2.old-" + dead));  // target gone
  write_bytes(dir / (".checkpoint-2.old-" + dead) / "marker", "the replaced checkpoint");
  std::filesystem::create_directories(dir / "checkpoint-1");
  std::filesystem::create_directories(dir / (".checkpoint-1.old-" + dead));  // target present
  write_bytes(dir / (".log.jsonl.tmp." + dead + ".0"), "partial");
  const auto live = staging_path(dir / "checkpoint-4", "tmp");  // this process: running
  std::filesystem::create_directories(live);

  const auto cleared = clean_stale_staging(dir.path());
  EXPECT_EQ(cleared.size(), 4u);
  EXPECT_FALSE(std::filesystem::exists(dir / (".checkpoint-3.tmp-" + dead)));
  EXPECT_EQ(read_bytes(dir / "checkpoint-2" / "marker"), "the replaced checkpoint");
  EXPECT_FALSE(std::filesystem::exists(dir / (".checkpoint-1.old-" + dead)));
  EXPECT_TRUE(std::filesystem::exists(dir / "checkpoint-1"));
  EXPECT_FALSE(std::filesystem::exists(dir / (".log.jsonl.tmp." + dead + ".0")));
  EXPECT_TRUE(std::filesystem::exists(live));
}

TEST(OutputChecks, MissingFoldersFilesAndFoldersForFilesAreNamedBeforeWork) {
  ScratchDir dir;
  write_bytes(dir / "file", "x");
  EXPECT_THAT(error_of([&] { check_output_file(dir / "nope" / "r.json", "--output"); }),
              HasSubstr("does not exist; create it or choose another --output"));
  EXPECT_THAT(error_of([&] { check_output_file(dir.path(), "--output"); }),
              HasSubstr("--output names a folder"));
  EXPECT_THAT(error_of([&] { check_output_dir(dir / "file", "output_dir"); }),
              HasSubstr("output_dir names a file"));
  EXPECT_THAT(error_of([&] { check_output_dir(dir / "file" / "sub", "output_dir"); }),
              HasSubstr("is not a folder"));
  check_output_file(dir / "r.json", "--output");
  check_output_dir(dir / "new" / "deeper", "output_dir");
}

}  // namespace
}  // namespace embedtune::io
