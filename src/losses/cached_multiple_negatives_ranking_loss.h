// CachedMultipleNegativesRankingLoss and CachedGISTEmbedLoss (GradCache), alone or inside
// MatryoshkaLoss, as
// sentence-transformers 6.2's CachedLossMixin, CachedMultipleNegativesRankingLoss and
// MatryoshkaLoss's CachedLossDecorator: the loss of the whole batch with the memory of one
// mini-batch.
//
// Letters: B rows in the batch, D the model's embedding dimension, M the mini-batch size.
#pragma once

#include <ATen/Tensor.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <random>
#include <vector>

#include "losses/loss.h"

namespace embedtune {

class SentenceTransformer;

// One batch's token ids, column by column (anchor, positive, negatives...): columns[c][r] is
// row r's ids in column c. Every column has the same B rows.
using TokenColumns = std::vector<std::vector<const std::vector<int32_t>*>>;

// The default torch generators' states, as ST's RandContext captures them: the CPU generator's,
// and the current CUDA device's when `device` is CUDA. Not thread-safe against other users of
// those generators (nor is training).
class RngSnapshot {
 public:
  static RngSnapshot capture(c10::Device device);
  void restore() const;

 private:
  at::Tensor cpu_, cuda_;
  c10::Device cuda_device_ = c10::Device(c10::kCUDA);
};

// Step (2) of GradCache: the loss of the whole batch from its embeddings, and its gradient with
// respect to them. `embeddings` are the FULL-size (B, D) embeddings of every column, without
// graph. The loss is MultipleNegativesRankingLoss computed over anchor chunks of
// config.mini_batch_size rows, each chunk back-propagated on its own (ST's
// calculate_loss(with_backward=True)): the same function as multiple_negatives_ranking_loss,
// summed chunk by chunk. Inside MatryoshkaLoss, every dim of the step (dims_for_step(rng)) shrinks
// the embeddings, computes the chunked loss on detached copies, and carries weight x their
// gradient back through the shrink (ST's CachedLossDecorator; with n_dims_per_step it visits its
// sampled dims unsorted, here they go largest first, which changes only the order of a sum).
// Returns the loss (a scalar without graph) and one (B, D) gradient per column. Throws
// embedtune::Error when the loss is not a cached one, on fewer than 2 columns or mismatched shapes.
// `config` must have been validated.
struct CachedLossGradients {
  at::Tensor loss;
  std::vector<at::Tensor> gradients;
};
// CachedGISTEmbedLoss takes the guide's (B, G) embeddings of every column in `guide_embeddings`
// (full size at every Matryoshka dim) and computes chunked_gist_backward instead of the MNRL.
CachedLossGradients cached_loss_gradients(const LossConfig& config,
                                          const std::vector<at::Tensor>& embeddings,
                                          std::mt19937_64& rng,
                                          const std::vector<at::Tensor>& guide_embeddings = {});

// CachedGISTEmbedLoss's guide: the model (eval mode, no gradients) and the token ids it reads,
// the same rows and columns as the trained model's.
struct CachedGuide {
  SentenceTransformer* model = nullptr;
  TokenColumns columns;
};

// One GradCache training step of `model` on one batch, as ST's CachedLossMixin.forward_cached
// followed by its backward hook:
//   (1) every column, mini-batch by mini-batch (M rows), is embedded without graph, the torch
//       generators' state captured before each forward;
//   (2) cached_loss_gradients;
//   (3) every mini-batch is embedded again with graph, from the captured generator state (so
//       dropout drops what it dropped in (1)), and back-propagated with its cached gradient
//       times `grad_scale` (what the outer backward would hand the loss: 1 / the gradient
//       accumulation group). The generators are then left as (1) left them.
// Parameter gradients accumulate into the model's .grad, as loss.backward() would; the graph of
// one mini-batch at a time is alive. Each mini-batch is padded as ST's _create_minibatch pads it:
// to its own longest sequence, or, for a left-padding tokenizer, to the column's longest (ST keeps
// leading padding). Returns the loss (a scalar without graph). The caller sets train/eval mode.
// With `bf16`, each of the model's forwards is SentenceTransformer::forward_mixed's (bf16 autocast
// on CUDA, fp32 out), as ST's mini-batch forwards run on a model accelerate prepared; the guide,
// which accelerate does not prepare, and the loss stay fp32. Throws embedtune::Error as
// cached_loss_gradients, and on columns with different row counts.
// CachedGISTEmbedLoss needs `guide`: each mini-batch of step (1) is embedded by the guide right
// after the model, as ST's CachedGISTEmbedLoss does.
at::Tensor cached_loss_backward(const LossConfig& config, SentenceTransformer& model,
                                const TokenColumns& columns, double grad_scale,
                                std::mt19937_64& rng, const CachedGuide& guide = {},
                                bool bf16 = false);

}  // namespace embedtune
