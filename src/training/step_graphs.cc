// StepGraphs: the fixed layout, the gradient buffers, and when to capture, replay or run eagerly.
#include "training/step_graphs.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include "io/plural.h"
#include "model/sentence_transformer.h"
#include "training/cuda_graph.h"

namespace embedtune::training {

struct StepGraphs::Entry {
  PackedBatch batch;  // the inputs a replay reads, refilled in place each step
  std::unique_ptr<CudaGraph> graph;
  bool seen = false;  // rehearsal: a step of this layout ran before
};

StepGraphs::StepGraphs(SentenceTransformer& model, const LossConfig& loss, std::mt19937_64& engine,
                       StepGraphOptions options)
    : model_(model), loss_(loss), engine_(engine), options_(options) {}

StepGraphs::~StepGraphs() = default;

at::Tensor StepGraphs::run(const PackedBatch& batch, int64_t columns, int64_t rows) {
  if (!grads_.empty()) at::_foreach_zero_(grads_);
  const at::Tensor all = model_.forward_mixed(batch, options_.bf16);  // (C*B + 1, D)
  const std::vector<at::Tensor> embeddings = all.narrow(0, 0, columns * rows).split(rows);
  at::Tensor loss = compute_loss(loss_, embeddings, engine_);
  loss.backward();
  return loss.detach();
}

at::Tensor StepGraphs::step(const TokenColumns& ids) {
  const auto columns = static_cast<int64_t>(ids.size());
  const auto rows = static_cast<int64_t>(ids.front().size());
  const int64_t width = model_.max_seq_length();
  std::vector<const std::vector<int32_t>*> sequences;
  int64_t tokens = 0;
  for (const auto& column : ids) {
    for (const auto* sequence : column) {
      sequences.push_back(sequence);
      tokens += static_cast<int64_t>(sequence->size());
    }
  }
  // 1..L filler tokens (id 0: any id the vocabulary has), positions 0.. within its own sequence.
  filler_.assign(static_cast<size_t>((tokens / width + 1) * width - tokens), 0);
  sequences.push_back(&filler_);
  const PackedBatch host =
      PackedBatch::from_ids(sequences, at::Device(at::kCPU), model_.pads_left(), width);
  const auto key = std::make_tuple(host.num_tokens(), host.batch_size(), host.uniform);
  auto [it, added] = entries_.try_emplace(key);
  Entry& entry = it->second;
  const at::Device device = model_.device();
  if (added) entry.batch = host;  // the host fields; the tensors move below
  entry.batch.lengths = host.lengths;
  for (at::Tensor PackedBatch::* field :
       {&PackedBatch::input_ids, &PackedBatch::position_ids, &PackedBatch::segment_ids,
        &PackedBatch::offsets, &PackedBatch::padded_index, &PackedBatch::key_mask}) {
    at::Tensor& target = entry.batch.*field;
    // Later steps refill in place: a captured graph reads these very tensors.
    if (added) {
      target = target.to(device);
    } else {
      target.copy_(host.*field, /*non_blocking=*/true);
    }
  }
  const auto body = [&] { return run(entry.batch, columns, rows); };

  if (!grads_ready_) {
    // The first step, eagerly: the gradients it leaves (on the parameters the loss reaches, and
    // only those) become the buffers every later step writes.
    at::Tensor loss = body();
    for (const at::Tensor& p : model_.encoder().parameters()) {
      if (p.grad().defined()) grads_.push_back(p.grad());
    }
    grads_ready_ = true;
    ++eager_;
    return loss;
  }
  if (entry.graph != nullptr && entry.graph->captured()) {
    ++replayed_;
    return entry.graph->replay().clone();
  }
  if (options_.rehearse) {
    // What a replay would do (the layout's inputs refilled, the buffers zeroed and written),
    // eagerly; a layout's first step counts as its capture.
    (entry.seen ? replayed_ : captured_) += 1;
    entry.seen = true;
    return body();
  }
  if (failure_.empty() && static_cast<size_t>(captured_) < options_.max_graphs) {
    entry.graph = std::make_unique<CudaGraph>(device);
    std::string failure;
    at::Tensor loss = entry.graph->warm_up_and_capture(body, failure);
    if (entry.graph->captured()) {
      ++captured_;
    } else {
      entry.graph.reset();
      failure_ = failure;
      ++eager_;
      fmt::print(stderr,
                 "train: capturing a step as a CUDA graph failed ({}); training goes on without "
                 "graphs\n",
                 failure);
    }
    return loss;
  }
  ++eager_;
  return body();
}

std::string StepGraphs::summary() const {
  int64_t fewest = 0, most = 0;
  for (const auto& [key, entry] : entries_) {
    if (entry.graph == nullptr && !(options_.rehearse && entry.seen)) continue;
    const int64_t tokens = std::get<0>(key);
    fewest = fewest == 0 ? tokens : std::min(fewest, tokens);
    most = std::max(most, tokens);
  }
  std::string text = fmt::format("{} {} ({}..{} tokens); {} of {} replayed, {} eager",
                                 options_.rehearse ? "rehearsed" : "captured",
                                 io::counted(captured_, "layout"), fewest, most, replayed_,
                                 io::counted(captured_ + replayed_ + eager_, "step"), eager_);
  if (!failure_.empty()) text += fmt::format("; capturing stopped: {}", failure_);
  return text;
}

}  // namespace embedtune::training
