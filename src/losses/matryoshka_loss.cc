// MatryoshkaLoss: dim validation and ordering, per-step dim sampling, and shrink().
#include "losses/matryoshka_loss.h"

#include <ATen/ATen.h>
#include <torch/nn/functional/normalization.h>

#include <algorithm>
#include <numeric>
#include <utility>

#include "io/error.h"

namespace embedtune {

void MatryoshkaLossConfig::validate(int64_t model_dim) {
  if (dims.empty()) {
    fail(
        "matryoshka_dims: expected at least one dimension, found none; list the dims to train, "
        "e.g. [{}, 256, 128, 64]",
        model_dim);
  }
  for (int64_t d : dims) {
    if (d < 1) {
      fail("matryoshka_dims: every dimension must be >= 1, found {}; remove it", d);
    }
    if (d > model_dim) {
      fail(
          "matryoshka_dims: dimension {} is larger than the model's embedding dimension {}; "
          "use dims <= {}",
          d, model_dim, model_dim);
    }
  }
  if (weights.empty()) {
    weights.assign(dims.size(), 1.0);
  } else if (weights.size() != dims.size()) {
    fail(
        "matryoshka_weights: expected one weight per dimension ({} dims), found {} weights; "
        "give as many weights as dims, or none for all 1",
        dims.size(), weights.size());
  }
  if (n_dims_per_step == 0 || n_dims_per_step < -1 ||
      n_dims_per_step > static_cast<int64_t>(dims.size())) {
    fail("n_dims_per_step: expected -1 (all dims) or 1..{} (the number of dims), found {}",
         dims.size(), n_dims_per_step);
  }
  // As MatryoshkaLoss.__init__: zip(dims, weights) sorted by dim, descending, stable.
  std::vector<std::pair<int64_t, double>> pairs;
  for (size_t i = 0; i < dims.size(); ++i) pairs.emplace_back(dims[i], weights[i]);
  std::stable_sort(pairs.begin(), pairs.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  for (size_t i = 0; i < pairs.size(); ++i) {
    dims[i] = pairs[i].first;
    weights[i] = pairs[i].second;
  }
}

std::vector<size_t> MatryoshkaLossConfig::dims_for_step(std::mt19937_64& rng) const {
  std::vector<size_t> indices(dims.size());
  std::iota(indices.begin(), indices.end(), size_t{0});
  if (n_dims_per_step <= 0 || n_dims_per_step >= static_cast<int64_t>(dims.size())) {
    return indices;
  }
  const auto k = static_cast<size_t>(n_dims_per_step);
  for (size_t i = 0; i < k; ++i) {
    std::uniform_int_distribution<size_t> pick(i, indices.size() - 1);
    std::swap(indices[i], indices[pick(rng)]);
  }
  indices.resize(k);
  std::sort(indices.begin(), indices.end());
  return indices;
}

at::Tensor shrink(const at::Tensor& embeddings, int64_t dim) {
  const int64_t full = embeddings.size(-1);
  if (dim < 1 || dim > full) {
    fail(
        "Matryoshka dimension {} cannot be greater than the model's embedding dimension {} "
        "(or below 1); use dims in 1..{}",
        dim, full, full);
  }
  namespace F = torch::nn::functional;
  return F::normalize(embeddings.narrow(-1, 0, dim),
                      F::NormalizeFuncOptions().p(2.0).dim(-1).eps(1e-12));
}

}  // namespace embedtune
