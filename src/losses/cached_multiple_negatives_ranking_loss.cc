// CachedMultipleNegativesRankingLoss: generator snapshots, the chunked loss with its embedding
// gradients, and the three GradCache steps over a model.
#include "losses/cached_multiple_negatives_ranking_loss.h"

#include <ATen/ATen.h>
#include <ATen/core/Generator.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <mutex>

#include "distributed/world.h"
#include "io/error.h"
#include "losses/gist_embed_loss.h"
#include "losses/matryoshka_loss.h"
#include "losses/multiple_negatives_ranking_loss.h"
#include "model/packed_batch.h"
#include "model/sentence_transformer.h"

namespace embedtune {

RngSnapshot RngSnapshot::capture(c10::Device device) {
  RngSnapshot snapshot;
  {
    at::Generator gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    snapshot.cpu_ = gen.get_state();
  }
  if (device.is_cuda()) {
    at::Generator gen = at::globalContext().defaultGenerator(device);
    std::lock_guard<std::mutex> lock(gen.mutex());
    snapshot.cuda_ = gen.get_state();
    snapshot.cuda_device_ = device;
  }
  return snapshot;
}

void RngSnapshot::restore() const {
  {
    at::Generator gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(cpu_);
  }
  if (cuda_.defined()) {
    at::Generator gen = at::globalContext().defaultGenerator(cuda_device_);
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(cuda_);
  }
}

namespace {

void check_columns(const LossConfig& config, const std::vector<at::Tensor>& embeddings) {
  if (!config.uses_gradient_cache()) {
    fail("internal: cached_loss_gradients called for loss {} (inner_loss {}), which is not cached",
         config.loss, config.inner_loss);
  }
  if (embeddings.size() < 2) {
    fail(
        "CachedMultipleNegativesRankingLoss: expected at least 2 columns (anchor, positive[, "
        "negatives...]), found {}; give the dataset a positive column",
        embeddings.size());
  }
  for (size_t c = 1; c < embeddings.size(); ++c) {
    if (!embeddings[c].sizes().equals(embeddings[0].sizes())) {
      fail(
          "CachedMultipleNegativesRankingLoss: column {} has shape [{}], expected the anchors' "
          "[{}]; every column must have one embedding per row",
          c, fmt::join(embeddings[c].sizes(), ", "), fmt::join(embeddings[0].sizes(), ", "));
    }
  }
}

// ST's CachedMultipleNegativesRankingLoss.calculate_loss(reps, with_backward=True) with the
// default directions ("query_to_doc",) and partition "joint": every chunk of M anchors is scored
// against all candidates, its mean loss weighted by its share of the batch and back-propagated at
// once, so only an (M, B*C) score block is alive. `reps` are leaves requiring grad. Returns the
// summed loss, without graph.
//
// gather_across_devices: the candidates of every rank are gathered with their gradient (each
// chunk's backward then sums every rank's gradient into this rank's rows, one all-reduce per
// chunk, as ST's chunks back-propagate through its all_gather), and row i's positive is at
// rank*B + i. Only this rank's rows of the gathered anchors would be used, so they stay local.
at::Tensor chunked_mnrl_backward(const LossConfig& config, const std::vector<at::Tensor>& reps) {
  const at::Tensor& queries = reps[0];
  std::vector<at::Tensor> docs(reps.begin() + 1, reps.end());
  const distributed::World* world = config.gather_across_devices ? distributed::world() : nullptr;
  if (world != nullptr) {
    for (at::Tensor& doc : docs) doc = distributed::all_gather_with_grad(doc);
  }
  const at::Tensor docs_all = docs.size() == 1 ? docs[0] : at::cat(docs, 0);
  const int64_t batch = queries.size(0);
  const int64_t offset = world != nullptr ? world->rank() * batch : 0;
  const int64_t step = config.mini_batch_size;
  at::Tensor total;
  for (int64_t begin = 0; begin < batch; begin += step) {
    const int64_t end = std::min(begin + step, batch);
    const at::Tensor rows = at::arange(end - begin, queries.options().dtype(at::kLong));
    const at::Tensor scores =
        similarity_matrix(queries.narrow(0, begin, end - begin), docs_all, config.similarity) *
        config.scale;
    const at::Tensor positive = scores.index({rows, rows + begin + offset});
    const at::Tensor log_z = at::logsumexp(scores, {1});
    // per_sample_loss.mean() * len(local_batch) / batch_size, as ST writes it.
    at::Tensor chunk = (-(positive - log_z)).mean() * (end - begin) / batch;
    chunk.backward();
    chunk = chunk.detach();
    total = total.defined() ? total + chunk : chunk;
  }
  return total;
}

std::vector<at::Tensor> leaves(const std::vector<at::Tensor>& tensors) {
  std::vector<at::Tensor> out;
  out.reserve(tensors.size());
  for (const at::Tensor& t : tensors) out.push_back(t.detach().requires_grad_(true));
  return out;
}

}  // namespace

CachedLossGradients cached_loss_gradients(const LossConfig& config,
                                          const std::vector<at::Tensor>& embeddings,
                                          std::mt19937_64& rng,
                                          const std::vector<at::Tensor>& guide_embeddings) {
  check_columns(config, embeddings);
  at::AutoGradMode grad_mode(true);
  const std::vector<at::Tensor> reps = leaves(embeddings);
  // The chunked loss on (possibly shrunk) leaves: CachedGISTEmbedLoss with the guide's full-size
  // embeddings (the decorator shrinks only the model's), else CachedMNRL.
  const auto chunked = [&](const std::vector<at::Tensor>& columns) {
    if (!config.uses_guide()) return chunked_mnrl_backward(config, columns);
    return chunked_gist_backward(config.gist, config.mini_batch_size, columns, guide_embeddings);
  };
  CachedLossGradients out;
  if (config.loss != "MatryoshkaLoss") {
    out.loss = chunked(reps);
  } else {
    // ST's CachedLossDecorator: per dim, the loss on detached shrunk copies, then their gradient
    // times the weight back through the shrink into the full embeddings.
    const MatryoshkaLossConfig& m = config.matryoshka;
    TORCH_INTERNAL_ASSERT(!m.dims.empty() && m.weights.size() == m.dims.size(),
                          "LossConfig::validate was not called");
    for (size_t index : m.dims_for_step(rng)) {
      std::vector<at::Tensor> truncated;
      for (const at::Tensor& r : reps) truncated.push_back(shrink(r, m.dims[index]));
      const std::vector<at::Tensor> detached = leaves(truncated);
      const at::Tensor term = chunked(detached) * m.weights[index];
      out.loss = out.loss.defined() ? out.loss + term : term;
      for (size_t c = 0; c < truncated.size(); ++c) {
        truncated[c].backward(detached[c].grad() * m.weights[index]);
      }
    }
  }
  for (const at::Tensor& r : reps) out.gradients.push_back(r.grad());
  return out;
}

at::Tensor cached_loss_backward(const LossConfig& config, SentenceTransformer& model,
                                const TokenColumns& columns, double grad_scale,
                                std::mt19937_64& rng, const CachedGuide& guide, bool bf16) {
  if (config.uses_guide() && (guide.model == nullptr || guide.columns.size() != columns.size())) {
    fail("CachedGISTEmbedLoss: the guide model and its token ids of every column are needed");
  }
  if (columns.size() < 2) {
    fail(
        "CachedMultipleNegativesRankingLoss: expected at least 2 columns (anchor, positive[, "
        "negatives...]), found {}; give the dataset a positive column",
        columns.size());
  }
  const auto rows = static_cast<int64_t>(columns[0].size());
  for (size_t c = 1; c < columns.size(); ++c) {
    if (static_cast<int64_t>(columns[c].size()) != rows) {
      fail("CachedMultipleNegativesRankingLoss: column {} has {} rows, the anchors {}", c,
           columns[c].size(), rows);
    }
  }
  const at::Device device = model.device();
  const int64_t step = config.mini_batch_size;
  TORCH_INTERNAL_ASSERT(step >= 1, "LossConfig::validate was not called");

  auto embed_with = [&](SentenceTransformer& encoder, const TokenColumns& source, size_t c,
                        int64_t begin, int64_t end, bool mixed) {
    const std::vector<const std::vector<int32_t>*> ids(source[c].begin() + begin,
                                                       source[c].begin() + end);
    int64_t width = 0;  // right padding: the mini-batch's own longest sequence
    if (encoder.pads_left()) {
      for (const auto* seq : source[c]) width = std::max<int64_t>(width, seq->size());
    }
    return encoder.forward_mixed(PackedBatch::from_ids(ids, device, encoder.pads_left(), width),
                                 mixed);
  };
  auto embed = [&](size_t c, int64_t begin, int64_t end) {
    return embed_with(model, columns, c, begin, end, bf16);
  };

  // (1) Embed without graph, keeping each mini-batch's generator state; with a guide, each
  // mini-batch is then embedded by the guide too (ST's CachedGISTEmbedLoss.embed_minibatch; the
  // guide, in eval mode, draws nothing from the generator).
  std::vector<std::vector<RngSnapshot>> states(columns.size());
  std::vector<at::Tensor> reps(columns.size()), guide_reps;
  if (config.uses_guide()) guide_reps.resize(columns.size());
  {
    at::NoGradGuard no_grad;
    for (size_t c = 0; c < columns.size(); ++c) {
      std::vector<at::Tensor> parts, guide_parts;
      for (int64_t begin = 0; begin < rows; begin += step) {
        const int64_t end = std::min(begin + step, rows);
        states[c].push_back(RngSnapshot::capture(device));
        parts.push_back(embed(c, begin, end));
        if (config.uses_guide()) {
          guide_parts.push_back(
              embed_with(*guide.model, guide.columns, c, begin, end, /*mixed=*/false));
        }
      }
      reps[c] = parts.size() == 1 ? parts[0] : at::cat(parts, 0);
      if (config.uses_guide()) {
        guide_reps[c] = guide_parts.size() == 1 ? guide_parts[0] : at::cat(guide_parts, 0);
      }
    }
  }
  const RngSnapshot after_first_pass = RngSnapshot::capture(device);

  // (2) The loss and its gradient with respect to the embeddings.
  const CachedLossGradients cached = cached_loss_gradients(config, reps, rng, guide_reps);

  // (3) Embed again with graph, replaying the generator, and back-propagate the cached gradients
  // scaled as the outer backward would scale the loss (ST's surrogate dot(reps, grad) *
  // grad_output, in at least fp32).
  const at::Tensor grad_output =
      at::full({}, grad_scale, cached.gradients[0].options().dtype(at::kFloat));
  for (size_t c = 0; c < columns.size(); ++c) {
    for (int64_t begin = 0, i = 0; begin < rows; begin += step, ++i) {
      const int64_t end = std::min(begin + step, rows);
      states[c][static_cast<size_t>(i)].restore();
      const at::Tensor out = embed(c, begin, end);
      const at::Tensor grad = cached.gradients[c].narrow(0, begin, end - begin);
      const auto dtype =
          at::promote_types(at::promote_types(out.scalar_type(), grad.scalar_type()), at::kFloat);
      out.backward((grad.to(dtype) * grad_output.to(dtype)).to(out.scalar_type()));
    }
  }
  after_first_pass.restore();
  return cached.loss;
}

}  // namespace embedtune
