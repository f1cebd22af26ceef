// compute_loss: dispatch between plain MultipleNegativesRankingLoss and MatryoshkaLoss over it;
// the names and checks of the loss settings.
#include "losses/loss.h"

#include <ATen/ATen.h>

#include "distributed/world.h"
#include "io/error.h"

namespace embedtune {

namespace {
constexpr const char* kMatryoshka = "MatryoshkaLoss";
constexpr const char* kMnrl = "MultipleNegativesRankingLoss";
constexpr const char* kCachedMnrl = "CachedMultipleNegativesRankingLoss";
constexpr const char* kGist = "GISTEmbedLoss";
constexpr const char* kCachedGist = "CachedGISTEmbedLoss";

void check_loss_name(const std::string& name) {
  if (name != kMatryoshka && name != kMnrl && name != kCachedMnrl && name != kGist &&
      name != kCachedGist) {
    fail(
        "loss: expected MatryoshkaLoss, MultipleNegativesRankingLoss, "
        "CachedMultipleNegativesRankingLoss, GISTEmbedLoss or CachedGISTEmbedLoss, found '{}'; "
        "use one of those",
        name);
  }
}

void check_inner_loss(const std::string& loss, const std::string& inner) {
  if (inner != kMnrl && inner != kCachedMnrl && inner != kGist && inner != kCachedGist) {
    fail(
        "inner_loss: expected MultipleNegativesRankingLoss, CachedMultipleNegativesRankingLoss, "
        "GISTEmbedLoss or CachedGISTEmbedLoss, found '{}'; use one of those",
        inner);
  }
  if (loss != kMatryoshka && inner != kMnrl) {
    fail(
        "inner_loss: {} applies only inside MatryoshkaLoss, but loss is {}; set loss: "
        "MatryoshkaLoss, or loss: {} to use it alone",
        inner, loss, inner);
  }
}

// `columns`: the local anchors, then the candidates, gathered across ranks when `world` is set.
at::Tensor mnrl(const LossConfig& config, const std::vector<at::Tensor>& columns,
                const distributed::World* world) {
  const std::vector<at::Tensor> candidates(columns.begin() + 1, columns.end());
  return multiple_negatives_ranking_loss(columns[0], candidates, config.scale, config.similarity,
                                         world != nullptr ? world->size() : 1,
                                         world != nullptr ? world->rank() : 0);
}
}  // namespace

void LossConfig::validate(int64_t model_dim) {
  check_loss_name(loss);
  if (!(scale > 0.0)) {
    fail("scale: MultipleNegativesRankingLoss needs scale > 0, found {}; use 20 (temperature 0.05)",
         scale);
  }
  check_inner_loss(loss, inner_loss);
  if (mini_batch_size < 1) {
    fail(
        "mini_batch_size: expected an integer >= 1 (rows per forward pass of "
        "CachedMultipleNegativesRankingLoss), found {}; use 32 (the default) or more",
        mini_batch_size);
  }
  if (gather_across_devices && uses_guide()) {
    fail(
        "gather_across_devices: supported with MultipleNegativesRankingLoss and "
        "CachedMultipleNegativesRankingLoss (alone or inside MatryoshkaLoss), not yet with {}; "
        "set gather_across_devices: false or use one of those",
        kGist);
  }
  if (uses_guide()) gist.validate("");
  if (loss == kMatryoshka) matryoshka.validate(model_dim);
}

bool LossConfig::uses_guide() const {
  const std::string& used = loss == kMatryoshka ? inner_loss : loss;
  return used == kGist || used == kCachedGist;
}

bool LossConfig::uses_gradient_cache() const {
  const std::string& used = loss == kMatryoshka ? inner_loss : loss;
  return used == kCachedMnrl || used == kCachedGist;
}

at::Tensor compute_loss(const LossConfig& config, const std::vector<at::Tensor>& columns,
                        std::mt19937_64& rng, const std::vector<at::Tensor>& guide_columns) {
  // The loss on (possibly shrunk) embeddings: GISTEmbedLoss, or MNRL (also for the cached MNRL,
  // the same function).
  // gather_across_devices: every rank's candidate columns, gathered once at full size (shrinking
  // is row-wise, so gathering then shrinking equals ST's shrinking then gathering). The anchors
  // stay local: with the query_to_doc direction only this rank's rows of the gathered anchors
  // are used, so their gradient is the local one.
  const distributed::World* world =
      config.gather_across_devices && !config.uses_guide() ? distributed::world() : nullptr;
  std::vector<at::Tensor> gathered;
  const std::vector<at::Tensor>* used = &columns;
  if (world != nullptr && columns.size() >= 2) {
    gathered.push_back(columns[0]);
    for (size_t c = 1; c < columns.size(); ++c)
      gathered.push_back(distributed::all_gather_with_grad(columns[c]));
    used = &gathered;
  }
  const auto inner = [&](const std::vector<at::Tensor>& embeddings) {
    if (!config.uses_guide()) return mnrl(config, embeddings, world);
    if (guide_columns.size() != embeddings.size()) {
      fail("GISTEmbedLoss: expected the guide's embeddings of {} columns, found {}",
           embeddings.size(), guide_columns.size());
    }
    return gist_embed_loss(config.gist, embeddings, guide_columns);
  };
  check_loss_name(config.loss);
  if (columns.size() < 2) {
    fail(
        "{}: expected at least 2 columns (anchor, positive[, negatives...]), found {}; "
        "give the dataset a positive column",
        config.loss, columns.size());
  }
  if (config.loss != kMatryoshka) return inner(*used);

  const MatryoshkaLossConfig& m = config.matryoshka;
  if (m.dims.empty() || m.weights.size() != m.dims.size()) {
    fail(
        "MatryoshkaLoss: the configuration was not validated ({} dims, {} weights); "
        "call LossConfig::validate(model_dim) first",
        m.dims.size(), m.weights.size());
  }
  at::Tensor total;
  std::vector<at::Tensor> shrunk(columns.size());
  for (size_t index : m.dims_for_step(rng)) {
    for (size_t c = 0; c < columns.size(); ++c) shrunk[c] = shrink((*used)[c], m.dims[index]);
    // weight * loss in the loss dtype, summed in dim order, as MatryoshkaLoss.forward.
    at::Tensor term = inner(shrunk) * m.weights[index];
    total = total.defined() ? total + term : term;
  }
  return total;
}

}  // namespace embedtune
