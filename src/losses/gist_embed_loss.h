// GISTEmbedLoss: MultipleNegativesRankingLoss whose in-batch negatives are filtered by a guide
// model, as sentence-transformers 6.2's GISTEmbedLoss (single device): a candidate the guide scores
// above the anchor's guided positive score (less a margin) is a likely false negative and is
// masked out of the softmax.
//
// Letters: B rows in the batch, D the model's embedding dimension, G the guide's.
#pragma once

#include <ATen/Tensor.h>

#include <string>
#include <vector>

namespace embedtune {

struct GistEmbedConfig {
  double temperature = 0.01;                 // scores are cosine / temperature
  std::string margin_strategy = "absolute";  // or "relative"
  double margin = 0.0;
  bool contrast_anchors = true;    // anchor-anchor similarities join the softmax
  bool contrast_positives = true;  // positive-positive similarities join the softmax

  // Throws embedtune::Error naming the key (prefixed by `where`) for a temperature <= 0 or an
  // unknown margin strategy.
  void validate(const std::string& where) const;
};

// The loss for one batch: `columns` are the model's embeddings (anchor, positive[, negative]), (B,
// D) each; `guide_columns` the guide's embeddings of the same texts, (B, G) each, computed without
// gradients. Scores are nn.CosineSimilarity over broadcast pairs, as ST computes them; masked
// entries are -inf; the loss is cross-entropy over cat(ap, aa, pp, an) / temperature with labels
// 0..B-1. Returns a differentiable scalar. Throws embedtune::Error for 1 or more than 3 columns, or
// guide columns that do not match.
at::Tensor gist_embed_loss(const GistEmbedConfig& config, const std::vector<at::Tensor>& columns,
                           const std::vector<at::Tensor>& guide_columns);

// CachedGISTEmbedLoss's step (2), as ST's CachedGISTEmbedLoss.calculate_loss(with_backward=True):
// the same loss over chunks of `mini_batch_size` anchors, each chunk scored against every
// candidate (anchor-positive, anchor-anchor, its positives against every positive, anchor-negative
// for each negative column), masked by the guide, its cross-entropy weighted by its share of the
// batch and back-propagated at once, so only an (M, B x parts) score block is alive. `columns` are
// leaves requiring grad (B, D) (anchor, positive, negatives...), `guide_columns` the guide's (B,
// G). Returns the summed loss without graph; the gradients land in the leaves' .grad. Throws
// embedtune::Error for fewer than 2 columns or guide columns that do not match.
at::Tensor chunked_gist_backward(const GistEmbedConfig& config, int64_t mini_batch_size,
                                 const std::vector<at::Tensor>& columns,
                                 const std::vector<at::Tensor>& guide_columns);

}  // namespace embedtune
