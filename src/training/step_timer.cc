#include "training/step_timer.h"

#include <ATen/record_function.h>
#include <fmt/format.h>
#include <torch/cuda.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <string_view>

namespace embedtune::training {
namespace {

constexpr std::array<const char*, static_cast<size_t>(StepPhase::kCount)> kPhaseNames = {
    "forward", "loss", "backward", "loss value", "clip", "optimizer", "rest"};

// Counted from every thread: on CUDA, backward runs on the device's autograd thread.
std::atomic<uint64_t> g_ops{0}, g_nodes{0};

std::unique_ptr<at::ObserverContext> count_call(const at::RecordFunction& fn) {
  (fn.scope() == at::RecordScope::BACKWARD_FUNCTION ? g_nodes : g_ops)
      .fetch_add(1, std::memory_order_relaxed);
  return nullptr;
}

}  // namespace

StepTimer::StepTimer(c10::Device device) : device_(device) {
  const char* env = std::getenv("EMBEDTUNE_STEP_TIMING");
  enabled_ = env != nullptr && std::string_view(env) != "" && std::string_view(env) != "0";
  if (enabled_) {
    callback_ = at::addGlobalCallback(
        at::RecordFunctionCallback(count_call)
            .scopes({at::RecordScope::FUNCTION, at::RecordScope::BACKWARD_FUNCTION}));
  }
}

StepTimer::~StepTimer() {
  if (callback_ != 0) at::removeCallback(callback_);
}

void StepTimer::begin_step() {
  if (!enabled_) return;
  if (device_.is_cuda()) torch::cuda::synchronize(device_.index());
  mark_ = Clock::now();
  ops_mark_ = g_ops.load();
  nodes_mark_ = g_nodes.load();
  ++steps_;
}

void StepTimer::end(StepPhase phase) {
  if (!enabled_) return;
  const auto i = static_cast<size_t>(phase);
  const Clock::time_point issued = Clock::now();
  host_[i] += std::chrono::duration<double>(issued - mark_).count();
  if (device_.is_cuda()) torch::cuda::synchronize(device_.index());
  mark_ = Clock::now();
  wait_[i] += std::chrono::duration<double>(mark_ - issued).count();
  const uint64_t ops = g_ops.load(), nodes = g_nodes.load();
  ops_[i] += ops - ops_mark_;
  nodes_[i] += nodes - nodes_mark_;
  ops_mark_ = ops;
  nodes_mark_ = nodes;
}

void StepTimer::report() const {
  if (!enabled_ || steps_ == 0) return;
  const double per_step = 1e3 / static_cast<double>(steps_);
  const auto count = [&](uint64_t n) {
    return static_cast<uint64_t>(std::llround(static_cast<double>(n) / steps_));
  };
  double host = 0, wait = 0;
  uint64_t ops = 0, nodes = 0;
  fmt::print(stderr,
             "step timing over {} steps (per step; host: ms issuing the work, device: ms waiting "
             "for it after, ops: operators dispatched, nodes: autograd nodes run)\n",
             steps_);
  for (size_t i = 0; i < kPhaseNames.size(); ++i) {
    fmt::print(stderr, "  {:<11} host {:8.2f}  device {:8.2f}  ops {:6}  nodes {:5}\n",
               kPhaseNames[i], host_[i] * per_step, wait_[i] * per_step, count(ops_[i]),
               count(nodes_[i]));
    host += host_[i];
    wait += wait_[i];
    ops += ops_[i];
    nodes += nodes_[i];
  }
  fmt::print(stderr, "  {:<11} host {:8.2f}  device {:8.2f}  ops {:6}  nodes {:5}\n", "total",
             host * per_step, wait * per_step, count(ops), count(nodes));
}

}  // namespace embedtune::training
