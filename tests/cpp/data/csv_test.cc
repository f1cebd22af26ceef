// Tests of the RFC 4180 CSV parser: quoting, escapes, embedded line breaks, CRLF, recovery.
#include "data/csv.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace embedtune::data {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(ParseCsv, PlainRowsAndEmptyFields) {
  const CsvParseResult r = parse_csv("a,b,c\n1,,3\n,,\n");
  ASSERT_TRUE(r.errors.empty());
  ASSERT_EQ(r.rows.size(), 3u);
  EXPECT_THAT(r.rows[0].fields, ElementsAre("a", "b", "c"));
  EXPECT_THAT(r.rows[1].fields, ElementsAre("1", "", "3"));
  EXPECT_THAT(r.rows[2].fields, ElementsAre("", "", ""));
  EXPECT_EQ(r.rows[2].line, 3u);
}

TEST(ParseCsv, QuotedFieldsWithCommasEscapesAndNewlines) {
  const CsvParseResult r =
      parse_csv("q,c\n\"Hello, world\",\"She said \"\"hi\"\"\"\n\"two\nlines\",x\nlast,\"\"\n");
  ASSERT_TRUE(r.errors.empty());
  ASSERT_EQ(r.rows.size(), 4u);
  EXPECT_THAT(r.rows[1].fields, ElementsAre("Hello, world", "She said \"hi\""));
  EXPECT_THAT(r.rows[2].fields, ElementsAre("two\nlines", "x"));
  EXPECT_EQ(r.rows[2].line, 3u);
  EXPECT_EQ(r.rows[3].line, 5u);  // the embedded newline moved the next row down a line
  EXPECT_THAT(r.rows[3].fields, ElementsAre("last", ""));
}

TEST(ParseCsv, CrlfLineEndsAndNoFinalNewline) {
  const CsvParseResult r = parse_csv("a,b\r\n1,\"x\r\ny\"\r\n2,3");
  ASSERT_TRUE(r.errors.empty());
  ASSERT_EQ(r.rows.size(), 3u);
  EXPECT_THAT(r.rows[1].fields, ElementsAre("1", "x\r\ny"));  // kept byte for byte
  EXPECT_THAT(r.rows[2].fields, ElementsAre("2", "3"));
  EXPECT_EQ(r.rows[2].line, 4u);
}

TEST(ParseCsv, BlankLinesAreSkippedAndTrailingCommaIsAnEmptyField) {
  const CsvParseResult r = parse_csv("a,b\n\n1,\n\r\n");
  ASSERT_TRUE(r.errors.empty());
  ASSERT_EQ(r.rows.size(), 2u);
  EXPECT_THAT(r.rows[1].fields, ElementsAre("1", ""));
  EXPECT_EQ(r.rows[1].line, 3u);
}

TEST(ParseCsv, BareQuoteInsideUnquotedFieldIsLiteral) {
  const CsvParseResult r = parse_csv("a\n5\" screen\n");
  ASSERT_TRUE(r.errors.empty());
  EXPECT_THAT(r.rows[1].fields, ElementsAre("5\" screen"));
}

TEST(ParseCsv, UnterminatedQuoteCostsOneRow) {
  const CsvParseResult r = parse_csv("a,b\n1,\"open\n2,3\n");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].line, 2u);
  EXPECT_THAT(r.errors[0].message, HasSubstr("expected a closing double quote"));
  EXPECT_THAT(r.errors[0].message, HasSubstr("found the end of the file"));
  // Parsing resumed on the line after the bad row began.
  ASSERT_EQ(r.rows.size(), 2u);
  EXPECT_THAT(r.rows[1].fields, ElementsAre("2", "3"));
  EXPECT_EQ(r.rows[1].line, 3u);
}

TEST(ParseCsv, TextAfterClosingQuoteIsAnError) {
  const CsvParseResult r = parse_csv("a,b\n\"x\"y,2\n3,4\n");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].line, 2u);
  EXPECT_THAT(r.errors[0].message,
              HasSubstr("expected a comma or the end of the line after a closing double quote, "
                        "found \"y\""));
  ASSERT_EQ(r.rows.size(), 2u);
  EXPECT_THAT(r.rows[1].fields, ElementsAre("3", "4"));
}

}  // namespace
}  // namespace embedtune::data
