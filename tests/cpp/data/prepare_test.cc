// Tests of `prepare`: column mapping, ids, invalid rows, duplicates, stats, split files, summary.
#include "data/prepare.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "data_test_util.h"

namespace embedtune::data {
namespace {

using ::testing::ElementsAre;
using testing::error_of;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class PrepareTest : public testing::TempDirTest {
 protected:
  PrepareOptions options(const std::filesystem::path& input) const {
    PrepareOptions o;
    o.input = input;
    o.output_dir = dir_ / "out";
    return o;
  }

  std::vector<nlohmann::json> read_jsonl(const std::filesystem::path& path) const {
    std::vector<nlohmann::json> rows;
    std::istringstream lines(read(path));
    for (std::string line; std::getline(lines, line);) rows.push_back(nlohmann::json::parse(line));
    return rows;
  }

  // n rows {"question": "q<i>", "context": "c<i>"}.
  std::filesystem::path numbered(std::size_t n, const std::string& name = "d.jsonl") const {
    std::string text;
    for (std::size_t i = 0; i < n; ++i) {
      text += fmt::format("{{\"question\": \"q{}\", \"context\": \"c{}\"}}\n", i, i);
    }
    return write(name, text);
  }
};

TEST_F(PrepareTest, MapsColumnsAddsIdsAndSplitsAsPermutation) {
  const auto input = numbered(10);
  PrepareOptions o = options(input);
  o.test_size = TestSize::of_fraction(0.25);
  const PrepareSummary summary = prepare_dataset(o);
  EXPECT_EQ(summary.rows_read, 10u);
  EXPECT_EQ(summary.test_rows, 3u);  // ceil(2.5)
  EXPECT_EQ(summary.train_rows, 7u);
  EXPECT_FALSE(summary.ids_from_input);

  // seeded_permutation(10, 42) = 1 7 9 | 0 3 8 4 2 5 6 (see split_test.cc).
  const auto test = read_jsonl(o.output_dir / "test.jsonl");
  const auto train = read_jsonl(o.output_dir / "train.jsonl");
  ASSERT_EQ(test.size(), 3u);
  ASSERT_EQ(train.size(), 7u);
  EXPECT_EQ(test[0], nlohmann::json::parse(R"({"id": 1, "anchor": "q1", "positive": "c1"})"));
  EXPECT_EQ(test[2]["id"], 9);
  EXPECT_EQ(train[0]["id"], 0);
  EXPECT_EQ(train[6]["anchor"], "q6");
  // Key order id, anchor, positive; UTF-8 left unescaped.
  EXPECT_THAT(read(o.output_dir / "test.jsonl"),
              StartsWith("{\"id\":1,\"anchor\":\"q1\",\"positive\":\"c1\"}\n"));

  const nlohmann::json saved = nlohmann::json::parse(read(o.output_dir / "summary.json"));
  EXPECT_EQ(saved["rows_read"], 10);
  EXPECT_EQ(saved["test_rows"], 3);
  EXPECT_EQ(saved["seed"], 42);
  EXPECT_EQ(saved["ids"], "added");
}

TEST_F(PrepareTest, SameSeedSameSplitOtherSeedOtherSplit) {
  const auto input = numbered(50);
  PrepareOptions a = options(input);
  a.output_dir = dir_ / "a";
  PrepareOptions b = a;
  b.output_dir = dir_ / "b";
  PrepareOptions c = a;
  c.output_dir = dir_ / "c";
  c.seed = 7;
  prepare_dataset(a);
  prepare_dataset(b);
  prepare_dataset(c);
  EXPECT_EQ(read(a.output_dir / "test.jsonl"), read(b.output_dir / "test.jsonl"));
  EXPECT_EQ(read(a.output_dir / "train.jsonl"), read(b.output_dir / "train.jsonl"));
  EXPECT_NE(read(a.output_dir / "test.jsonl"), read(c.output_dir / "test.jsonl"));
  EXPECT_EQ(read_jsonl(a.output_dir / "test.jsonl").size(), 5u);
  EXPECT_EQ(read_jsonl(c.output_dir / "train.jsonl").size(), 45u);
}

TEST_F(PrepareTest, OtherColumnsNegativeAndUnicode) {
  const auto input = write("d.jsonl",
                           "{\"q\": \"Gr\xC3\xBC\xC3\x9F"
                           "e?\", \"p\": \"\xE6\x97\xA5\xE6\x9C\xAC\", \"n\": \"no\"}\n"
                           "{\"q\": \"b\", \"p\": \"pp\", \"n\": \"nn\"}\n"
                           "{\"q\": \"c\", \"p\": \"ppp\", \"n\": \"nnn\"}\n");
  PrepareOptions o = options(input);
  o.columns = {"q", "p", "n"};
  o.test_size = TestSize::of_count(1);
  const PrepareSummary summary = prepare_dataset(o);
  const std::string all = read(o.output_dir / "train.jsonl") + read(o.output_dir / "test.jsonl");
  EXPECT_THAT(all, HasSubstr("\"anchor\":\"Gr\xC3\xBC\xC3\x9F"
                             "e?\",\"positive\":\"\xE6\x97\xA5\xE6\x9C\xAC\",\"negative\":\"no\""));
  // Lengths in code points (Python len): anchors 6,1,1; positives 2,2,3; negatives 2,2,3.
  EXPECT_EQ(summary.lengths.at("anchor").max, 6u);
  EXPECT_EQ(summary.lengths.at("positive").min, 2u);
  EXPECT_DOUBLE_EQ(summary.lengths.at("positive").mean, 7.0 / 3.0);
  EXPECT_DOUBLE_EQ(summary.lengths.at("negative").median, 2.0);
}

TEST_F(PrepareTest, LengthStatsAndRepeatsByHand) {
  const LengthStats s = length_stats({"abcd", "a", "ab", "abcdefgh"});
  EXPECT_EQ(s.min, 1u);
  EXPECT_EQ(s.max, 8u);
  EXPECT_DOUBLE_EQ(s.mean, 15.0 / 4.0);
  EXPECT_DOUBLE_EQ(s.median, 3.0);  // statistics.median([1, 2, 4, 8]) == 3.0
  EXPECT_EQ(count_repeats({"a", "b", "a", "a", "b", "c"}), 3u);
}

TEST_F(PrepareTest, DuplicateAnchorsAndPositivesAreCounted) {
  const auto input = write("d.csv",
                           "question,context\n"
                           "q1,c1\nq1,c2\nq2,c1\nq1,c1\nq3,c3\n");
  const PrepareSummary summary = prepare_dataset(options(input));
  EXPECT_EQ(summary.duplicate_anchors, 2u);    // rows 3 and 5 repeat q1
  EXPECT_EQ(summary.duplicate_positives, 2u);  // rows 4 and 5 repeat c1
}

TEST_F(PrepareTest, IdColumnIsKeptWhenPresent) {
  const auto input = write("d.jsonl",
                           "{\"id\": \"doc-a\", \"question\": \"a\", \"context\": \"A\"}\n"
                           "{\"id\": 17, \"question\": \"b\", \"context\": \"B\"}\n"
                           "{\"id\": \"doc-c\", \"question\": \"c\", \"context\": \"C\"}\n");
  PrepareOptions o = options(input);
  o.test_size = TestSize::of_count(1);
  const PrepareSummary summary = prepare_dataset(o);
  EXPECT_TRUE(summary.ids_from_input);
  std::vector<nlohmann::json> ids;
  for (const auto& row : read_jsonl(o.output_dir / "train.jsonl")) ids.push_back(row["id"]);
  for (const auto& row : read_jsonl(o.output_dir / "test.jsonl")) ids.push_back(row["id"]);
  std::sort(ids.begin(), ids.end());
  EXPECT_THAT(ids, ElementsAre(17, "doc-a", "doc-c"));
}

TEST_F(PrepareTest, CsvIntegerIdsBecomeIntegers) {
  const auto input = write("d.csv", "id,question,context\n10,a,A\n-2,b,B\n7,c,C\n");
  const PairDataset d = load_pair_dataset(input, DataFormat::kCsv, {}, false);
  ASSERT_EQ(d.rows.size(), 3u);
  EXPECT_EQ(d.rows[0].id, 10);
  EXPECT_EQ(d.rows[1].id, -2);
  const auto mixed = write("e.csv", "id,question,context\n10,a,A\nx7,b,B\n");
  const PairDataset e = load_pair_dataset(mixed, DataFormat::kCsv, {}, false);
  EXPECT_EQ(e.rows[0].id, "10");
}

TEST_F(PrepareTest, DuplicateOrBadIdsAreErrors) {
  auto input = write("d.jsonl",
                     "{\"id\": 1, \"question\": \"a\", \"context\": \"A\"}\n"
                     "{\"id\": \"1\", \"question\": \"b\", \"context\": \"B\"}\n");
  EXPECT_THAT(error_of([&] { prepare_dataset(options(input)); }),
              StartsWith(input.string() + ":2: column \"id\": expected a unique id, found string "
                                          "\"1\" already used on line 1; fix the row or pass "
                                          "--skip-invalid"));
  input = write("e.jsonl",
                "{\"id\": 1, \"question\": \"a\", \"context\": \"A\"}\n"
                "{\"id\": 2.5, \"question\": \"b\", \"context\": \"B\"}\n");
  EXPECT_THAT(error_of([&] { prepare_dataset(options(input)); }),
              HasSubstr("e.jsonl:2: column \"id\": expected an integer or a non-empty string, "
                        "found number 2.5"));
  input = write("f.jsonl",
                "{\"id\": 1, \"question\": \"a\", \"context\": \"A\"}\n"
                "{\"question\": \"b\", \"context\": \"B\"}\n");
  EXPECT_THAT(error_of([&] { prepare_dataset(options(input)); }),
              HasSubstr("f.jsonl:2: expected a column \"id\" as other rows have"));
}

TEST_F(PrepareTest, EveryBadRowCaseNamesFileLineExpectedFound) {
  struct Case {
    std::string row, expected;
  };
  const std::vector<Case> cases = {
      {R"({"context": "c"})",
       R"(:2: expected a column "question" (set by --anchor-column), found columns "context")"},
      {R"({"question": "q"})", R"(:2: expected a column "context" (set by --positive-column))"},
      {R"({"question": 42, "context": "c"})",
       R"(:2: column "question": expected a string, found number 42)"},
      {R"({"question": "q", "context": null})",
       R"(:2: column "context": expected a string, found null)"},
      {R"({"question": "q", "context": ["a"]})",
       R"(:2: column "context": expected a string, found an array)"},
      {R"({"question": "", "context": "c"})",
       R"(:2: column "question": expected non-empty text, found an empty string)"},
      {R"({"question": " \t\n", "context": "c"})",
       R"(:2: column "question": expected non-empty text, found only whitespace " \t\n")"},
      {R"({"question": "q", "context": "c")",
       R"(:2: expected one JSON object per line, found malformed JSON)"},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const auto input = write(fmt::format("case{}.jsonl", i),
                             "{\"question\": \"ok\", \"context\": \"ok\"}\n" + cases[i].row + "\n");
    const std::string message = error_of([&] { prepare_dataset(options(input)); });
    EXPECT_THAT(message, StartsWith(input.string() + cases[i].expected)) << cases[i].row;
    EXPECT_THAT(message, HasSubstr("; fix the row or pass --skip-invalid")) << cases[i].row;
  }
  // Nothing was written by the failed runs.
  EXPECT_FALSE(std::filesystem::exists(dir_ / "out" / "train.jsonl"));
}

TEST_F(PrepareTest, SkipInvalidSkipsAndCounts) {
  const auto input = write("d.jsonl",
                           "{\"question\": \"a\", \"context\": \"A\"}\n"
                           "{\"question\": \"\", \"context\": \"B\"}\n"
                           "broken\n"
                           "{\"question\": \"c\", \"context\": 3}\n"
                           "{\"question\": \"d\", \"context\": \"D\"}\n"
                           "{\"question\": \"e\", \"context\": \"E\"}\n");
  PrepareOptions o = options(input);
  // Without --skip-invalid the first bad row in the file is named, though the reader finds the
  // malformed line 3 before the column check finds line 2.
  EXPECT_THAT(error_of([&] { prepare_dataset(o); }), StartsWith(input.string() + ":2: column"));
  o.skip_invalid = true;
  o.test_size = TestSize::of_count(1);
  const PrepareSummary summary = prepare_dataset(o);
  EXPECT_EQ(summary.rows_read, 6u);
  EXPECT_EQ(summary.rows_skipped, 3u);
  EXPECT_EQ(summary.train_rows + summary.test_rows, 3u);
  ASSERT_EQ(summary.skipped_examples.size(), 3u);
  EXPECT_THAT(summary.skipped_examples[0], HasSubstr("d.jsonl:2:"));
  EXPECT_THAT(summary.skipped_examples[1], HasSubstr("d.jsonl:3:"));
  EXPECT_THAT(summary.skipped_examples[2], HasSubstr("d.jsonl:4:"));
  // Ids are 0..N-1 over the rows kept, as add_column after loading.
  std::vector<int> ids;
  for (const auto& row : read_jsonl(o.output_dir / "train.jsonl")) ids.push_back(row["id"]);
  for (const auto& row : read_jsonl(o.output_dir / "test.jsonl")) ids.push_back(row["id"]);
  std::sort(ids.begin(), ids.end());
  EXPECT_THAT(ids, ElementsAre(0, 1, 2));
  const nlohmann::json saved = nlohmann::json::parse(read(o.output_dir / "summary.json"));
  EXPECT_EQ(saved["rows_skipped_invalid"], 3);
  EXPECT_THAT(format_summary(summary), HasSubstr("skipped invalid       3"));
}

TEST_F(PrepareTest, EmptyOrAllInvalidOrTooSmallDatasets) {
  auto input = write("empty.jsonl", "\n\n");
  EXPECT_THAT(error_of([&] { prepare_dataset(options(input)); }),
              HasSubstr("found an empty dataset"));
  input = write("empty.csv", "question,context\n");
  EXPECT_THAT(error_of([&] { prepare_dataset(options(input)); }),
              HasSubstr("found an empty dataset"));
  input = write("bad.jsonl", "{\"question\": 1, \"context\": \"c\"}\n");
  PrepareOptions o = options(input);
  o.skip_invalid = true;
  EXPECT_THAT(error_of([&] { prepare_dataset(o); }),
              HasSubstr("expected at least one valid row, found none (1 skipped; the first: "));
  input = numbered(1, "one.jsonl");
  EXPECT_THAT(error_of([&] { prepare_dataset(options(input)); }),
              HasSubstr("leaves the train split empty"));
  input = numbered(4, "four.jsonl");
  o = options(input);
  o.test_size = TestSize::of_count(4);
  EXPECT_THAT(error_of([&] { prepare_dataset(o); }), HasSubstr("leaves no rows for training"));
}

TEST_F(PrepareTest, CsvHeaderWithoutMappedColumnIsAnError) {
  const auto input = write("d.csv", "q,c\na,b\n");
  PrepareOptions o = options(input);
  o.skip_invalid = true;  // not skippable: every row would be invalid
  EXPECT_THAT(error_of([&] { prepare_dataset(o); }),
              StartsWith(input.string() + ":1: expected a column \"question\" in the header, found "
                                          "columns \"c\", \"q\"; pass --anchor-column NAME"));
}

TEST_F(PrepareTest, JsonColumnInNoRowIsAWrongColumnNameNotABadRow) {
  const auto input = write("d.jsonl",
                           "{\"q\": \"a\", \"context\": \"A\"}\n"
                           "{\"q\": \"b\", \"context\": \"B\"}\n");
  PrepareOptions o = options(input);
  o.skip_invalid = true;  // not skippable: every row would be skipped
  EXPECT_EQ(error_of([&] { prepare_dataset(o); }),
            input.string() +
                ": expected a column \"question\" in some row, found it in no row (2 read; "
                "the first has columns \"context\", \"q\"); pass --anchor-column NAME to use "
                "another column");
  // With the column in some row, a row without it is a bad row, as before.
  const auto mixed = write("e.jsonl",
                           "{\"q\": \"a\", \"context\": \"A\"}\n"
                           "{\"question\": \"b\", \"context\": \"B\"}\n");
  EXPECT_THAT(error_of([&] { prepare_dataset(options(mixed)); }),
              StartsWith(mixed.string() + ":1: expected a column \"question\" (set by "
                                          "--anchor-column)"));
}

TEST_F(PrepareTest, MessagesNameTheRecipesKeysWhenARunPrepares) {
  // `embedtune run` prepares from a recipe's data: section, where the fix is a key, not a flag.
  PrepareSettings settings;
  settings.input = write("d.jsonl", "{\"q\": \"a\", \"context\": \"A\"}\n").string();
  EXPECT_THAT(error_of([&] { prepare_dataset(settings.options(dir_ / "out", "recipe", "data.")); }),
              HasSubstr("; set data.anchor_column: NAME to use another column"));
  settings.input =
      write("e.jsonl", "{\"question\": \"a\", \"context\": \"A\"}\n{\"question\": \"b\"}\n")
          .string();
  EXPECT_THAT(error_of([&] { prepare_dataset(settings.options(dir_ / "out", "recipe", "data.")); }),
              HasSubstr(":2: expected a column \"context\" (set by data.positive_column), found "
                        "columns \"question\"; fix the row or set data.skip_invalid: true"));
  settings.skip_invalid = true;
  settings.test_size = "1";
  EXPECT_THAT(error_of([&] { prepare_dataset(settings.options(dir_ / "out", "recipe", "data.")); }),
              HasSubstr("data.test_size 1 leaves no rows for training: expected a count below 1 "
                        "(the rows in the dataset), found 1; give a smaller data.test_size"));
  // prepare's own flags, as before.
  settings.input = write("f.jsonl", "{\"q\": \"a\", \"context\": \"A\"}\n").string();
  EXPECT_THAT(error_of([&] { prepare_dataset(settings.options(dir_ / "out", "prepare", "--")); }),
              HasSubstr("; pass --anchor-column NAME to use another column"));
}

TEST_F(PrepareTest, FormatOverrideAndJsonArray) {
  const auto input = write("data.txt",
                           "[{\"question\": \"a\", \"context\": \"A\"},\n"
                           " {\"question\": \"b\", \"context\": \"B\"}]\n");
  PrepareOptions o = options(input);
  EXPECT_THAT(error_of([&] { prepare_dataset(o); }), HasSubstr("pass --format"));
  o.format = DataFormat::kJson;
  o.test_size = TestSize::of_count(1);
  const PrepareSummary summary = prepare_dataset(o);
  EXPECT_EQ(summary.rows_read, 2u);
  EXPECT_EQ(summary.format, DataFormat::kJson);
}

}  // namespace
}  // namespace embedtune::data
