// The training loss as configured: MultipleNegativesRankingLoss or its cached (GradCache) form
// CachedMultipleNegativesRankingLoss, alone or wrapped in MatryoshkaLoss.
//
// Letters: B rows in the batch, D the model's embedding dimension.
#pragma once

#include <ATen/Tensor.h>

#include <random>
#include <string>
#include <vector>

#include "losses/gist_embed_loss.h"
#include "losses/matryoshka_loss.h"
#include "losses/multiple_negatives_ranking_loss.h"

namespace embedtune {

struct LossConfig {
  // "MatryoshkaLoss" (over inner_loss), "MultipleNegativesRankingLoss",
  // "CachedMultipleNegativesRankingLoss", "GISTEmbedLoss" or "CachedGISTEmbedLoss".
  std::string loss = "MatryoshkaLoss";
  // The loss inside MatryoshkaLoss: any of the four above. Must stay the default with any other
  // `loss`.
  std::string inner_loss = "MultipleNegativesRankingLoss";
  MatryoshkaLossConfig matryoshka;  // used only by "MatryoshkaLoss"
  double scale = 20.0;              // MNRL scale = 1 / temperature
  SimilarityFunction similarity = SimilarityFunction::kCosine;
  int64_t mini_batch_size = 32;  // rows per forward pass of the cached loss (ST's default)
  GistEmbedConfig gist;          // used only by GISTEmbedLoss (alone or inside MatryoshkaLoss)
  // MNRL / CachedMNRL in a data-parallel run: score the local anchors against every rank's
  // candidates (distributed::all_gather_with_grad), as ST's gather_across_devices. Alone it
  // changes nothing.
  bool gather_across_devices = false;

  // Checks the loss names, scale and mini_batch_size, and (for MatryoshkaLoss) validates
  // `matryoshka` against the model's embedding dimension (sorting its dims). Throws
  // embedtune::Error on a bad setting.
  void validate(int64_t model_dim);

  // Whether the loss is CachedMultipleNegativesRankingLoss or CachedGISTEmbedLoss, alone or inside
  // MatryoshkaLoss: then the trainer runs cached_loss_backward instead of compute_loss + backward.
  bool uses_gradient_cache() const;
  // Whether the loss is GISTEmbedLoss or CachedGISTEmbedLoss, alone or inside MatryoshkaLoss: the
  // loss then needs the guide model's embeddings of the batch.
  bool uses_guide() const;
};

// The loss for one batch. `columns` are the model's FULL-size sentence embeddings, (B, D) each, of
// every column, one forward each: anchor, positive, negatives... MultipleNegativesRankingLoss is
// applied to them directly. MatryoshkaLoss: for each dim of the step (all, or a sample drawn from
// `rng` when n_dims_per_step > 0, see MatryoshkaLossConfig::dims_for_step), every column is
// shrunk (sliced to [:, :d], then L2-normalised, as sentence-transformers' ForwardDecorator does)
// and the inner MNRL is computed; the result is the sum of weight_d * loss_d (a sum, not a mean).
// The embeddings are shared by every dim, so the encoder runs once per column per batch.
// CachedMultipleNegativesRankingLoss is the same function as MultipleNegativesRankingLoss (only
// the way its gradients are got differs, see cached_loss_backward), so it is computed as MNRL.
// Returns a differentiable scalar. Throws embedtune::Error on an unknown loss name, fewer than
// 2 columns, mismatched shapes, or a dim larger than D. `config` must have been validated.
// GISTEmbedLoss takes `guide_columns`, the guide's (B, G) embeddings of the same columns, full
// size for every Matryoshka dim (ST shrinks only the trained model's output); other losses ignore
// them. CachedGISTEmbedLoss is computed as GISTEmbedLoss (the same function).
at::Tensor compute_loss(const LossConfig& config, const std::vector<at::Tensor>& columns,
                        std::mt19937_64& rng, const std::vector<at::Tensor>& guide_columns = {});

}  // namespace embedtune
