// StepGraphs: training steps (forward, loss, backward) laid out so that steps of similar size
// have the same shapes, each layout captured once as a CUDA graph and replayed after: a step then
// costs the host one launch instead of thousands.
//
// The layout: every column's sequences packed as one forward does them (column after column),
// then one filler sequence that brings the token count up to the next multiple of the model's
// max_seq_length above it, with every sequence's padded width max_seq_length. The filler is
// attended only by itself and pooled into a row the loss never sees, so the real rows' embeddings
// and the gradients are those of the packed batch without it (up to rounding: the products have
// more rows). Key: (tokens, sequences, whether every sequence is as long as the widest).
//
// Letters: C columns, B rows per column, N real tokens, L max_seq_length.
#pragma once

#include <ATen/Tensor.h>

#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "losses/cached_multiple_negatives_ranking_loss.h"
#include "losses/loss.h"
#include "model/packed_batch.h"

namespace embedtune {
class SentenceTransformer;
}

namespace embedtune::training {

class CudaGraph;

struct StepGraphOptions {
  bool bf16 = false;  // each forward under bf16 autocast (forward_mixed)
  // Run every step eagerly in the graph layout, with the same bookkeeping, without capturing: on
  // the CPU, to test the layout and the gradient buffers without a GPU.
  bool rehearse = false;
  size_t max_graphs = 16;  // layouts captured at most; steps of other layouts run eagerly
};

class StepGraphs {
 public:
  // `model` is on its training device; `loss` is validated and neither cached, nor guided, nor
  // sampling Matryoshka dims (a graph replays the same work); `engine` is the loss's generator.
  StepGraphs(SentenceTransformer& model, const LossConfig& loss, std::mt19937_64& engine,
             StepGraphOptions options);
  ~StepGraphs();
  StepGraphs(const StepGraphs&) = delete;
  StepGraphs& operator=(const StepGraphs&) = delete;

  // One step on the rows `ids` (C columns of B sequences): the loss, a scalar, and the trained
  // parameters' gradients SET to this step's (the same tensors every step, from the first on;
  // nothing else may reset them). Throws embedtune::Error as compute_loss does.
  at::Tensor step(const TokenColumns& ids);

  // "captured 6 layouts (7,680..10,240 tokens); 292 of 300 steps replayed, 8 eager", or the
  // reason graphs stopped.
  std::string summary() const;

 private:
  struct Entry;
  at::Tensor run(const PackedBatch& batch, int64_t columns, int64_t rows);

  SentenceTransformer& model_;
  const LossConfig& loss_;
  std::mt19937_64& engine_;
  StepGraphOptions options_;
  std::map<std::tuple<int64_t, int64_t, bool>, Entry> entries_;
  std::vector<int32_t> filler_;
  std::vector<at::Tensor> grads_;  // the gradient buffers, fixed after the first step
  bool grads_ready_ = false;
  std::string failure_;  // why capturing stopped, when it did
  int64_t captured_ = 0, replayed_ = 0, eager_ = 0;
};

}  // namespace embedtune::training
