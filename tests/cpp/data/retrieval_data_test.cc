// Tests of reading evaluation data: prepare's splits (the reference layout) and BEIR folders.
#include "data/retrieval_data.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "data/prepare.h"
#include "data_test_util.h"

namespace embedtune::data {
namespace {

using ::testing::ElementsAre;
using testing::error_of;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class RetrievalDataTest : public testing::TempDirTest {};

TEST_F(RetrievalDataTest, ReferenceLayoutCorpusIsTrainThenTest) {
  write("p/train.jsonl",
        "{\"id\":3,\"anchor\":\"q3\",\"positive\":\"c3\"}\n"
        "{\"id\":0,\"anchor\":\"q0\",\"positive\":\"c0\"}\n");
  write("p/test.jsonl",
        "{\"id\":2,\"anchor\":\"q2\",\"positive\":\"c2\"}\n"
        "{\"id\":\"x\",\"anchor\":\"qx\",\"positive\":\"cx\"}\n");
  const RetrievalData d = load_prepared_retrieval_data(dir_ / "p");
  EXPECT_THAT(d.corpus_ids, ElementsAre("3", "0", "2", "x"));
  EXPECT_THAT(d.corpus_texts, ElementsAre("c3", "c0", "c2", "cx"));
  EXPECT_THAT(d.query_ids, ElementsAre("2", "x"));
  EXPECT_THAT(d.query_texts, ElementsAre("q2", "qx"));
  ASSERT_EQ(d.relevant.size(), 2u);
  EXPECT_THAT(d.relevant.at("2"), ElementsAre("2"));
  EXPECT_THAT(d.relevant.at("x"), ElementsAre("x"));
}

TEST_F(RetrievalDataTest, ReferenceLayoutRoundTripsPrepare) {
  std::string text;
  for (int i = 0; i < 20; ++i)
    text += fmt::format("{{\"question\":\"q{}\",\"context\":\"c{}\"}}\n", i, i);
  PrepareOptions o;
  o.input = write("d.jsonl", text);
  o.output_dir = dir_ / "out";
  prepare_dataset(o);
  const RetrievalData d = load_prepared_retrieval_data(o.output_dir);
  EXPECT_EQ(d.corpus_ids.size(), 20u);
  EXPECT_EQ(d.query_ids.size(), 2u);  // ceil(0.1 * 20)
  for (std::size_t i = 0; i < d.query_ids.size(); ++i) {
    EXPECT_EQ(d.query_texts[i], "q" + d.query_ids[i]);
  }
}

TEST_F(RetrievalDataTest, ReferenceLayoutBadRows) {
  write("p/train.jsonl", "{\"id\":1,\"anchor\":\"a\",\"positive\":\"b\"}\n");
  const auto test = write("p/test.jsonl",
                          "{\"id\":2,\"anchor\":\"a\",\"positive\":\"b\"}\n"
                          "{\"id\":1,\"anchor\":\"a\",\"positive\":\"b\"}\n");
  EXPECT_THAT(error_of([&] { load_prepared_retrieval_data(dir_ / "p"); }),
              StartsWith(test.string() + ":2: column \"id\": expected a unique id across train and "
                                         "test, found \"1\" already used at "));
  write("p/test.jsonl", "{\"id\":2,\"anchor\":\"a\"}\n");
  EXPECT_THAT(
      error_of([&] { load_prepared_retrieval_data(dir_ / "p"); }),
      StartsWith(test.string() + ":1: expected a column \"positive\", found none; fix the row"));
  write("p/test.jsonl", "{\"id\":2,\"anchor\":5,\"positive\":\"b\"}\n");
  EXPECT_THAT(error_of([&] { load_prepared_retrieval_data(dir_ / "p"); }),
              HasSubstr("test.jsonl:1: column \"anchor\": expected a string, found number 5"));
}

TEST_F(RetrievalDataTest, BeirWithTitlesAndGradedQrels) {
  write("beir/corpus.jsonl",
        "{\"_id\": \"d1\", \"title\": \"Paris\", \"text\": \"Capital of France.\"}\n"
        "{\"_id\": \"d2\", \"title\": \"\", \"text\": \"  No title here. \"}\n"
        "{\"_id\": 3, \"text\": \"Integer id, no title key.\"}\n");
  write("beir/queries.jsonl",
        "{\"_id\": \"q1\", \"text\": \"capital of france\"}\n"
        "{\"_id\": \"q2\", \"text\": \"untitled\"}\n"
        "{\"_id\": \"q3\", \"text\": \"no judgements\"}\n"
        "{\"_id\": \"q4\", \"text\": \"only zero scores\"}\n");
  write("beir/qrels/test.tsv",
        "query-id\tcorpus-id\tscore\n"
        "q1\td1\t2\n"
        "q1\td2\t1\n"
        "q2\td2\t1\r\n"
        "q2\t3\t0\n"
        "q4\td1\t0\n");
  const RetrievalData d = load_beir_retrieval_data(dir_ / "beir");
  EXPECT_THAT(d.corpus_ids, ElementsAre("d1", "d2", "3"));
  // (title + " " + text).strip()
  EXPECT_THAT(d.corpus_texts, ElementsAre("Paris Capital of France.", "No title here.",
                                          "Integer id, no title key."));
  EXPECT_THAT(d.query_ids, ElementsAre("q1", "q2", "q3", "q4"));  // all kept
  EXPECT_THAT(d.relevant.at("q1"), ElementsAre("d1", "d2"));      // graded 2 and 1
  EXPECT_THAT(d.relevant.at("q2"), ElementsAre("d2"));            // score 0 is not relevant
  EXPECT_EQ(d.relevant.count("q3"), 0u);
  EXPECT_EQ(d.relevant.count("q4"), 0u);
}

TEST_F(RetrievalDataTest, BeirQrelsTsvBesideTheOthersWins) {
  write("b/corpus.jsonl", "{\"_id\": \"d1\", \"title\": \"\", \"text\": \"t\"}\n");
  write("b/queries.jsonl", "{\"_id\": \"q1\", \"text\": \"q\"}\n");
  write("b/qrels.tsv", "query-id\tcorpus-id\tscore\nq1\td1\t1\n");
  const RetrievalData d = load_beir_retrieval_data(dir_ / "b");
  EXPECT_THAT(d.relevant.at("q1"), ElementsAre("d1"));
}

TEST_F(RetrievalDataTest, BeirBadRows) {
  write("b/corpus.jsonl", "{\"_id\": \"d1\", \"title\": \"\", \"text\": \"t\"}\n");
  write("b/queries.jsonl", "{\"_id\": \"q1\", \"text\": \"q\"}\n");
  const auto qrels = write("b/qrels.tsv", "query-id\tcorpus-id\tscore\nq1\td1\thigh\n");
  EXPECT_THAT(error_of([&] { load_beir_retrieval_data(dir_ / "b"); }),
              StartsWith(qrels.string() + ":2: column \"score\": expected an integer, found "
                                          "\"high\"; fix the row"));
  write("b/qrels.tsv", "query-id\tcorpus-id\tscore\nq1\td1\n");
  EXPECT_THAT(error_of([&] { load_beir_retrieval_data(dir_ / "b"); }),
              HasSubstr("qrels.tsv:2: expected 3 tab-separated fields"));
  write("b/qrels.tsv", "q1\td1\t1\n");
  EXPECT_THAT(error_of([&] { load_beir_retrieval_data(dir_ / "b"); }),
              HasSubstr("qrels.tsv:1: expected the header \"query-id<TAB>corpus-id<TAB>score\""));
  write("b/qrels.tsv", "query-id\tcorpus-id\tscore\n\nq9\td1\t1\n");
  EXPECT_THAT(error_of([&] { load_beir_retrieval_data(dir_ / "b"); }),
              HasSubstr("qrels.tsv:3: column \"query-id\": expected an _id from queries.jsonl, "
                        "found \"q9\""));
  write("b/qrels.tsv", "query-id\tcorpus-id\tscore\nq1\td1\t1\n");
  const auto corpus = write(
      "b/corpus.jsonl", "{\"_id\": \"d1\", \"text\": \"t\"}\n{\"_id\": \"d1\", \"text\": \"u\"}\n");
  EXPECT_THAT(
      error_of([&] { load_beir_retrieval_data(dir_ / "b"); }),
      StartsWith(corpus.string() + ":2: column \"_id\": expected a unique id, found \"d1\""));
  write("b/corpus.jsonl", "{\"_id\": \"d1\", \"title\": 7, \"text\": \"t\"}\n");
  EXPECT_THAT(error_of([&] { load_beir_retrieval_data(dir_ / "b"); }),
              HasSubstr("corpus.jsonl:1: column \"title\": expected a string, found number 7"));
  write("b/corpus.jsonl", "{\"_id\": \"d1\", \"text\": \"t\"}\n");
  const auto queries = write("b/queries.jsonl", "{\"_id\": null, \"text\": \"q\"}\n");
  EXPECT_THAT(
      error_of([&] { load_beir_retrieval_data(dir_ / "b"); }),
      StartsWith(queries.string() + ":1: column \"_id\": expected an integer or a non-empty "
                                    "string, found null"));
}

TEST_F(RetrievalDataTest, BeirJudgedDocumentsMissingFromTheCorpusAreAnErrorUnlessAllowed) {
  // Integer _ids in the corpus, "doc"-prefixed ids in the qrels: every judgement misses.
  write("b/corpus.jsonl", "{\"_id\": 1, \"text\": \"t\"}\n{\"_id\": 2, \"text\": \"u\"}\n");
  write("b/queries.jsonl", "{\"_id\": \"q1\", \"text\": \"q\"}\n");
  const auto qrels =
      write("b/qrels.tsv", "query-id\tcorpus-id\tscore\nq1\tdoc1\t1\nq1\tdoc2\t0\nq1\t2\t1\n");
  EXPECT_THAT(error_of([&] { load_beir_retrieval_data(dir_ / "b"); }),
              StartsWith(qrels.string() + ":2: column \"corpus-id\": \"doc1\" is not an _id in " +
                         (dir_ / "b" / "corpus.jsonl").string() +
                         " (1 of 2 relevant judgements name documents the corpus lacks)"));
  const RetrievalData d = load_beir_retrieval_data(dir_ / "b", "test", true);
  EXPECT_THAT(d.relevant.at("q1"), ElementsAre("2", "doc1"));  // BEIR's counting, when asked
}

TEST_F(RetrievalDataTest, BeirEmptyCorpusOrQueriesAreNamed) {
  write("b/corpus.jsonl", "{\"_id\": \"d1\", \"text\": \"t\"}\n");
  const auto queries = write("b/queries.jsonl", "\n");
  write("b/qrels.tsv", "query-id\tcorpus-id\tscore\nq1\td1\t1\n");
  EXPECT_THAT(error_of([&] { load_beir_retrieval_data(dir_ / "b"); }),
              StartsWith(queries.string() + ": expected queries"));
  const auto corpus = write("b/corpus.jsonl", "");
  EXPECT_THAT(error_of([&] { load_beir_retrieval_data(dir_ / "b"); }),
              StartsWith(corpus.string() + ": expected documents"));
}

// Found by fuzz/fuzz_beir (fuzz/regressions/beir/): a repeated id went into the message as it
// is, so an id with a line break broke the one-line error. Prepared splits had the same message.
TEST_F(RetrievalDataTest, RepeatedIdIsQuotedInTheMessage) {
  const auto corpus = write("b/corpus.jsonl",
                            "{\"_id\": \"a\\nb\", \"text\": \"x\"}\n"
                            "{\"_id\": \"a\\nb\", \"text\": \"y\"}\n");
  write("b/queries.jsonl", "{\"_id\": \"q\", \"text\": \"q\"}\n");
  write("b/qrels.tsv", "query-id\tcorpus-id\tscore\n");
  std::string message = error_of([&] { load_beir_retrieval_data(dir_ / "b"); });
  EXPECT_THAT(message, StartsWith(corpus.string() + R"(:2: column "_id": expected a unique id, )"
                                                    R"(found "a\nb" already used at )"));
  EXPECT_EQ(message.find('\n'), std::string::npos);

  write("p/train.jsonl", "{\"id\": \"1\\r\", \"anchor\": \"a\", \"positive\": \"b\"}\n");
  const auto test =
      write("p/test.jsonl", "{\"id\": \"1\\r\", \"anchor\": \"a\", \"positive\": \"b\"}\n");
  message = error_of([&] { load_prepared_retrieval_data(dir_ / "p"); });
  EXPECT_THAT(message,
              StartsWith(test.string() + R"(:1: column "id": expected a unique id across )"
                                         R"(train and test, found "1\r" already used at )"));
  EXPECT_EQ(message.find('\r'), std::string::npos);
}

TEST_F(RetrievalDataTest, BeirMissingQrelsFile) {
  write("b/corpus.jsonl", "{\"_id\": \"d1\", \"text\": \"t\"}\n");
  write("b/queries.jsonl", "{\"_id\": \"q1\", \"text\": \"q\"}\n");
  EXPECT_THAT(error_of([&] { load_beir_retrieval_data(dir_ / "b"); }),
              HasSubstr("test.tsv: expected a readable file"));
}

}  // namespace
}  // namespace embedtune::data
