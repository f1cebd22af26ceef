// Hand-computed retrieval cases on one-hot style embeddings (as sentence-transformers' own tests
// use): tie order, several relevant documents, k beyond the corpus, dropped queries, cosine vs
// dot, Matryoshka slicing, chunking invariance and input errors.
#include "evaluation/information_retrieval_evaluator.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "io/error.h"

namespace embedtune::evaluation {
namespace {

at::Tensor rows(std::vector<std::vector<float>> values) {
  const int64_t n = static_cast<int64_t>(values.size());
  const int64_t d = static_cast<int64_t>(values[0].size());
  at::Tensor t = at::empty({n, d}, at::kFloat);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < d; ++j) t[i][j] = values[i][j];
  }
  return t;
}

// Corpus positions 0..4 hold ids d3, d1, d2, d0, d4: id order differs from position order.
struct Fixture {
  at::Tensor corpus =
      rows({{1, 0, 0, 0}, {1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 0.5, 0}, {0.6, 0.8, 0, 0}});
  std::vector<std::string> corpus_ids{"d3", "d1", "d2", "d0", "d4"};
  at::Tensor queries = rows({{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}, {1, 0, 1, 0}});
  std::vector<std::string> query_ids{"qa", "qx", "qb", "qe", "qc"};
  // qx has no entry and qe an empty set: both dropped, as ST does.
  std::map<std::string, std::set<std::string>> relevant{
      {"qa", {"d3"}}, {"qb", {"d0", "d2"}}, {"qe", {}}, {"qc", {"d0", "nope"}}};
  IrEvaluatorConfig config() const {
    IrEvaluatorConfig c;
    c.accuracy_at_k = {1, 3};
    c.precision_recall_at_k = {1, 3, 10};
    c.mrr_at_k = {10};
    c.ndcg_at_k = {10};
    c.map_at_k = {100};
    c.score_functions = {"cosine", "dot"};
    c.name = "t";
    return c;
  }
};

std::vector<std::string> ids_of(const std::vector<int64_t>& idx,
                                const std::vector<std::string>& ids) {
  std::vector<std::string> out;
  for (int64_t i : idx) out.push_back(ids[i]);
  return out;
}

TEST(TopKHits, TiesGoToTheSmallerCorpusIdNotTheEarlierPosition) {
  Fixture f;
  // Cosine for [1,0,0,0]: d3 = d1 = 1 (tie), d4 = 0.6, d2 = d0 = 0 (tie).
  const auto hits =
      top_k_hits(f.queries.narrow(0, 0, 1), f.corpus, f.corpus_ids, "cosine", 10, 50000, 0);
  EXPECT_THAT(ids_of(hits[0], f.corpus_ids), ::testing::ElementsAre("d1", "d3", "d4", "d0", "d2"));
  // Same ranking with one corpus entry per chunk and a cut-off inside the tie.
  const auto small =
      top_k_hits(f.queries.narrow(0, 0, 1), f.corpus, f.corpus_ids, "cosine", 1, 1, 1);
  EXPECT_THAT(ids_of(small[0], f.corpus_ids), ::testing::ElementsAre("d1"));
}

TEST(TopKHits, LargeTieGroupAcrossChunksKeepsTheSmallestIds) {
  // 30 identical vectors, ids e29..e0 by position; the best 5 in Python str order are
  // e0, e1, e10, e11, e12, wherever they sit and however the corpus is chunked. 16 dimensions
  // keep every score exact (normalised entries 0.25): with inexact ones, float32 GEMM may round
  // identical columns differently by position (PyTorch's (1, 8) x (8, 7) product does), in ST too.
  std::vector<std::string> ids;
  for (int i = 29; i >= 0; --i) ids.push_back(fmt::format("e{}", i));
  const at::Tensor corpus = at::ones({30, 16});
  const at::Tensor query = at::ones({2, 16});
  for (int64_t chunk : {1, 4, 7, 30, 50000}) {
    for (const char* score : {"cosine", "dot"}) {
      const auto hits = top_k_hits(query, corpus, ids, score, 5, chunk, 1);
      EXPECT_THAT(ids_of(hits[1], ids), ::testing::ElementsAre("e0", "e1", "e10", "e11", "e12"))
          << "chunk " << chunk << " " << score;
    }
  }
}

TEST(EvaluateRetrieval, HandComputedMetricsCosineAndDot) {
  Fixture f;
  const IrResults r =
      evaluate_retrieval(f.queries, f.corpus, f.query_ids, f.corpus_ids, f.relevant, f.config());
  const double l3 = std::log2(3.0), l5 = std::log2(5.0);
  // Rankings (queries qa, qb, qc; qx and qe dropped):
  //   cosine: qa d1 d3 d4 d0 d2 | qb d0 d1 d2 d3 d4 | qc d0 d1 d3 (tied) d4 d2
  //   dot:    qa d1 d3 d4 d0 d2 | qb d0 d1 d2 d3 d4 | qc d1 d3 d4 d0 d2 (d0 has norm 0.5)
  // qc's relevant set holds "nope", absent from the corpus: |relevant| = 2.
  const std::vector<std::pair<std::string, double>> expected = {
      {"t_cosine_accuracy@1", 2.0 / 3},
      {"t_cosine_accuracy@3", 3.0 / 3},
      {"t_cosine_precision@1", (0.0 + 1 + 1) / 3},
      {"t_cosine_precision@3", (1.0 / 3 + 2.0 / 3 + 1.0 / 3) / 3},
      {"t_cosine_precision@10", (0.1 + 0.2 + 0.1) / 3},  // k = 10 > corpus 5: still / 10
      {"t_cosine_recall@1", (0.0 + 0.5 + 0.5) / 3},
      {"t_cosine_recall@3", (1.0 + 1 + 0.5) / 3},
      {"t_cosine_recall@10", (1.0 + 1 + 0.5) / 3},
      {"t_cosine_ndcg@10", (1 / l3 + 1.5 / (1 + 1 / l3) + 1 / (1 + 1 / l3)) / 3},
      {"t_cosine_mrr@10", (0.5 + 1 + 1) / 3},
      {"t_cosine_map@100", (0.5 + (1 + 2.0 / 3) / 2 + 0.5) / 3},
      {"t_dot_accuracy@1", 1.0 / 3},
      {"t_dot_accuracy@3", 2.0 / 3},
      {"t_dot_precision@1", (0.0 + 1 + 0) / 3},
      {"t_dot_precision@3", (1.0 / 3 + 2.0 / 3 + 0) / 3},
      {"t_dot_precision@10", (0.1 + 0.2 + 0.1) / 3},
      {"t_dot_recall@1", (0.0 + 0.5 + 0) / 3},
      {"t_dot_recall@3", (1.0 + 1 + 0) / 3},
      {"t_dot_recall@10", (1.0 + 1 + 0.5) / 3},
      {"t_dot_ndcg@10", (1 / l3 + 1.5 / (1 + 1 / l3) + (1 / l5) / (1 + 1 / l3)) / 3},
      {"t_dot_mrr@10", (0.5 + 1 + 0.25) / 3},
      {"t_dot_map@100", (0.5 + (1 + 2.0 / 3) / 2 + 0.25 / 2) / 3},
  };
  ASSERT_EQ(r.metrics.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(r.metrics[i].first, expected[i].first);
    EXPECT_NEAR(r.metrics[i].second, expected[i].second, 1e-12) << expected[i].first;
  }
  EXPECT_EQ(r.primary_metric, "t_cosine_ndcg@10");
  EXPECT_EQ(r.primary_score(), r.at("t_cosine_ndcg@10"));
}

TEST(EvaluateRetrieval, PrimaryMetricTieGoesToTheSortedFirstScoreFunction) {
  Fixture f;
  IrEvaluatorConfig c = f.config();
  c.score_functions = {"dot", "cosine"};
  c.name = "";
  // Only qa and qb: identical rankings under both scores, so ndcg ties.
  const std::map<std::string, std::set<std::string>> rel{{"qa", {"d3"}}, {"qb", {"d0", "d2"}}};
  const IrResults r = evaluate_retrieval(f.queries, f.corpus, f.query_ids, f.corpus_ids, rel, c);
  EXPECT_EQ(r.metrics.front().first, "dot_accuracy@1");  // results follow the configured order
  EXPECT_EQ(r.primary_metric, "cosine_ndcg@10");
  c.main_score_function = "dot";
  EXPECT_EQ(
      evaluate_retrieval(f.queries, f.corpus, f.query_ids, f.corpus_ids, rel, c).primary_metric,
      "dot_ndcg@10");
}

TEST(EvaluateRetrieval, SameResultsForEveryChunking) {
  Fixture f;
  const IrResults ref =
      evaluate_retrieval(f.queries, f.corpus, f.query_ids, f.corpus_ids, f.relevant, f.config());
  for (int64_t corpus_chunk : {1, 2, 3}) {
    for (int64_t query_chunk : {1, 2}) {
      IrEvaluatorConfig c = f.config();
      c.corpus_chunk_size = corpus_chunk;
      c.query_chunk_size = query_chunk;
      const IrResults r =
          evaluate_retrieval(f.queries, f.corpus, f.query_ids, f.corpus_ids, f.relevant, c);
      EXPECT_EQ(r.metrics, ref.metrics) << corpus_chunk << "x" << query_chunk;
    }
  }
}

TEST(EvaluateMatryoshka, SlicesWithoutRenormalisingAndNamesEachDimension) {
  // At dim 2: query [1, 0.1]; a = [0.3, 0] (relevant), b = [0.5, 0.5].
  // dot ranks b (0.55) above a (0.3): MRR 1/2; re-normalised slices would rank a first.
  // cosine ranks a (0.995) above b (0.774). At dim 4 the third component puts a first for both.
  const at::Tensor query = rows({{1, 0.1f, 1, 0}});
  const at::Tensor corpus = rows({{0.3f, 0, 5, 0}, {0.5f, 0.5f, 0, 0}});
  const std::vector<std::string> qids{"q"}, cids{"a", "b"};
  const std::map<std::string, std::set<std::string>> rel{{"q", {"a"}}};
  IrEvaluatorConfig base;
  base.score_functions = {"dot", "cosine"};
  const IrResults r = evaluate_matryoshka(query, corpus, qids, cids, rel, {4, 2}, base);
  EXPECT_EQ(r.at("dim_4_dot_mrr@10"), 1.0);
  EXPECT_EQ(r.at("dim_4_cosine_mrr@10"), 1.0);
  EXPECT_EQ(r.at("dim_2_dot_mrr@10"), 0.5);
  EXPECT_EQ(r.at("dim_2_cosine_mrr@10"), 1.0);
  EXPECT_EQ(r.metrics.front().first, "dim_4_dot_accuracy@1");
  EXPECT_EQ(r.metrics.back().first, "sequential_score");
  EXPECT_EQ(r.metrics.size(), 2 * 2 * 15 + 1u);  // 15 default metrics per score function
  // The last evaluator's primary metric: cosine (ndcg 1 > dot's 1/log2(3)).
  EXPECT_EQ(r.metrics.back().second, 1.0);
  EXPECT_EQ(r.primary_metric, "sequential_score");
  base.name = "val";
  EXPECT_EQ(evaluate_matryoshka(query, corpus, qids, cids, rel, {2}, base).metrics.front().first,
            "val_dim_2_dot_accuracy@1");
}

// Random embeddings whose scores are exact in float32 whatever the summation order (entries
// +-1 in 64 dimensions: every dot product and, after normalising by 8, every cosine is exact),
// with many duplicates, so ties are everywhere and chunking must not change anything.
TEST(EvaluateRetrieval, ChunkingInvariantOnTieHeavyData) {
  std::mt19937 rng(7);
  const int64_t n_corpus = 500, n_query = 40, dim = 64;
  at::Tensor corpus = at::empty({n_corpus, dim}, at::kFloat);
  at::Tensor query = at::empty({n_query, dim}, at::kFloat);
  auto sign = [&] { return (rng() & 1) ? 1.0f : -1.0f; };
  auto* c = corpus.data_ptr<float>();
  for (int64_t i = 0; i < n_corpus * dim; ++i) c[i] = sign();
  for (int i = 0; i < 200; ++i) corpus[rng() % n_corpus].copy_(corpus[rng() % n_corpus]);
  auto* q = query.data_ptr<float>();
  for (int64_t i = 0; i < n_query * dim; ++i) q[i] = sign();
  for (int i = 0; i < 10; ++i) query[i].copy_(corpus[rng() % n_corpus]);
  std::vector<std::string> cids, qids;
  std::vector<int> perm(n_corpus);
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), rng);
  for (int64_t i = 0; i < n_corpus; ++i) cids.push_back(fmt::format("c{}", perm[i]));
  std::map<std::string, std::set<std::string>> rel;
  for (int64_t i = 0; i < n_query; ++i) {
    qids.push_back(fmt::format("q{}", i));
    for (int j = 0; j < 1 + static_cast<int>(i % 3); ++j)
      rel[qids.back()].insert(cids[rng() % n_corpus]);
  }
  IrEvaluatorConfig config;
  config.score_functions = {"cosine", "dot"};
  const IrResults ref = evaluate_retrieval(query, corpus, qids, cids, rel, config);
  for (int64_t corpus_chunk : {7, 100, 50000}) {
    for (int64_t query_chunk : {0, 1, 3, 16}) {
      config.corpus_chunk_size = corpus_chunk;
      config.query_chunk_size = query_chunk;
      EXPECT_EQ(evaluate_retrieval(query, corpus, qids, cids, rel, config).metrics, ref.metrics)
          << "corpus chunk " << corpus_chunk << ", query chunk " << query_chunk;
    }
  }
}

TEST(EvaluateRetrieval, RejectsBadInputWithOneLineErrors) {
  Fixture f;
  const auto c = f.config();
  auto message = [&](auto&& call) {
    try {
      call();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  using ::testing::HasSubstr;
  EXPECT_THAT(message([&] {
                evaluate_retrieval(f.queries.narrow(0, 0, 4), f.corpus, f.query_ids, f.corpus_ids,
                                   f.relevant, c);
              }),
              HasSubstr("query_embeddings has 4 rows but query_ids has 5 ids"));
  auto dup = f.corpus_ids;
  dup[4] = "d3";
  EXPECT_THAT(
      message([&] { evaluate_retrieval(f.queries, f.corpus, f.query_ids, dup, f.relevant, c); }),
      HasSubstr("corpus id 'd3' appears more than once"));
  at::Tensor nan_corpus = f.corpus.clone();
  nan_corpus[2][1] = std::nanf("");
  EXPECT_THAT(message([&] {
                evaluate_retrieval(f.queries, nan_corpus, f.query_ids, f.corpus_ids, f.relevant, c);
              }),
              HasSubstr("corpus_embeddings row 2 holds NaN"));
  EXPECT_THAT(
      message([&] { evaluate_retrieval(f.queries, f.corpus, f.query_ids, f.corpus_ids, {}, c); }),
      HasSubstr(
          "expected a query with a relevant document in the qrels, found none (5 queries read)"));
  EXPECT_THAT(message([&] {
                evaluate_retrieval(f.queries.narrow(1, 0, 3), f.corpus, f.query_ids, f.corpus_ids,
                                   f.relevant, c);
              }),
              HasSubstr("3 dimensions but corpus embeddings 4"));
  EXPECT_THAT(message([&] {
                evaluate_retrieval(f.queries.to(at::kDouble), f.corpus, f.query_ids, f.corpus_ids,
                                   f.relevant, c);
              }),
              HasSubstr("must be a 2-D float32 tensor"));
  IrEvaluatorConfig bad = c;
  bad.ndcg_at_k = {10, 10};
  EXPECT_THAT(message([&] { bad.validate(); }), HasSubstr("ndcg_at_k: k = 10 appears twice"));
  bad = c;
  bad.score_functions = {"euclidean"};
  EXPECT_THAT(message([&] { bad.validate(); }), HasSubstr("unknown score function \"euclidean\""));
  bad = c;
  bad.map_at_k = {0};
  EXPECT_THAT(message([&] { bad.validate(); }),
              HasSubstr("map_at_k: expected every k >= 1, found 0"));
  bad = c;
  bad.corpus_chunk_size = 0;
  EXPECT_THAT(message([&] { bad.validate(); }), HasSubstr("corpus_chunk_size: expected >= 1"));
  EXPECT_THAT(message([&] {
                evaluate_matryoshka(f.queries, f.corpus, f.query_ids, f.corpus_ids, f.relevant,
                                    {4, 8}, c);
              }),
              HasSubstr("dimension 8 is outside 1..4"));
  EXPECT_THAT(message([&] { IrResults{}.at("x"); }), HasSubstr("no metric \"x\""));
}

}  // namespace
}  // namespace embedtune::evaluation
