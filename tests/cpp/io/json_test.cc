// JSON helpers: errors name the file, line and column; writes are atomic with a final newline.
#include "io/json.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

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

// Found by fuzz/fuzz_json (fuzz/regressions/json/): nlohmann throws a number too large for a
// double as out_of_range, not parse_error, so it escaped as a non-embedtune exception.
TEST(Json, NumberTooLargeForADoubleIsAnErrorWithLineAndColumn) {
  ScratchDir dir;
  const auto path = dir / "big.json";
  write_bytes(path, "{\n  \"eps\": 1e999\n}\n");
  EXPECT_EQ(
      error_of([&] { read_json_file(path); }),
      path.string() +
          ": invalid JSON at line 2, column 14: number overflow parsing '1e999'; fix the file "
          "or re-create it");
  EXPECT_THAT(error_of([&] { read_ordered_json_file(path); }),
              HasSubstr("line 2, column 14: number overflow parsing '1e999'"));
}

TEST(Json, ParseJsonTextGivesTheOffsetOfTheOffendingByte) {
  JsonParseError error;
  EXPECT_EQ(parse_json_text("[1, 2]", error), nlohmann::json({1, 2}));
  EXPECT_FALSE(parse_json_text("[1, -1e400]", error));
  EXPECT_EQ(error.offset, 9u);
  EXPECT_EQ(error.reason, "number overflow parsing '-1e400'");
  EXPECT_FALSE(parse_json_text("[1] x", error));
  EXPECT_EQ(error.offset, 4u);
  EXPECT_THAT(error.reason, StartsWith("syntax error while parsing value - invalid literal"));
}

TEST(Json, Int64OnlyFromJsonIntegersInRange) {
  EXPECT_EQ(json_int64(nlohmann::json(-7)), -7);
  EXPECT_EQ(json_int64(nlohmann::json(std::numeric_limits<int64_t>::max())),
            std::numeric_limits<int64_t>::max());
  EXPECT_EQ(json_int64(nlohmann::json::parse("9223372036854775807")),
            std::numeric_limits<int64_t>::max());
  // One past: nlohmann holds it as unsigned; get<int64_t>() would wrap it.
  EXPECT_FALSE(json_int64(nlohmann::json::parse("9223372036854775808")).has_value());
  // A float, even a whole one, is not an integer field (get<int64_t>() of 5e82 is undefined).
  EXPECT_FALSE(json_int64(nlohmann::json(384.0)).has_value());
  EXPECT_FALSE(json_int64(nlohmann::json::parse("5.5e82")).has_value());
  EXPECT_FALSE(json_int64(nlohmann::json("3")).has_value());
  EXPECT_FALSE(json_int64(nlohmann::json(true)).has_value());
  EXPECT_FALSE(json_int64(nlohmann::json(nullptr)).has_value());
}

TEST(Json, PreviewIsShortOneLineAndBoundedInDepth) {
  EXPECT_EQ(json_preview(nlohmann::json::parse(R"({"a": [1, 2.5, null], "b": "x"})")),
            R"({"a":[1,2.5,null],"b":"x"})");
  EXPECT_EQ(json_preview("line\nbreak"), R"("line\nbreak")");
  EXPECT_EQ(json_preview(std::string(100, 'x')), "\"" + std::string(79, 'x') + "...");
  // Cut before a two-byte character rather than inside it.
  std::string accents;
  for (int i = 0; i < 50; ++i) accents += "\xC3\xA9";
  EXPECT_EQ(json_preview(accents, 4), "\"\xC3\xA9...");
  // Found in review, reproduced by the fuzz harness's small stack: messages showed values with
  // dump(), which recurses once per level, so a value nested 300,000 deep overflowed the stack.
  const nlohmann::json deep =
      nlohmann::json::parse(std::string(300'000, '[') + std::string(300'000, ']'));
  EXPECT_EQ(json_preview(deep), "[[[[[...]]]]]");
  EXPECT_EQ(json_preview(nlohmann::json::parse(R"([[[[[]]]]])")), "[[[[[]]]]]");
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
