// Tests of reading JSON Lines, JSON arrays and CSV files into records, and of their errors.
#include "data/records.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>

#include "data/parquet.h"
#include "data/text.h"
#include "data_test_util.h"

namespace embedtune::data {
namespace {

using testing::error_of;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class RecordsTest : public testing::TempDirTest {
 protected:
  std::vector<Record> read(const std::filesystem::path& path, DataFormat format,
                           bool skip = false) {
    invalid_ = std::make_unique<InvalidRows>(path, skip);
    return read_records(path, format, *invalid_);
  }
  std::unique_ptr<InvalidRows> invalid_;
};

TEST_F(RecordsTest, TextFieldsNameAWrongFieldOrABadRow) {
  const auto path = write("d.jsonl",
                          "{\"anchor\": \"a\", \"positive\": \"b\"}\n"
                          "{\"anchor\": \"c\", \"positive\": \"d\", \"negative\": \"e\"}\n");
  const std::vector<Record> records = read(path, DataFormat::kJsonLines);
  EXPECT_EQ(text_fields(path, records, {"positive", "anchor"}, "set train_columns"),
            (std::vector<std::vector<std::string>>{{"b", "a"}, {"d", "c"}}));
  // No row has it: a wrong name, not line 1's fault.
  EXPECT_EQ(error_of([&] { text_fields(path, records, {"anchor", "question"}, "set X"); }),
            path.string() +
                ": expected a text field \"question\" in some row, found it in no row (2 read; "
                "the first has columns \"anchor\", \"positive\"); set X");
  // Some row has it: the first row without it is named.
  EXPECT_EQ(error_of([&] { text_fields(path, records, {"negative"}, "set X"); }),
            path.string() +
                ":1: expected a text field \"negative\", found columns \"anchor\", "
                "\"positive\"; fix the row or set X");
  const auto typed = write("e.jsonl", "{\"anchor\": \"a\"}\n{\"anchor\": 7}\n");
  EXPECT_EQ(error_of([&] {
              text_fields(typed, read(typed, DataFormat::kJsonLines), {"anchor"}, "set X");
            }),
            typed.string() +
                ":2: expected a text field \"anchor\", found number 7; fix the row or set X");
}

TEST_F(RecordsTest, FormatFromExtensionAndName) {
  EXPECT_EQ(format_for_path("a/b.jsonl"), DataFormat::kJsonLines);
  EXPECT_EQ(format_for_path("b.JSON"), DataFormat::kJson);
  EXPECT_EQ(format_for_path("b.csv"), DataFormat::kCsv);
  EXPECT_EQ(format_for_path("b.Parquet"), DataFormat::kParquet);
  EXPECT_EQ(parse_format("parquet"), DataFormat::kParquet);
  EXPECT_THAT(error_of([] { format_for_path("b.tsv"); }), HasSubstr("pass --format"));
  EXPECT_EQ(parse_format("csv"), DataFormat::kCsv);
  EXPECT_THAT(error_of([] { parse_format("xml"); }),
              HasSubstr("expected jsonl, json, csv or parquet"));
}

// Parquet files themselves are written by pyarrow in tests/python/test_parquet_datasets.py; these
// are the errors that need no writer.
TEST_F(RecordsTest, ParquetErrorsNameTheFile) {
  if (!parquet_available()) {
    const auto file = write("d.parquet", "PAR1");
    EXPECT_THAT(error_of([&] { read(file, DataFormat::kParquet); }),
                HasSubstr("d.parquet: expected a build of embedtune that reads Parquet"));
    return;
  }
  EXPECT_THAT(error_of([&] { read(dir_ / "absent.parquet", DataFormat::kParquet); }),
              HasSubstr("absent.parquet: expected a readable file, found none"));
  const auto text = write("text.parquet", "question,context\nq,c\n");
  EXPECT_THAT(error_of([&] { read(text, DataFormat::kParquet); }),
              HasSubstr("text.parquet: expected a Parquet file, found no Parquet magic bytes"));
  const auto cut = write("cut.parquet", "PAR1\x15\x04\x15\x10");
  EXPECT_THAT(error_of([&] { read(cut, DataFormat::kParquet); }),
              HasSubstr("cut.parquet: expected a readable Parquet file, found a damaged one"));
}

TEST_F(RecordsTest, JsonLinesWithBomCrlfAndBlankLines) {
  const auto path = write("d.jsonl",
                          "\xEF\xBB\xBF{\"question\": \"caf\xC3\xA9?\", \"context\": \"x\"}\r\n"
                          "\n"
                          "{\"question\": \"b\", \"n\": 3}\n");
  const auto records = read(path, DataFormat::kJsonLines);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].columns["question"], "caf\xC3\xA9?");
  EXPECT_EQ(records[0].line, 1u);
  EXPECT_EQ(records[1].line, 3u);
  EXPECT_EQ(records[1].columns["n"], 3);
}

TEST_F(RecordsTest, JsonLinesMalformedLineNamesFileAndLine) {
  const auto path = write("d.jsonl", "{\"a\": \"1\"}\n{\"a\": \"2\"\n");
  const std::string message = error_of([&] { read(path, DataFormat::kJsonLines); });
  EXPECT_THAT(message, StartsWith(path.string() + ":2: expected one JSON object per line, found "
                                                  "malformed JSON"));
  EXPECT_THAT(message, HasSubstr("fix the row or pass --skip-invalid"));
}

TEST_F(RecordsTest, JsonLinesNonObjectAndBadUtf8) {
  auto path = write("d.jsonl", "[1, 2]\n");
  EXPECT_THAT(error_of([&] { read(path, DataFormat::kJsonLines); }),
              HasSubstr(":1: expected one JSON object per line, found an array"));
  path = write("e.jsonl", "{\"a\": \"ok\"}\n{\"a\": \"\xFF\"}\n");
  EXPECT_THAT(error_of([&] { read(path, DataFormat::kJsonLines); }),
              HasSubstr("e.jsonl:2: expected UTF-8 text, found byte 0xFF at column 8"));
}

TEST_F(RecordsTest, JsonLinesSkipInvalidCounts) {
  const auto path = write("d.jsonl", "{\"a\": \"1\"}\nnot json\n7\n{\"a\": \"2\"}\n");
  const auto records = read(path, DataFormat::kJsonLines, /*skip=*/true);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(invalid_->count(), 2u);
  EXPECT_THAT(invalid_->messages()[0], HasSubstr("d.jsonl:2:"));
  EXPECT_THAT(invalid_->messages()[1], HasSubstr("d.jsonl:3: expected one JSON object per line, "
                                                 "found number 7"));
}

TEST_F(RecordsTest, JsonArrayRecordsKnowTheirLines) {
  const auto path = write("d.json",
                          "[\n  {\"q\": \"a [b], {c}\", \"n\": [1, {\"x\": 2}]},\n"
                          "  {\"q\": \"two\\\"\"},\n\n  {\"q\": \"three\"}\n]\n");
  const auto records = read(path, DataFormat::kJson);
  ASSERT_EQ(records.size(), 3u);
  EXPECT_EQ(records[0].line, 2u);
  EXPECT_EQ(records[1].line, 3u);
  EXPECT_EQ(records[1].columns["q"], "two\"");
  EXPECT_EQ(records[2].line, 5u);
}

TEST_F(RecordsTest, JsonArrayErrors) {
  auto path = write("a.json", "[\n {\"q\": 1},\n {\"q\": 2,}\n]\n");
  EXPECT_THAT(
      error_of([&] { read(path, DataFormat::kJson); }),
      StartsWith(path.string() + ":3: expected a JSON array of records, found malformed JSON"));
  path = write("b.json", "{\"q\": 1}");
  EXPECT_THAT(error_of([&] { read(path, DataFormat::kJson); }),
              HasSubstr("found an object; for one record per line use a .jsonl file"));
  path = write("c.json", "[{\"q\": 1},\n \"text\"]");
  EXPECT_THAT(error_of([&] { read(path, DataFormat::kJson); }),
              HasSubstr("c.json:2: expected a JSON object for each record, found string \"text\""));
}

TEST_F(RecordsTest, CsvWithBomHeaderQuotesAndCrlf) {
  const auto path = write("d.csv",
                          "\xEF\xBB\xBFquestion,context\r\n"
                          "\"What is 1,2?\",\"A list, \"\"quoted\"\"\r\nover lines\"\r\n"
                          "plain,\r\n");
  const auto records = read(path, DataFormat::kCsv);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].columns["question"], "What is 1,2?");  // BOM not in the column name
  EXPECT_EQ(records[0].columns["context"], "A list, \"quoted\"\r\nover lines");
  EXPECT_EQ(records[0].line, 2u);
  EXPECT_EQ(records[1].line, 4u);
  EXPECT_EQ(records[1].columns["context"], "");
}

// Found by fuzz/fuzz_dataset_jsonl and fuzz_dataset_json (fuzz/regressions/dataset_json*/):
// nlohmann throws a number too large for a double as out_of_range, not parse_error, so it escaped
// read_records as a non-embedtune exception.
TEST_F(RecordsTest, NumberTooLargeForADoubleIsMalformedJson) {
  auto path = write("d.jsonl", "{\"question\": \"q\"}\n{\"question\": \"q\", \"score\": 1e999}\n");
  EXPECT_EQ(error_of([&] { read(path, DataFormat::kJsonLines); }),
            path.string() +
                ":2: expected one JSON object per line, found malformed JSON at column 32: number "
                "overflow parsing '1e999'; fix the row or pass --skip-invalid");
  EXPECT_EQ(read(path, DataFormat::kJsonLines, /*skip=*/true).size(), 1u);
  EXPECT_EQ(invalid_->count(), 1u);
  path = write("d.json", "[\n {\"q\": 1},\n {\"q\": -1e999}\n]\n");
  EXPECT_EQ(error_of([&] { read(path, DataFormat::kJson); }),
            path.string() +
                ":3: expected a JSON array of records, found malformed JSON: number overflow "
                "parsing '-1e999'; fix the file");
}

// Found in review, measured with the dataset_json fuzz build (3,000 records: 6 s): each record's
// line was counted from the start of the file, so reading took time quadratic in its size.
TEST_F(RecordsTest, JsonArrayLinesAreCountedInOnePass) {
  constexpr std::size_t kRecords = 100'000;
  std::string text = "[\n";
  for (std::size_t i = 0; i < kRecords; ++i) text += i == 0 ? "{\"q\": 1}\n" : ",{\"q\": 1}\r\n";
  const auto path = write("big.json", text + "]");
  const auto start = std::chrono::steady_clock::now();
  const auto records = read(path, DataFormat::kJson);
  const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
  ASSERT_EQ(records.size(), kRecords);
  EXPECT_EQ(records[0].line, 2u);
  EXPECT_EQ(records[1].line, 3u);
  EXPECT_EQ(records.back().line, kRecords + 1);
  EXPECT_LT(took.count(), 10.0) << "linear: well under a second; quadratic: minutes";
}

// Found by fuzz/fuzz_dataset_csv (fuzz/regressions/dataset_csv/): the header's column names went
// into the message as they are, so a quoted name with a line break broke the one-line error.
TEST_F(RecordsTest, CsvFieldCountMessageQuotesColumnNames) {
  const auto path = write("d.csv", "\"a\nb\",c\n1,2,3\n");
  const std::string message = error_of([&] { read(path, DataFormat::kCsv); });
  EXPECT_THAT(message,
              StartsWith(path.string() +
                         R"(:3: expected 2 fields as in the header ("a\nb", "c"), found 3)"));
  EXPECT_EQ(message.find('\n'), std::string::npos);
}

TEST_F(RecordsTest, CsvWrongFieldCountAndUnterminatedQuote) {
  auto path = write("d.csv", "a,b\n1,2\n1,2,3\n");
  EXPECT_THAT(
      error_of([&] { read(path, DataFormat::kCsv); }),
      StartsWith(path.string() + R"(:3: expected 2 fields as in the header ("a", "b"), found 3)"));
  path = write("e.csv", "a,b\n1,2\n3,\"open\n4,5\n");
  EXPECT_THAT(error_of([&] { read(path, DataFormat::kCsv); }),
              StartsWith(path.string() + ":3: expected a closing double quote"));
  // Skipping: both bad rows counted, the good ones kept.
  path = write("f.csv", "a,b\n1,2\n1,2,3\n3,\"open\n4,5\n");
  const auto records = read(path, DataFormat::kCsv, /*skip=*/true);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1].columns["a"], "4");
  ASSERT_EQ(invalid_->count(), 2u);
  EXPECT_THAT(invalid_->messages()[0], HasSubstr("f.csv:3:"));
  EXPECT_THAT(invalid_->messages()[1], HasSubstr("f.csv:4:"));
}

TEST_F(RecordsTest, CsvHeaderProblemsAreNotSkippable) {
  auto path = write("d.csv", "a,a\n1,2\n");
  EXPECT_THAT(error_of([&] { read(path, DataFormat::kCsv, true); }),
              HasSubstr("d.csv:1: expected unique column names in the header, found \"a\" twice"));
  path = write("e.csv", "\"a,b\n1,2\n");
  EXPECT_THAT(error_of([&] { read(path, DataFormat::kCsv, true); }),
              HasSubstr("e.csv:1: expected a header row"));
}

TEST_F(RecordsTest, MissingFile) {
  EXPECT_THAT(error_of([&] { read(dir_ / "none.jsonl", DataFormat::kJsonLines); }),
              HasSubstr("none.jsonl: expected a readable file"));
  EXPECT_THAT(error_of([&] { read(dir_, DataFormat::kJsonLines); }),
              HasSubstr("expected a readable file, found a folder"));
}

TEST(Text, Utf8AndPythonWhitespace) {
  EXPECT_FALSE(find_invalid_utf8("caf\xC3\xA9 \xF0\x9F\x98\x80").has_value());
  EXPECT_EQ(find_invalid_utf8("ab\xC0\xAF"), 2u);                    // overlong '/'
  EXPECT_EQ(find_invalid_utf8("a\xED\xA0\x80"), 1u);                 // surrogate U+D800
  EXPECT_EQ(find_invalid_utf8("a\xF4\x90\x80\x80"), 1u);             // above U+10FFFF
  EXPECT_EQ(find_invalid_utf8("abc\xE2\x82"), 3u);                   // truncated
  EXPECT_EQ(count_code_points("caf\xC3\xA9 \xF0\x9F\x98\x80"), 6u);  // Python len() == 6
  // Python: "\u3000\xa0 x y\u2009\n".strip() == "x y"
  EXPECT_EQ(python_strip("\xE3\x80\x80\xC2\xA0 x y\xE2\x80\x89\n"), "x y");
  EXPECT_TRUE(is_blank(" \t\r\n\xC2\x85"));
  EXPECT_FALSE(is_blank("\xE2\x80\x8B"));  // U+200B is not whitespace for Python
  EXPECT_EQ(line_of_offset("a\nb\r\nc\rd", 7), 4u);
}

}  // namespace
}  // namespace embedtune::data
