// CudaGraph: one training step recorded as a CUDA graph and replayed, for builds against a CUDA
// LibTorch (a CPU build has the class, and says it cannot capture).
#pragma once

#include <ATen/Tensor.h>
#include <c10/core/Device.h>

#include <functional>
#include <memory>
#include <string>

namespace embedtune::training {

class CudaGraph {
 public:
  explicit CudaGraph(c10::Device device);
  ~CudaGraph();
  CudaGraph(const CudaGraph&) = delete;
  CudaGraph& operator=(const CudaGraph&) = delete;

  // Runs `body` on a side stream: once for real (the warm-up that PyTorch's capture wants, and
  // this step's work), then once under capture, into a memory pool every CudaGraph of the process
  // shares (graphs replay one at a time, so their temporaries may overlap). Returns the real run's
  // result. When capturing fails (the body synchronises with the host, say), the real run still
  // stands: captured() stays false and `failure` says why.
  at::Tensor warm_up_and_capture(const std::function<at::Tensor()>& body, std::string& failure);
  bool captured() const;
  // Runs the captured work again on the current stream (the body's inputs refilled in place
  // first) and returns the tensor the captured body returned, overwritten by this replay.
  const at::Tensor& replay();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace embedtune::training
