// AutocastGuard: bf16 autocast on CUDA for the lifetime of the guard (a no-op on the CPU).
#pragma once

#include <ATen/autocast_mode.h>
#include <c10/core/Device.h>

namespace embedtune {

class AutocastGuard {
 public:
  explicit AutocastGuard(c10::Device device, bool enabled = true)
      : active_(enabled && device.is_cuda()) {
    if (!active_) return;
    previous_enabled_ = at::autocast::is_autocast_enabled(at::kCUDA);
    previous_dtype_ = at::autocast::get_autocast_dtype(at::kCUDA);
    at::autocast::set_autocast_enabled(at::kCUDA, true);
    at::autocast::set_autocast_dtype(at::kCUDA, at::kBFloat16);
  }
  ~AutocastGuard() {
    if (!active_) return;
    // Autocast caches bf16 copies of the weights; drop them so the next step sees new weights.
    at::autocast::clear_cache();
    at::autocast::set_autocast_enabled(at::kCUDA, previous_enabled_);
    at::autocast::set_autocast_dtype(at::kCUDA, previous_dtype_);
  }
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool active_;
  bool previous_enabled_ = false;
  at::ScalarType previous_dtype_ = at::kBFloat16;
};

}  // namespace embedtune
