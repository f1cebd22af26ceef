#include "training/step_timer.h"

#include <fmt/format.h>
#include <torch/cuda.h>

#include <cstdlib>
#include <string_view>

namespace embedtune::training {
namespace {

constexpr std::array<const char*, static_cast<size_t>(StepPhase::kCount)> kPhaseNames = {
    "forward", "loss", "backward", "loss value", "clip", "optimizer", "rest"};

}  // namespace

StepTimer::StepTimer(c10::Device device) : device_(device) {
  const char* env = std::getenv("EMBEDTUNE_STEP_TIMING");
  enabled_ = env != nullptr && std::string_view(env) != "" && std::string_view(env) != "0";
}

void StepTimer::begin_step() {
  if (!enabled_) return;
  if (device_.is_cuda()) torch::cuda::synchronize(device_.index());
  mark_ = Clock::now();
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
}

void StepTimer::report() const {
  if (!enabled_ || steps_ == 0) return;
  const double per_step = 1e3 / static_cast<double>(steps_);
  double host = 0, wait = 0;
  fmt::print(stderr, "step timing over {} steps (ms per step; host: issuing the work, device: "
                     "waiting for it after)\n", steps_);
  for (size_t i = 0; i < kPhaseNames.size(); ++i) {
    fmt::print(stderr, "  {:<11} host {:8.2f}  device {:8.2f}\n", kPhaseNames[i],
               host_[i] * per_step, wait_[i] * per_step);
    host += host_[i];
    wait += wait_[i];
  }
  fmt::print(stderr, "  {:<11} host {:8.2f}  device {:8.2f}\n", "total", host * per_step,
             wait * per_step);
}

}  // namespace embedtune::training
