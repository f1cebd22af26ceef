// MatryoshkaLoss: the inner loss applied to the leading `d` values of every embedding, for several
// d, weighted and summed, as sentence-transformers 6.2's MatryoshkaLoss (non-cached inner loss).
//
// Letters: B rows in the batch, D the model's embedding dimension, d one Matryoshka dimension.
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <random>
#include <vector>

namespace embedtune {

struct MatryoshkaLossConfig {
  std::vector<int64_t>
      dims;  // sorted descending by validate(); the model's D should be one of them
  std::vector<double> weights;  // one per dim; empty means 1 for every dim
  int64_t n_dims_per_step =
      -1;  // -1: all dims every step; k > 0: k dims sampled at random per step

  // Checks the settings against the model's embedding dimension and sorts dims descending, the
  // weights following their dims (a stable sort, as Python's sorted). Fills empty weights with 1.
  // Throws embedtune::Error (one line: the offending value, the rule, the fix) when dims is empty,
  // a dim is < 1 or > model_dim, weights and dims differ in length, or n_dims_per_step is 0,
  // < -1 or larger than the number of dims.
  void validate(int64_t model_dim);

  // The indices into dims (ascending, so largest dims first) used for one step. All of them when
  // n_dims_per_step is -1 or >= dims.size(); otherwise n_dims_per_step distinct indices drawn
  // uniformly (partial Fisher-Yates on `rng`, then sorted), as sentence-transformers'
  // random.sample(range(n), k) followed by sort(); the draws themselves differ from Python's
  // `random` module.
  std::vector<size_t> dims_for_step(std::mt19937_64& rng) const;
};

// sentence_transformers' shrink(): (..., D) -> (..., d), the leading d values L2-normalised
// (eps 1e-12, as torch.nn.functional.normalize). Throws embedtune::Error when d is not in 1..D.
at::Tensor shrink(const at::Tensor& embeddings, int64_t dim);

}  // namespace embedtune
