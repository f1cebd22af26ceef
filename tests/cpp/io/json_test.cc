// JSON helpers: errors name the file, line and column; writes are atomic with a final newline.
#include "io/json.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "io_test_support.h"

namespace embedtune::io {
namespace {

using testing::error_of;
using ::testing::HasSubstr;
using testing::read_bytes;
using testing::ScratchDir;
using ::testing::StartsWith;
using testing::write_bytes;

TEST(Json, ReadsAFile) {
  ScratchDir dir;
  write_bytes(dir / "a.json", "\xEF\xBB\xBF{\"name\": \"caf\xC3\xA9\", \"dims\": [768, 512]}\n");
  const auto value = read_json_file(dir / "a.json");
  EXPECT_EQ(value["name"], "caf\xC3\xA9");
  EXPECT_EQ(value["dims"], nlohmann::json({768, 512}));
}

TEST(Json, MissingFileOrFolderIsNamed) {
  ScratchDir dir;
  const auto path = dir / "missing.json";
  EXPECT_THAT(error_of([&] { read_json_file(path); }),
              StartsWith(path.string() + ": expected a readable file, found none (No such file"));
  EXPECT_THAT(error_of([&] { read_json_file(dir.path()); }), HasSubstr("found a folder"));
}

// Line and column of the offending byte, counted by hand from the text.
TEST(Json, ParseErrorsGiveLineAndColumn) {
  ScratchDir dir;
  const auto path = dir / "bad.json";
  write_bytes(path, "{\n  \"a\": 1,\n  \"b\": ]\n}\n");
  std::string message = error_of([&] { read_json_file(path); });
  EXPECT_THAT(message, StartsWith(path.string() + ": invalid JSON at line 3, column 8: "));
  EXPECT_THAT(message, HasSubstr("unexpected ']'"));
  EXPECT_EQ(message.find('\n'), std::string::npos);

  write_bytes(path, "[1, 2,\n3 4]");
  EXPECT_THAT(error_of([&] { read_json_file(path); }),
              StartsWith(path.string() + ": invalid JSON at line 2, column 3: "));

  write_bytes(path, "{\"a\": tru}");
  EXPECT_THAT(error_of([&] { read_json_file(path); }),
              StartsWith(path.string() + ": invalid JSON at line 1, column 10: "));

  write_bytes(path, "");
  EXPECT_THAT(error_of([&] { read_json_file(path); }),
              StartsWith(path.string() + ": invalid JSON at line 1, column 1: "));

  write_bytes(path, "{\"a\": \"\xff\"}");
  EXPECT_THAT(error_of([&] { read_json_file(path); }),
              StartsWith(path.string() + ": invalid JSON at line 1, column 8: "));
}

TEST(Json, WriteIsAtomicWithTrailingNewline) {
  ScratchDir dir;
  const auto path = dir / "out.json";
  write_bytes(path, "old");
  write_json_file_atomic(path, {{"b", 1}, {"a", {1, 2}}, {"s", "\xC3\xA9"}});
  EXPECT_EQ(read_bytes(path),
            "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": 1,\n  \"s\": \"\xC3\xA9\"\n}\n");
  write_json_file_atomic(path, {{"x", 1}}, -1);
  EXPECT_EQ(read_bytes(path), "{\"x\":1}\n");
  EXPECT_EQ(read_json_file(path), nlohmann::json({{"x", 1}}));

  EXPECT_THAT(error_of([&] { write_json_file_atomic(path, {{"bad", "\xff"}}); }),
              HasSubstr("valid UTF-8"));
  EXPECT_EQ(read_bytes(path), "{\"x\":1}\n");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()),
                          std::filesystem::directory_iterator()),
            1);
}

}  // namespace
}  // namespace embedtune::io
