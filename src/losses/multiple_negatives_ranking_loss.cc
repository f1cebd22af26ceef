// MultipleNegativesRankingLoss: similarity matrix, temperature scale and in-batch cross-entropy.
#include "losses/multiple_negatives_ranking_loss.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/nn/functional/normalization.h>

#include "io/error.h"

namespace embedtune {

SimilarityFunction parse_similarity(const std::string& name) {
  if (name == "cos_sim" || name == "cosine") return SimilarityFunction::kCosine;
  if (name == "dot_score" || name == "dot") return SimilarityFunction::kDot;
  fail(
      "similarity function: expected one of cos_sim, cosine, dot_score, dot; found '{}'; "
      "use cos_sim (the sentence-transformers default) or dot_score",
      name);
}

std::string similarity_name(SimilarityFunction similarity) {
  return similarity == SimilarityFunction::kCosine ? "cos_sim" : "dot_score";
}

namespace {
// torch.nn.functional.normalize(x, p=2, dim=-1): x / max(||x||, 1e-12).
at::Tensor l2_normalize(const at::Tensor& x) {
  namespace F = torch::nn::functional;
  return F::normalize(x, F::NormalizeFuncOptions().p(2.0).dim(-1).eps(1e-12));
}
}  // namespace

at::Tensor similarity_matrix(const at::Tensor& a, const at::Tensor& b,
                             SimilarityFunction similarity) {
  if (similarity == SimilarityFunction::kCosine) {
    return at::mm(l2_normalize(a), l2_normalize(b).transpose(0, 1));
  }
  return at::mm(a, b.transpose(0, 1));
}

at::Tensor multiple_negatives_ranking_loss(const at::Tensor& anchors,
                                           const std::vector<at::Tensor>& candidates, double scale,
                                           SimilarityFunction similarity, int64_t world_size,
                                           int64_t rank) {
  if (candidates.empty()) {
    fail(
        "MultipleNegativesRankingLoss: expected at least 2 columns (anchor, positive[, "
        "negatives...]), "
        "found only the anchor column; give the dataset a positive column");
  }
  if (!(scale > 0.0)) {
    fail(
        "MultipleNegativesRankingLoss: scale must be > 0, found {}; use 20 (temperature 0.05) for "
        "cos_sim",
        scale);
  }
  if (anchors.dim() != 2) {
    fail("MultipleNegativesRankingLoss: anchors must be (B, D), found {} dimensions",
         anchors.dim());
  }
  TORCH_INTERNAL_ASSERT(world_size >= 1 && rank >= 0 && rank < world_size);
  for (size_t c = 0; c < candidates.size(); ++c) {
    if (candidates[c].dim() != 2 || candidates[c].size(0) != anchors.size(0) * world_size ||
        candidates[c].size(1) != anchors.size(1)) {
      fail(
          "MultipleNegativesRankingLoss: candidate column {} has shape [{}], expected the anchors' "
          "[{}]; "
          "every column must have one embedding per row",
          c + 1, fmt::join(candidates[c].sizes(), ", "), fmt::join(anchors.sizes(), ", "));
    }
  }
  const int64_t batch = anchors.size(0);
  // (B, W*B*C): column rank*B + i is row i's positive, later blocks are hard-negative columns.
  const at::Tensor docs = candidates.size() == 1 ? candidates[0] : at::cat(candidates, 0);
  const at::Tensor scores = similarity_matrix(anchors, docs, similarity) * scale;
  const at::Tensor rows = at::arange(batch, anchors.options().dtype(at::kLong));
  const at::Tensor positive = scores.index({rows, rows + rank * batch});
  const at::Tensor log_z = at::logsumexp(scores, {1});
  return -(positive - log_z).mean();
}

}  // namespace embedtune
