// Hand-computed cases for the per-query retrieval metrics and numpy's mean.
#include "evaluation/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace embedtune::evaluation {
namespace {

using Ids = std::vector<std::string>;

TEST(Metrics, SingleRelevantAtRankTwo) {
  const Ids hits{"a", "b", "c", "d"};
  const std::set<std::string> rel{"b"};
  EXPECT_EQ(accuracy_at_k(hits, rel, 1), 0.0);
  EXPECT_EQ(accuracy_at_k(hits, rel, 2), 1.0);
  EXPECT_EQ(precision_at_k(hits, rel, 1), 0.0);
  EXPECT_EQ(precision_at_k(hits, rel, 3), 1.0 / 3.0);
  EXPECT_EQ(recall_at_k(hits, rel, 3), 1.0);
  EXPECT_EQ(mrr_at_k(hits, rel, 10), 0.5);
  EXPECT_EQ(mrr_at_k(hits, rel, 1), 0.0);
  // DCG = 1 / log2(3); IDCG = 1 / log2(2) = 1.
  EXPECT_EQ(ndcg_at_k(hits, rel, 10), 1.0 / std::log2(3.0));
  EXPECT_DOUBLE_EQ(ndcg_at_k(hits, rel, 10), 0.6309297535714575);  // numpy: 1 / np.log2(3)
  EXPECT_EQ(map_at_k(hits, rel, 100), 0.5);
}

TEST(Metrics, SeveralRelevantDocuments) {
  // Relevant at ranks 1 and 3 (1-based) of 5 hits; 2 relevant in all.
  const Ids hits{"d0", "d1", "d2", "d3", "d4"};
  const std::set<std::string> rel{"d0", "d2"};
  EXPECT_EQ(precision_at_k(hits, rel, 1), 1.0);
  EXPECT_EQ(recall_at_k(hits, rel, 1), 0.5);
  EXPECT_EQ(precision_at_k(hits, rel, 3), 2.0 / 3.0);
  EXPECT_EQ(recall_at_k(hits, rel, 3), 1.0);
  EXPECT_EQ(mrr_at_k(hits, rel, 10), 1.0);
  // DCG = 1 + 1/log2(4) = 1.5; IDCG = 1 + 1/log2(3).
  EXPECT_DOUBLE_EQ(ndcg_at_k(hits, rel, 10),
                   0.9197207891481876);  // numpy: 1.5 / (1 + 1/np.log2(3))
  // AP = (1/1 + 2/3) / min(100, 2).
  EXPECT_DOUBLE_EQ(map_at_k(hits, rel, 100), 0.8333333333333333);
  // Cut-off below the second hit: AP@2 = (1/1) / min(2, 2).
  EXPECT_EQ(map_at_k(hits, rel, 2), 0.5);
  // NDCG@1 = 1 / 1: IDCG counts min(|rel|, k) = 1 ideal hit.
  EXPECT_EQ(ndcg_at_k(hits, rel, 1), 1.0);
}

TEST(Metrics, KLargerThanTheHitList) {
  // 3 hits (a corpus of 3), k = 10: precision still divides by k, as ST does.
  const Ids hits{"x", "y", "z"};
  const std::set<std::string> rel{"z"};
  EXPECT_EQ(precision_at_k(hits, rel, 10), 0.1);
  EXPECT_EQ(recall_at_k(hits, rel, 10), 1.0);
  EXPECT_EQ(accuracy_at_k(hits, rel, 10), 1.0);
  EXPECT_EQ(mrr_at_k(hits, rel, 10), 1.0 / 3.0);
  EXPECT_EQ(ndcg_at_k(hits, rel, 10), 0.5);  // 1/log2(4) / 1
  EXPECT_EQ(map_at_k(hits, rel, 100), 1.0 / 3.0);
}

TEST(Metrics, RelevantIdMissingFromTheCorpusCountsInTheDenominators) {
  const Ids hits{"a", "b"};
  const std::set<std::string> rel{"a", "not-in-corpus"};
  EXPECT_EQ(recall_at_k(hits, rel, 10), 0.5);
  EXPECT_EQ(map_at_k(hits, rel, 100), 0.5);  // 1 / min(100, 2)
  EXPECT_DOUBLE_EQ(ndcg_at_k(hits, rel, 10), 1.0 / (1.0 + 1.0 / std::log2(3.0)));
  EXPECT_EQ(map_at_k(hits, rel, 1), 1.0);  // 1 / min(1, 2)
}

TEST(Metrics, NoRelevantHit) {
  const Ids hits{"a", "b"};
  const std::set<std::string> rel{"c"};
  EXPECT_EQ(accuracy_at_k(hits, rel, 10), 0.0);
  EXPECT_EQ(mrr_at_k(hits, rel, 10), 0.0);
  EXPECT_EQ(ndcg_at_k(hits, rel, 10), 0.0);
  EXPECT_EQ(map_at_k(hits, rel, 100), 0.0);
  EXPECT_EQ(precision_at_k(Ids{}, rel, 5), 0.0);  // an empty corpus returns no hit at all
}

TEST(Metrics, DcgSumsLeftToRight) {
  const std::vector<int> rel{0, 1, 0, 1};
  EXPECT_EQ(dcg_at_k(rel, 4), 1.0 / std::log2(3.0) + 1.0 / std::log2(5.0));
  EXPECT_EQ(dcg_at_k(rel, 2), 1.0 / std::log2(3.0));
  EXPECT_EQ(dcg_at_k(rel, 0), 0.0);
}

// Expected values: float.hex(numpy.mean([1 / (i + 3) for i in range(n)])), numpy 2.4.
// Where numpy's pairwise sum and a plain running sum differ, the plain sum is shown too.
TEST(Metrics, NumpyMeanIsPairwiseAndBitExact) {
  auto values = [](int n) {
    std::vector<double> v;
    for (int i = 0; i < n; ++i) v.push_back(1.0 / (i + 3));
    return v;
  };
  EXPECT_EQ(numpy_mean(values(10)), 0x1.4856697935d47p-3);  // plain sum: ...d48p-3
  EXPECT_EQ(numpy_mean(values(17)), 0x1.ed628263e8f55p-4);  // plain sum: ...f53p-4
  EXPECT_EQ(numpy_mean(values(200)), 0x1.67761e713ecd3p-6);
  EXPECT_EQ(numpy_mean(values(1000)), 0x1.88650aab190e5p-8);
  EXPECT_EQ(numpy_mean(std::vector<double>{-0.0}), 0.0);
  EXPECT_FALSE(std::signbit(numpy_mean(std::vector<double>{-0.0})));
  EXPECT_TRUE(std::isnan(numpy_mean(std::vector<double>{})));
}

}  // namespace
}  // namespace embedtune::evaluation
