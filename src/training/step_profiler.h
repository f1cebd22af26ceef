// EMBEDTUNE_PROFILE=FILE: records a few training steps with the PyTorch profiler (Kineto: the
// host's operators and, on CUDA, every kernel, copy and runtime call) and writes them to FILE as
// a Chrome trace, which Perfetto, chrome://tracing and tools/trace_summary.py read. Each step is
// one "ProfilerStep#N" span, as torch.profiler's schedule marks it. EMBEDTUNE_PROFILE_STEPS=A-B
// picks the optimizer steps (default 11-15: after the first steps' warm-up). Only the first
// process of a distributed run records. Off unless asked for.
#pragma once

#include <ATen/record_function.h>
#include <c10/core/Device.h>

#include <cstdint>
#include <filesystem>
#include <memory>

namespace embedtune::training {

class StepProfiler {
 public:
  // Reads EMBEDTUNE_PROFILE and EMBEDTUNE_PROFILE_STEPS (throws Error on a malformed range or an
  // unwritable FILE); records nothing where `record` is false.
  StepProfiler(c10::Device device, bool record);
  // Stops a recording that training left unfinished (stopped by a signal, say), writing the steps
  // it holds.
  ~StepProfiler();
  StepProfiler(const StepProfiler&) = delete;
  StepProfiler& operator=(const StepProfiler&) = delete;

  // Around optimizer step `step` (counted from 1, as global_step after it).
  void begin_step(int64_t step);
  void end_step(int64_t step);

 private:
  void stop() noexcept;

  c10::Device device_;
  std::filesystem::path path_;  // empty: off
  int64_t first_ = 0, last_ = 0;
  int64_t recorded_first_ = 0, recorded_last_ = 0;  // the steps recorded so far
  bool recording_ = false;
  std::unique_ptr<at::RecordFunction> step_span_;
};

}  // namespace embedtune::training
