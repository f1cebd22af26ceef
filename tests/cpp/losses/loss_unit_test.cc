// Hand-computed cases for MNRL and shrink(), MatryoshkaLossConfig validation and dim sampling,
// the cached loss's embedding gradients against autograd through the plain loss, generator
// snapshots, and the one-line errors for bad settings.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "io/error.h"
#include "losses/cached_multiple_negatives_ranking_loss.h"
#include "losses/loss.h"
#include "test_support.h"

namespace embedtune {
namespace {
using testing::error_of;

TEST(MultipleNegativesRankingLoss, HandComputedCosine) {
  const at::Tensor anchors = at::tensor({1.f, 0.f, 0.f, 2.f}).view({2, 2});
  const at::Tensor positives = at::tensor({3.f, 3.f, 0.f, 1.f}).view({2, 2});
  const double r = 1.0 / std::sqrt(2.0);
  // cos: row 0 -> (r, 0), row 1 -> (r, 1); scale 1.
  const double row0 = std::log(std::exp(r) + std::exp(0.0)) - r;
  const double row1 = std::log(std::exp(r) + std::exp(1.0)) - 1.0;
  const at::Tensor loss = multiple_negatives_ranking_loss(anchors, {positives}, 1.0);
  EXPECT_NEAR(loss.item<double>(), (row0 + row1) / 2, 1e-6);
}

TEST(MultipleNegativesRankingLoss, HardNegativesJoinTheCandidates) {
  const at::Tensor anchors = at::tensor({1.f, 0.f, 0.f, 1.f}).view({2, 2});
  const at::Tensor positives = at::tensor({1.f, 0.f, 0.f, 1.f}).view({2, 2});
  const at::Tensor negatives = at::tensor({1.f, 1.f, -1.f, 0.f}).view({2, 2});
  const double r = 1.0 / std::sqrt(2.0);
  // dot, scale 2: scores row 0 = 2 * (1, 0, 1, -1), row 1 = 2 * (0, 1, 1, 0).
  const double row0 = std::log(std::exp(2.0) + 1 + std::exp(2.0) + std::exp(-2.0)) - 2.0;
  const double row1 = std::log(1 + std::exp(2.0) + std::exp(2.0) + 1) - 2.0;
  const at::Tensor dot = multiple_negatives_ranking_loss(anchors, {positives, negatives}, 2.0,
                                                         SimilarityFunction::kDot);
  EXPECT_NEAR(dot.item<double>(), (row0 + row1) / 2, 1e-6);
  // cos, scale 1: negatives normalise to (r, r) and (-1, 0).
  const double c0 = std::log(std::exp(1.0) + 1 + std::exp(r) + std::exp(-1.0)) - 1.0;
  const double c1 = std::log(1 + std::exp(1.0) + std::exp(r) + 1) - 1.0;
  const at::Tensor cos = multiple_negatives_ranking_loss(anchors, {positives, negatives}, 1.0);
  EXPECT_NEAR(cos.item<double>(), (c0 + c1) / 2, 1e-6);
}

TEST(Shrink, SlicesThenNormalises) {
  const at::Tensor x = at::tensor({3.f, 4.f, 100.f, 0.f, 0.f, 7.f}).view({2, 3});
  const at::Tensor y = shrink(x, 2);
  EXPECT_TRUE(at::allclose(
      y, at::tensor({0.6f, 0.8f, 0.f, 0.f}).view({2, 2})));  // zero row stays zero (eps)
  EXPECT_NE(error_of([&] { shrink(x, 4); }).find("dimension 3"), std::string::npos);
}

TEST(MatryoshkaLoss, SumOfWeightedInnerLossesOverShrunkColumns) {
  at::manual_seed(3);
  const at::Tensor a = at::randn({5, 8}), p = at::randn({5, 8}), n = at::randn({5, 8});
  LossConfig config;
  config.matryoshka.dims = {2, 8, 4};
  config.matryoshka.weights = {0.5, 1.0, 3.0};
  config.validate(8);
  EXPECT_EQ(config.matryoshka.dims, (std::vector<int64_t>{8, 4, 2}));
  EXPECT_EQ(config.matryoshka.weights, (std::vector<double>{1.0, 3.0, 0.5}));
  std::mt19937_64 rng(1);
  const double got = compute_loss(config, {a, p, n}, rng).item<double>();
  double want = 0.0;
  for (size_t i = 0; i < 3; ++i) {
    const int64_t d = config.matryoshka.dims[i];
    want +=
        config.matryoshka.weights[i] *
        multiple_negatives_ranking_loss(shrink(a, d), {shrink(p, d), shrink(n, d)}).item<double>();
  }
  EXPECT_NEAR(got, want, 1e-5);
  config.loss = "MultipleNegativesRankingLoss";
  EXPECT_NEAR(compute_loss(config, {a, p, n}, rng).item<double>(),
              multiple_negatives_ranking_loss(a, {p, n}).item<double>(), 1e-6);
}

TEST(MatryoshkaLoss, SampledDimsAreDistinctSortedAndCoverAll) {
  MatryoshkaLossConfig config;
  config.dims = {64, 32, 16, 8};
  config.n_dims_per_step = 2;
  config.validate(64);
  std::mt19937_64 rng(7);
  std::set<size_t> seen;
  for (int step = 0; step < 200; ++step) {
    const auto picked = config.dims_for_step(rng);
    ASSERT_EQ(picked.size(), 2u);
    EXPECT_LT(picked[0], picked[1]);
    seen.insert(picked.begin(), picked.end());
  }
  EXPECT_EQ(seen.size(), 4u);
  config.n_dims_per_step = -1;
  EXPECT_EQ(config.dims_for_step(rng), (std::vector<size_t>{0, 1, 2, 3}));
}

TEST(CachedMultipleNegativesRankingLoss, ChunkedLossAndGradientsAreThoseOfThePlainLoss) {
  at::manual_seed(5);
  const std::vector<at::Tensor> columns = {at::randn({7, 8}), at::randn({7, 8}), at::randn({7, 8})};
  for (const std::string loss : {"CachedMultipleNegativesRankingLoss", "MatryoshkaLoss"}) {
    for (const auto similarity : {SimilarityFunction::kCosine, SimilarityFunction::kDot}) {
      for (const int64_t mini_batch_size : {1, 3, 7, 32}) {
        LossConfig cached;
        cached.loss = loss;
        if (loss == "MatryoshkaLoss") cached.inner_loss = "CachedMultipleNegativesRankingLoss";
        cached.similarity = similarity;
        cached.scale = similarity == SimilarityFunction::kDot ? 1.0 : 20.0;
        cached.mini_batch_size = mini_batch_size;
        cached.matryoshka.dims = {2, 8, 4};
        cached.matryoshka.weights = {0.5, 1.0, 3.0};
        cached.validate(8);
        ASSERT_TRUE(cached.uses_gradient_cache());
        LossConfig plain = cached;
        plain.loss = loss == "MatryoshkaLoss" ? loss : "MultipleNegativesRankingLoss";
        plain.inner_loss = "MultipleNegativesRankingLoss";
        ASSERT_FALSE(plain.uses_gradient_cache());

        std::vector<at::Tensor> leaves;
        for (const at::Tensor& c : columns) leaves.push_back(c.clone().requires_grad_(true));
        std::mt19937_64 rng_plain(1), rng_cached(1);
        const at::Tensor want = compute_loss(plain, leaves, rng_plain);
        want.backward();
        const CachedLossGradients got = cached_loss_gradients(cached, columns, rng_cached);
        EXPECT_FALSE(got.loss.requires_grad());
        EXPECT_NEAR(got.loss.item<double>(), want.item<double>(), 1e-5) << loss;
        ASSERT_EQ(got.gradients.size(), columns.size());
        for (size_t c = 0; c < columns.size(); ++c) {
          EXPECT_LT((got.gradients[c] - leaves[c].grad()).abs().max().item<double>(), 1e-5)
              << loss << ", mini_batch_size " << mini_batch_size << ", column " << c;
        }
      }
    }
  }
}

// ST's CachedGISTEmbedLoss computes GISTEmbedLoss chunk by chunk: the same loss and gradients.
TEST(CachedGISTEmbedLoss, ChunkedLossAndGradientsAreThoseOfGistEmbedLoss) {
  at::manual_seed(6);
  const std::vector<at::Tensor> columns = {at::randn({7, 8}), at::randn({7, 8}), at::randn({7, 8})};
  // A guide that agrees with the model only roughly, so that some candidates are masked.
  std::vector<at::Tensor> guide;
  for (const at::Tensor& c : columns) guide.push_back(c.narrow(1, 0, 6) + 0.5 * at::randn({7, 6}));
  for (const std::string loss : {"CachedGISTEmbedLoss", "MatryoshkaLoss"}) {
    for (const size_t used_columns : {2, 3}) {
      for (const int64_t mini_batch_size : {1, 3, 7, 32}) {
        LossConfig cached;
        cached.loss = loss;
        if (loss == "MatryoshkaLoss") cached.inner_loss = "CachedGISTEmbedLoss";
        cached.mini_batch_size = mini_batch_size;
        cached.gist.margin_strategy = "relative";
        cached.gist.margin = 0.05;
        cached.matryoshka.dims = {2, 8, 4};
        cached.matryoshka.weights = {0.5, 1.0, 3.0};
        cached.validate(8);
        ASSERT_TRUE(cached.uses_gradient_cache() && cached.uses_guide());
        LossConfig plain = cached;
        plain.loss = loss == "MatryoshkaLoss" ? loss : "GISTEmbedLoss";
        plain.inner_loss = loss == "MatryoshkaLoss" ? "GISTEmbedLoss" : plain.inner_loss;
        ASSERT_FALSE(plain.uses_gradient_cache());

        const std::vector<at::Tensor> used(columns.begin(), columns.begin() + used_columns);
        const std::vector<at::Tensor> used_guide(guide.begin(), guide.begin() + used_columns);
        std::vector<at::Tensor> leaves;
        for (const at::Tensor& c : used) leaves.push_back(c.clone().requires_grad_(true));
        std::mt19937_64 rng_plain(1), rng_cached(1);
        const at::Tensor want = compute_loss(plain, leaves, rng_plain, used_guide);
        want.backward();
        const CachedLossGradients got = cached_loss_gradients(cached, used, rng_cached, used_guide);
        // Temperature 0.01 makes the loss large (~100): float32 sums in another order differ by
        // a few ulps of it.
        EXPECT_NEAR(got.loss.item<double>(), want.item<double>(),
                    1e-5 + 1e-6 * std::abs(want.item<double>()))
            << loss;
        for (size_t c = 0; c < used.size(); ++c) {
          EXPECT_LT((got.gradients[c] - leaves[c].grad()).abs().max().item<double>(), 1e-5)
              << loss << ", mini_batch_size " << mini_batch_size << ", column " << c;
        }
      }
    }
  }
}

TEST(RngSnapshot, RestoreReplaysTheDraws) {
  at::manual_seed(9);
  const RngSnapshot before = RngSnapshot::capture(at::Device(at::kCPU));
  const at::Tensor first = at::rand({16});
  const at::Tensor second = at::rand({16});
  before.restore();
  EXPECT_TRUE(at::equal(at::rand({16}), first));
  EXPECT_TRUE(at::equal(at::rand({16}), second));
}

TEST(LossSettings, BadValuesGiveOneLineErrors) {
  auto check = [](const std::function<void()>& f, const std::string& needle) {
    const std::string message = error_of(f);
    EXPECT_NE(message.find(needle), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  };
  check(
      [] {
        MatryoshkaLossConfig c{{384, 128}, {}};
        c.validate(64);
      },
      "dimension 384 is larger than the model's "
      "embedding dimension 64");
  check(
      [] {
        MatryoshkaLossConfig c{{64, 32}, {1.0}};
        c.validate(64);
      },
      "one weight per dimension (2 dims), found 1");
  check(
      [] {
        MatryoshkaLossConfig c{{}, {}};
        c.validate(64);
      },
      "at least one dimension");
  check(
      [] {
        MatryoshkaLossConfig c{{64, 0}, {}};
        c.validate(64);
      },
      ">= 1, found 0");
  check(
      [] {
        MatryoshkaLossConfig c{{64, 32}, {}, 0};
        c.validate(64);
      },
      "n_dims_per_step");
  check(
      [] {
        MatryoshkaLossConfig c{{64, 32}, {}, 3};
        c.validate(64);
      },
      "n_dims_per_step");
  check([] { parse_similarity("euclidean"); }, "found 'euclidean'");
  check(
      [] {
        LossConfig c;
        c.loss = "TripletLoss";
        c.validate(64);
      },
      "found 'TripletLoss'");
  check(
      [] {
        LossConfig c;
        c.scale = 0;
        c.validate(64);
      },
      "scale");
  check(
      [] {
        LossConfig c;
        c.loss = "MultipleNegativesRankingLoss";
        std::mt19937_64 rng;
        compute_loss(c, {at::zeros({2, 4})}, rng);
      },
      "at least 2 columns");
  check([] { multiple_negatives_ranking_loss(at::zeros({2, 4}), {at::zeros({3, 4})}); },
        "candidate column 1");
  check(
      [] {
        LossConfig c;
        c.loss = "CachedMultipleNegativesRankingLoss";
        c.mini_batch_size = 0;
        c.validate(64);
      },
      "mini_batch_size: expected an integer >= 1");
  check(
      [] {
        LossConfig c;
        c.inner_loss = "CachedMNRL";
        c.validate(64);
      },
      "inner_loss: expected MultipleNegativesRankingLoss, CachedMultipleNegativesRankingLoss, "
      "GISTEmbedLoss or CachedGISTEmbedLoss, found 'CachedMNRL'");
  check(
      [] {
        LossConfig c;
        c.loss = "MultipleNegativesRankingLoss";
        c.inner_loss = "CachedMultipleNegativesRankingLoss";
        c.validate(64);
      },
      "applies only inside MatryoshkaLoss");
  check(
      [] {
        LossConfig c;
        c.loss = "CachedMultipleNegativesRankingLoss";
        std::mt19937_64 rng;
        cached_loss_gradients(c, {at::zeros({2, 4}), at::zeros({3, 4})}, rng);
      },
      "column 1 has shape [3, 4]");
  EXPECT_EQ(parse_similarity("cosine"), SimilarityFunction::kCosine);
  EXPECT_EQ(parse_similarity("dot_score"), SimilarityFunction::kDot);
}

}  // namespace
}  // namespace embedtune
