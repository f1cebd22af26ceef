// Baseline vs fine-tuned comparison per dimension: values, shares, rendering and errors.
#include "evaluation/compare.h"

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "evaluation_test_support.h"
#include "io/error.h"

namespace embedtune::evaluation {
namespace {

// The blog post's published NDCG@10 (bge-base-en-v1.5 on the financial RAG data).
const MetricList kBaseline = {
    {"dim_768_cosine_ndcg@10", 0.7684}, {"dim_512_cosine_ndcg@10", 0.7643},
    {"dim_256_cosine_ndcg@10", 0.7546}, {"dim_128_cosine_ndcg@10", 0.7234},
    {"dim_64_cosine_ndcg@10", 0.6440},  {"dim_64_cosine_mrr@10", 0.5},
    {"sequential_score", 0.6440}};
const MetricList kFinetuned = {{"eval_dim_64_cosine_ndcg@10", 0.7892},
                               {"eval_dim_128_cosine_ndcg@10", 0.8184},
                               {"eval_dim_256_cosine_ndcg@10", 0.8230},
                               {"eval_dim_512_cosine_ndcg@10", 0.8275},
                               {"eval_dim_768_cosine_ndcg@10", 0.8254}};

TEST(Compare, PerDimensionImprovementAndShareOfFullSize) {
  const Comparison c = compare_results(kBaseline, kFinetuned, "base.json", "ft.json");
  ASSERT_EQ(c.rows.size(), 5u);
  EXPECT_EQ(c.rows[0].dim, 768);
  EXPECT_EQ(c.rows[4].dim, 64);
  EXPECT_DOUBLE_EQ(c.rows[0].improvement, (0.8254 - 0.7684) / 0.7684);  // +7.4%
  EXPECT_DOUBLE_EQ(c.rows[4].improvement, (0.7892 - 0.6440) / 0.6440);  // +22.5%
  EXPECT_EQ(c.rows[0].baseline_share, 1.0);
  EXPECT_DOUBLE_EQ(c.rows[4].baseline_share, 0.6440 / 0.7684);
  EXPECT_DOUBLE_EQ(c.rows[4].finetuned_share, 0.7892 / 0.8254);
  EXPECT_TRUE(c.only_in_baseline.empty());
}

TEST(Compare, MarkdownAndText) {
  const Comparison c = compare_results(kBaseline, kFinetuned, "base.json", "ft.json");
  const std::string md = render_markdown(c);
  EXPECT_THAT(
      md,
      ::testing::StartsWith(
          "| Dimension | Baseline | Fine-tuned | Improvement | Baseline kept | Fine-tuned kept |\n"
          "|---:|---:|---:|---:|---:|---:|\n"
          "| 768 | 0.7684 | 0.8254 | +7.4% | 100.0% | 100.0% |\n"
          "| 512 | 0.7643 | 0.8275 | +8.3% | 99.5% | 100.3% |\n"));
  EXPECT_THAT(md, ::testing::HasSubstr("| 64 | 0.6440 | 0.7892 | +22.5% | 83.8% | 95.6% |\n"));
  const std::string text = render_text(c);
  EXPECT_THAT(text,
              ::testing::StartsWith("Dimension  Baseline  Fine-tuned  Improvement  Baseline kept  "
                                    "Fine-tuned kept\n"
                                    "      768    0.7684      0.8254        +7.4%         100.0%  "
                                    "         100.0%\n"));
}

TEST(Compare, DimensionsInOnlyOneFileAreListedNotCompared) {
  MetricList ft = {{"dim_768_cosine_ndcg@10", 0.8}, {"dim_32_cosine_ndcg@10", 0.5}};
  const Comparison c = compare_results(kBaseline, ft, "b", "f");
  ASSERT_EQ(c.rows.size(), 1u);
  EXPECT_THAT(c.only_in_baseline, ::testing::ElementsAre(64, 128, 256, 512));
  EXPECT_THAT(c.only_in_finetuned, ::testing::ElementsAre(32));
  EXPECT_THAT(render_markdown(c),
              ::testing::HasSubstr("Only in the fine-tuned results (not compared): 32"));
}

TEST(Compare, ZeroBaselineGivesNotApplicable) {
  const MetricList base = {{"dim_8_cosine_ndcg@10", 0.0}};
  const MetricList ft = {{"dim_8_cosine_ndcg@10", 0.5}};
  const Comparison c = compare_results(base, ft, "b", "f");
  EXPECT_TRUE(std::isnan(c.rows[0].improvement));
  EXPECT_THAT(render_text(c), ::testing::HasSubstr("n/a"));
}

TEST(Compare, ErrorsNameTheFile) {
  try {
    compare_results({{"accuracy", 1.0}}, kFinetuned, "base.json", "ft.json");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("base.json: no \"dim_<d>_cosine_ndcg@10\" key"));
  }
  try {
    compare_results({{"dim_1_cosine_ndcg@10", 1.0}}, kFinetuned, "base.json", "ft.json");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("no dimension in common"));
  }
}

TEST(Compare, FromFiles) {
  testing::ScratchDir dir;
  write_results_json(dir.path() / "b.json", kBaseline);
  write_results_json(dir.path() / "f.json", kFinetuned);
  const Comparison c = compare_result_files(dir.path() / "b.json", dir.path() / "f.json");
  EXPECT_EQ(c.rows.size(), 5u);
  EXPECT_THROW(compare_result_files(dir.path() / "b.json", dir.path() / "nope.json"), Error);
}

TEST(Compare, FrontierOrdersByBytesAndFindsTheSmallestSettingKeepingAShare) {
  // Full size: 64 dims float32 (256 bytes). Bytes: float32 4 d, int8 d, binary d / 8 rounded up.
  const MetricList base{{"dim_64_cosine_ndcg@10", 0.80},   {"dim_64_int8_ndcg@10", 0.796},
                        {"dim_64_binary_ndcg@10", 0.70},   {"dim_64_binary+rescore_ndcg@10", 0.79},
                        {"dim_20_cosine_ndcg@10", 0.78},   {"dim_20_binary+rescore_ndcg@10", 0.761},
                        {"eval_dim_20_int8_ndcg@10", 0.1}, {"dim_20_int8_ndcg@10", 0.77}};
  const MetricList tuned{{"dim_64_cosine_ndcg@10", 0.90}, {"dim_64_binary_ndcg@10", 0.89}};
  const Frontier f = compute_frontier(base, tuned, "b", "f");
  EXPECT_TRUE(f.quantized);
  EXPECT_EQ(f.full_dim, 64);
  std::vector<std::string> order;
  for (const auto& p : f.points)
    order.push_back(fmt::format("{}:{}:{}", p.dim, p.precision, p.bytes));
  EXPECT_EQ(order, (std::vector<std::string>{"20:binary+rescore:3", "64:binary:8",
                                             "64:binary+rescore:8", "20:int8:20", "64:int8:64",
                                             "20:float32:80", "64:float32:256"}));
  EXPECT_EQ(f.points[3].baseline, 0.77);  // the unprefixed key wins over "eval_"
  EXPECT_TRUE(std::isnan(f.points[0].finetuned));
  // Baseline: 99% of 0.80 = 0.792 -> 64 int8 (0.796, 64 bytes); 95% = 0.76 -> 20 binary+rescore.
  const FrontierPoint* p99 = smallest_keeping(f, 0.99, false);
  ASSERT_NE(p99, nullptr);
  EXPECT_EQ(p99->dim, 64);
  EXPECT_EQ(p99->precision, "int8");
  const FrontierPoint* p95 = smallest_keeping(f, 0.95, false);
  ASSERT_NE(p95, nullptr);
  EXPECT_EQ(p95->precision, "binary+rescore");
  EXPECT_EQ(p95->dim, 20);
  // Fine-tuned: binary at 64 keeps 98.9%: not 99%, but 95%.
  EXPECT_EQ(smallest_keeping(f, 0.99, true)->precision, "float32");
  EXPECT_EQ(smallest_keeping(f, 0.95, true)->precision, "binary");
  EXPECT_THAT(
      render_frontier_markdown(f),
      ::testing::HasSubstr("Smallest setting keeping 95% (baseline): 20 dims binary+rescore "
                           "(3 bytes, 0.7610)"));
  EXPECT_THROW(compute_frontier({{"dim_20_int8_ndcg@10", 0.5}}, tuned, "b.json", "f"), Error);
}

}  // namespace
}  // namespace embedtune::evaluation
