// Results JSON round trip, ST's CSV layout and float formatting, and the plain-text table.
#include "evaluation/results_io.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "evaluation_test_support.h"
#include "io/atomic_file.h"
#include "io/error.h"

namespace embedtune::evaluation {
namespace {

using testing::read_text;
using testing::ScratchDir;

// Expected strings: Python's repr() of the same floats (CPython 3.11).
TEST(ResultsIo, PythonFloatRepr) {
  const std::vector<std::pair<double, std::string>> cases = {
      {1.0, "1.0"},
      {0.1, "0.1"},
      {1e-4, "0.0001"},
      {1.5e-5, "1.5e-05"},
      {123456789012345.6, "123456789012345.6"},
      {1e16, "1e+16"},
      {1e15, "1000000000000000.0"},
      {1.2345e22, "1.2345e+22"},
      {-2.5e-7, "-2.5e-07"},
      {0.0, "0.0"},
      {-0.0, "-0.0"},
      {5e-324, "5e-324"},
      {1.7976931348623157e308, "1.7976931348623157e+308"},
      {0.1 + 0.2, "0.30000000000000004"},
      {100.0, "100.0"},
      {0.8233333333333334, "0.8233333333333334"},
      {std::numeric_limits<double>::infinity(), "inf"},
      {std::nan(""), "nan"},
  };
  for (const auto& [value, repr] : cases) EXPECT_EQ(python_float_repr(value), repr) << repr;
}

TEST(ResultsIo, CsvHeadersFollowSentenceTransformers) {
  IrEvaluatorConfig c;
  c.accuracy_at_k = {1, 3};
  c.precision_recall_at_k = {1, 5};
  c.score_functions = {"dot", "cosine"};  // the CSV sorts them
  EXPECT_THAT(ir_csv_headers(c),
              ::testing::ElementsAre("epoch", "steps", "cosine-Accuracy@1", "cosine-Accuracy@3",
                                     "cosine-Precision@1", "cosine-Recall@1", "cosine-Precision@5",
                                     "cosine-Recall@5", "cosine-MRR@10", "cosine-NDCG@10",
                                     "cosine-MAP@100", "dot-Accuracy@1", "dot-Accuracy@3",
                                     "dot-Precision@1", "dot-Recall@1", "dot-Precision@5",
                                     "dot-Recall@5", "dot-MRR@10", "dot-NDCG@10", "dot-MAP@100"));
  EXPECT_EQ(ir_csv_file_name("dim_64"), "Information-Retrieval_evaluation_dim_64_results.csv");
  EXPECT_EQ(ir_csv_file_name(""), "Information-Retrieval_evaluation_results.csv");
}

TEST(ResultsIo, CsvAppendsRowsAfterOneHeader) {
  IrEvaluatorConfig c;
  c.accuracy_at_k = {1};
  c.precision_recall_at_k = {1};
  c.mrr_at_k = {10};
  c.ndcg_at_k = {10};
  c.map_at_k = {100};
  c.name = "dim_8";
  const MetricList m = {{"dim_8_cosine_accuracy@1", 1.0}, {"dim_8_cosine_precision@1", 0.5},
                        {"dim_8_cosine_recall@1", 0.25},  {"dim_8_cosine_ndcg@10", 2.0 / 3},
                        {"dim_8_cosine_mrr@10", 1e-5},    {"dim_8_cosine_map@100", 0.0}};
  ScratchDir dir;
  append_ir_csv(dir.path() / "eval", c, m);
  append_ir_csv(dir.path() / "eval", c, m, 2, 150);
  EXPECT_EQ(read_text(dir.path() / "eval" / "Information-Retrieval_evaluation_dim_8_results.csv"),
            "epoch,steps,cosine-Accuracy@1,cosine-Precision@1,cosine-Recall@1,cosine-MRR@10,"
            "cosine-NDCG@10,cosine-MAP@100\n"
            "-1,-1,1.0,0.5,0.25,1e-05,0.6666666666666666,0.0\n"
            "2,150,1.0,0.5,0.25,1e-05,0.6666666666666666,0.0\n");
  c.name = "dim_4";
  EXPECT_THROW(append_ir_csv(dir.path(), c, m), Error);
  EXPECT_FALSE(
      std::filesystem::exists(dir.path() / "Information-Retrieval_evaluation_dim_4_results.csv"));
}

TEST(ResultsIo, JsonKeepsKeyOrderAndRoundTrips) {
  const MetricList m = {
      {"dim_64_cosine_ndcg@10", 0.25}, {"dim_32_cosine_ndcg@10", 0.1}, {"b", 1.0 / 3}};
  ScratchDir dir;
  write_results_json(dir.path() / "r.json", m);
  EXPECT_EQ(read_text(dir.path() / "r.json"),
            "{\n  \"dim_64_cosine_ndcg@10\": 0.25,\n  \"dim_32_cosine_ndcg@10\": 0.1,\n  \"b\": "
            "0.3333333333333333\n}\n");
  const MetricList back = read_results_json(dir.path() / "r.json");
  ASSERT_EQ(back.size(), 3u);
  for (const auto& [k, v] : m) {
    bool found = false;
    for (const auto& [k2, v2] : back) found |= k == k2 && v == v2;
    EXPECT_TRUE(found) << k;
  }
}

TEST(ResultsIo, ReadRejectsNonResults) {
  ScratchDir dir;
  io::write_file_atomic(dir.path() / "a.json", "[1, 2]");
  io::write_file_atomic(dir.path() / "b.json", "{\"x\": \"text\"}");
  try {
    read_results_json(dir.path() / "a.json");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("expected a JSON object of metric -> number (as "
                                               "`embedtune evaluate` writes), found a JSON array"));
  }
  try {
    read_results_json(dir.path() / "b.json");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(),
                ::testing::HasSubstr("key \"x\": expected a number, found a JSON string"));
  }
  EXPECT_THROW(read_results_json(dir.path() / "missing.json"), Error);
}

TEST(ResultsIo, MatryoshkaTableHasOneRowPerDimension) {
  const MetricList m = {{"dim_768_cosine_accuracy@1", 0.5},  {"dim_768_cosine_recall@10", 0.9},
                        {"dim_768_cosine_ndcg@10", 0.76841}, {"dim_768_cosine_mrr@10", 0.7},
                        {"dim_768_cosine_map@100", 0.71},    {"dim_64_cosine_ndcg@10", 0.644},
                        {"sequential_score", 0.644}};
  EXPECT_THAT(dims_in_results(m), ::testing::ElementsAre(768, 64));
  EXPECT_EQ(matryoshka_table(m),
            "dimension     ndcg@10      mrr@10     map@100   recall@10  accuracy@1\n"
            "      768      0.7684      0.7000      0.7100      0.9000      0.5000\n"
            "       64      0.6440           -           -           -           -\n");
}

}  // namespace
}  // namespace embedtune::evaluation
