// EMBEDTUNE_STEP_TIMING=1: where a training step's time goes, printed on stderr when training ends.
// Each phase is timed twice: the host's time to issue its work (packing, dispatch, kernel
// launches), then the wait for the device to finish it. A step whose device waits are small is
// bound by the host; one whose waits are large, by the device. The waits synchronize the device
// after every phase, which slows training a little: off unless asked for. Each phase also counts
// the operators it dispatched (nested calls included) and the autograd nodes it ran: a step's
// host cost grows with them, whatever the device.
#pragma once

#include <c10/core/Device.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace embedtune::training {

enum class StepPhase : size_t {
  kForward,    // packing the batch, the model's forwards
  kLoss,       // the loss on the embeddings
  kBackward,   // backward
  kLossValue,  // the group's loss read on the host (.item)
  kClip,       // gradient clipping and its norm
  kOptimizer,  // the optimizer step and zero_grad
  kRest,       // logging, evaluation, checkpoints, callbacks
  kCount
};

class StepTimer {
 public:
  // Reads EMBEDTUNE_STEP_TIMING; `device` is the one training runs on.
  explicit StepTimer(c10::Device device);
  ~StepTimer();
  StepTimer(const StepTimer&) = delete;
  StepTimer& operator=(const StepTimer&) = delete;

  // At the start of each optimizer step.
  void begin_step();
  // At the end of `phase`: its host time since the previous mark, then its device wait.
  void end(StepPhase phase);
  // The table, per optimizer step in milliseconds; nothing when disabled or no step ran.
  void report() const;

 private:
  using Clock = std::chrono::steady_clock;
  bool enabled_ = false;
  c10::Device device_;
  Clock::time_point mark_;
  int64_t steps_ = 0;
  std::array<double, static_cast<size_t>(StepPhase::kCount)> host_{}, wait_{};
  std::array<uint64_t, static_cast<size_t>(StepPhase::kCount)> ops_{}, nodes_{};
  uint64_t ops_mark_ = 0, nodes_mark_ = 0;
  uint64_t callback_ = 0;  // the operator counter's handle, 0 when none
};

}  // namespace embedtune::training
