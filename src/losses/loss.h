// The training loss as configured: MultipleNegativesRankingLoss alone, or wrapped in
// MatryoshkaLoss.
//
// Letters: B rows in the batch, D the model's embedding dimension.
#pragma once

#include <ATen/Tensor.h>

#include <random>
#include <string>
#include <vector>

#include "losses/matryoshka_loss.h"
#include "losses/multiple_negatives_ranking_loss.h"

namespace embedtune {

struct LossConfig {
  std::string loss = "MatryoshkaLoss";  // or "MultipleNegativesRankingLoss"
  MatryoshkaLossConfig matryoshka;      // used only by "MatryoshkaLoss"
  double scale = 20.0;                  // MNRL scale = 1 / temperature
  SimilarityFunction similarity = SimilarityFunction::kCosine;

  // Checks the loss name and scale, and (for MatryoshkaLoss) validates `matryoshka` against the
  // model's embedding dimension (sorting its dims). Throws embedtune::Error on a bad setting.
  void validate(int64_t model_dim);
};

// The loss for one batch. `columns` are the model's FULL-size sentence embeddings, (B, D) each, of
// every column, one forward each: anchor, positive, negatives... MultipleNegativesRankingLoss is
// applied to them directly. MatryoshkaLoss: for each dim of the step (all, or a sample drawn from
// `rng` when n_dims_per_step > 0, see MatryoshkaLossConfig::dims_for_step), every column is
// shrunk (sliced to [:, :d], then L2-normalised, as sentence-transformers' ForwardDecorator does)
// and the inner MNRL is computed; the result is the sum of weight_d * loss_d (a sum, not a mean).
// The embeddings are shared by every dim, so the encoder runs once per column per batch.
// Returns a differentiable scalar. Throws embedtune::Error on an unknown loss name, fewer than
// 2 columns, mismatched shapes, or a dim larger than D. `config` must have been validated.
at::Tensor compute_loss(const LossConfig& config, const std::vector<at::Tensor>& columns,
                        std::mt19937_64& rng);

}  // namespace embedtune
