// MultipleNegativesRankingLoss (InfoNCE with in-batch negatives), as sentence-transformers 6.2's
// default configuration: directions ("query_to_doc",), partition_mode "joint", no hardness
// weighting.
//
// Letters: B rows in the batch, D embedding dimension, C candidate columns (positive + negatives).
#pragma once

#include <ATen/Tensor.h>

#include <string>
#include <vector>

namespace embedtune {

enum class SimilarityFunction { kCosine, kDot };

// "cos_sim" / "cosine" -> kCosine, "dot_score" / "dot" -> kDot. Throws embedtune::Error naming the
// value and the valid names otherwise.
SimilarityFunction parse_similarity(const std::string& name);
// The sentence-transformers name: "cos_sim" or "dot_score".
std::string similarity_name(SimilarityFunction similarity);

// (B, D) x (M, D) -> (B, M): cos_sim (rows L2-normalised with eps 1e-12 as torch's F.normalize,
// then a matrix product) or dot_score (plain matrix product), as sentence_transformers.util.
at::Tensor similarity_matrix(const at::Tensor& a, const at::Tensor& b,
                             SimilarityFunction similarity);

// scores = sim(anchors, cat(candidates)) * scale, (B, B*C); loss = mean over rows of
// logsumexp(scores[i]) - scores[i][i], i.e. cross-entropy against labels 0..B-1, computed the way
// sentence-transformers 6.2 writes it (-(positive - logsumexp).mean()). anchors (B, D);
// candidates[0] = positives (B, D), candidates[1..] = hard-negative columns (B, D). Returns a
// differentiable scalar. Throws embedtune::Error when there is no candidate column, the shapes
// disagree, or scale <= 0.
//
// gather_across_devices (ST's MNRL with gather_across_devices=True): `candidates` are every rank's
// columns gathered, (W*B, D) each, with this rank's rows at [rank*B, (rank+1)*B): the local
// anchors are scored against all of them and row i's positive is candidates[0][rank*B + i].
at::Tensor multiple_negatives_ranking_loss(
    const at::Tensor& anchors, const std::vector<at::Tensor>& candidates, double scale = 20.0,
    SimilarityFunction similarity = SimilarityFunction::kCosine, int64_t world_size = 1,
    int64_t rank = 0);

}  // namespace embedtune
