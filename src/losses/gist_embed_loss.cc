// GISTEmbedLoss: the guided false-negative mask and the cross-entropy, step for step as
// sentence_transformers/sentence_transformer/losses/gist_embed.py.
#include "losses/gist_embed_loss.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <limits>

#include "io/error.h"

namespace embedtune {

void GistEmbedConfig::validate(const std::string& where) const {
  if (!(temperature > 0.0)) {
    fail("{}temperature: GISTEmbedLoss needs a temperature > 0, found {}; use 0.01", where,
         temperature);
  }
  if (margin_strategy != "absolute" && margin_strategy != "relative") {
    fail("{}margin_strategy: expected absolute or relative, found '{}'; fix the value", where,
         margin_strategy);
  }
}

namespace {
// nn.CosineSimilarity(dim=-1)(a.unsqueeze(1), b.unsqueeze(0)): (B, M).
at::Tensor sim_matrix(const at::Tensor& a, const at::Tensor& b) {
  return at::cosine_similarity(a.unsqueeze(1), b.unsqueeze(0), -1);
}

// GISTEmbedLoss's mask_false_negatives: `sim_mat` with -inf where the guide scores a candidate
// above the row's guided positive score `guided_sim` (R, 1), less the margin; never where
// `positive_mask` (optional) is set.
at::Tensor mask_false_negatives(const GistEmbedConfig& config, const at::Tensor& guided_sim,
                                const at::Tensor& guided_sim_mat, const at::Tensor& sim_mat,
                                const at::Tensor& positive_mask = {}) {
  at::Tensor mask = config.margin_strategy == "absolute"
                        ? guided_sim_mat > (guided_sim - config.margin)
                        : guided_sim_mat > (guided_sim - guided_sim.abs() * config.margin);
  if (positive_mask.defined()) mask = mask & positive_mask.logical_not();
  return sim_mat.masked_fill(mask, -std::numeric_limits<double>::infinity());
}
}  // namespace

at::Tensor gist_embed_loss(const GistEmbedConfig& config, const std::vector<at::Tensor>& columns,
                           const std::vector<at::Tensor>& guide_columns) {
  if (columns.size() != 2 && columns.size() != 3) {
    fail(
        "GISTEmbedLoss: expected 2 or 3 columns (anchor, positive[, negative]), found {}; train "
        "on pairs or triplets",
        columns.size());
  }
  TORCH_INTERNAL_ASSERT(guide_columns.size() == columns.size());
  const at::Tensor& anchor = columns[0];
  const at::Tensor& positive = columns[1];
  const at::Tensor& anchor_guide = guide_columns[0];
  const at::Tensor& positive_guide = guide_columns[1];
  const int64_t batch = anchor.size(0);

  at::Tensor ap_sim = sim_matrix(anchor, positive);
  const at::Tensor guided_ap_sim = sim_matrix(anchor_guide, positive_guide);
  const at::Tensor guided_sim = guided_ap_sim.diagonal(0).view({-1, 1});
  const auto mask = [&](const at::Tensor& guided_sim_mat, const at::Tensor& sim_mat,
                        const at::Tensor& positive_mask = {}) {
    return mask_false_negatives(config, guided_sim, guided_sim_mat, sim_mat, positive_mask);
  };
  // Each anchor's own positive is never masked.
  const at::Tensor positive_mask = at::eye(batch, guided_ap_sim.options().dtype(at::kBool));
  std::vector<at::Tensor> scores = {mask(guided_ap_sim, ap_sim, positive_mask)};
  if (config.contrast_anchors) {
    scores.push_back(mask(sim_matrix(anchor_guide, anchor_guide), sim_matrix(anchor, anchor)));
  }
  if (config.contrast_positives) {
    scores.push_back(
        mask(sim_matrix(positive_guide, positive_guide), sim_matrix(positive, positive)));
  }
  if (columns.size() == 3) {
    scores.push_back(
        mask(sim_matrix(anchor_guide, guide_columns[2]), sim_matrix(anchor, columns[2])));
  }
  const at::Tensor logits = at::cat(scores, 1) / config.temperature;
  const at::Tensor labels = at::arange(batch, anchor.options().dtype(at::kLong));
  return at::cross_entropy_loss(logits, labels);
}

at::Tensor chunked_gist_backward(const GistEmbedConfig& config, int64_t mini_batch_size,
                                 const std::vector<at::Tensor>& columns,
                                 const std::vector<at::Tensor>& guide_columns) {
  if (columns.size() < 2 || guide_columns.size() != columns.size()) {
    fail(
        "CachedGISTEmbedLoss: expected at least 2 columns (anchor, positive[, negatives...]) and "
        "the guide's embeddings of each, found {} and {}",
        columns.size(), guide_columns.size());
  }
  const at::Tensor& anchors = columns[0];
  const at::Tensor& anchors_guide = guide_columns[0];
  const at::Tensor& positives = columns[1];
  const at::Tensor& positives_guide = guide_columns[1];
  const int64_t batch = anchors.size(0);
  at::Tensor total;
  for (int64_t begin = 0; begin < batch; begin += mini_batch_size) {
    const int64_t rows = std::min(mini_batch_size, batch - begin);
    const at::Tensor chunk_anchors = anchors.narrow(0, begin, rows);
    const at::Tensor chunk_anchors_guide = anchors_guide.narrow(0, begin, rows);
    const at::Tensor guided_ap_sim = sim_matrix(chunk_anchors_guide, positives_guide);
    const at::Tensor guided_sim = guided_ap_sim.diagonal(begin).view({-1, 1});
    const auto mask = [&](const at::Tensor& guided_sim_mat, const at::Tensor& sim_mat,
                          const at::Tensor& positive_mask = {}) {
      return mask_false_negatives(config, guided_sim, guided_sim_mat, sim_mat, positive_mask);
    };
    // Row i of the chunk is anchor begin + i: its own positive is never masked.
    at::Tensor positive_mask =
        at::zeros_like(guided_ap_sim, guided_ap_sim.options().dtype(at::kBool));
    const at::Tensor chunk_rows = at::arange(rows, guided_ap_sim.options().dtype(at::kLong));
    positive_mask.index_put_({chunk_rows, chunk_rows + begin}, true);
    std::vector<at::Tensor> scores = {
        mask(guided_ap_sim, sim_matrix(chunk_anchors, positives), positive_mask)};
    if (config.contrast_anchors) {
      scores.push_back(
          mask(sim_matrix(chunk_anchors_guide, anchors_guide), sim_matrix(chunk_anchors, anchors)));
    }
    if (config.contrast_positives) {
      scores.push_back(mask(sim_matrix(positives_guide.narrow(0, begin, rows), positives_guide),
                            sim_matrix(positives.narrow(0, begin, rows), positives)));
    }
    for (size_t c = 2; c < columns.size(); ++c) {
      scores.push_back(mask(sim_matrix(chunk_anchors_guide, guide_columns[c]),
                            sim_matrix(chunk_anchors, columns[c])));
    }
    const at::Tensor logits = at::cat(scores, 1) / config.temperature;
    const at::Tensor labels = chunk_rows + begin;
    // cross_entropy(scores, labels) * len(scores) / batch_size, as ST writes it.
    at::Tensor loss = at::cross_entropy_loss(logits, labels) * rows / batch;
    loss.backward();
    loss = loss.detach();
    total = total.defined() ? total + loss : loss;
  }
  return total;
}

}  // namespace embedtune
