// CudaGraph: at::cuda::CUDAGraph capture and replay (a stub without CUDA).
#include "training/cuda_graph.h"

#include "training/cuda_config.h"

#if EMBEDTUNE_WITH_CUDA
#include <ATen/cuda/CUDAEvent.h>
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

#include <c10/util/Exception.h>

#include <optional>

#include "io/error.h"
#include "model/attention.h"

namespace embedtune::training {

#if EMBEDTUNE_WITH_CUDA

namespace {

// One pool for every graph of the process: a step's activations are as large as the step, and
// graphs of different token counts never run at once.
at::cuda::MempoolId_t shared_pool() {
  static const at::cuda::MempoolId_t pool = at::cuda::graph_pool_handle();
  return pool;
}

}  // namespace

struct CudaGraph::State {
  explicit State(c10::Device device) : device(device) {}
  c10::Device device;
  std::optional<at::cuda::CUDAGraph> graph;
  at::Tensor output;
  bool captured = false;
};

CudaGraph::CudaGraph(c10::Device device) : state_(std::make_unique<State>(device)) {}

at::Tensor CudaGraph::warm_up_and_capture(const std::function<at::Tensor()>& body,
                                          std::string& failure) {
  const c10::DeviceIndex index = state_->device.index();
  const c10::cuda::CUDAStream current = c10::cuda::getCurrentCUDAStream(index);
  const c10::cuda::CUDAStream side = c10::cuda::getStreamFromPool(/*isHighPriority=*/false, index);
  at::cuda::CUDAEvent inputs_ready;
  inputs_ready.record(current);
  inputs_ready.block(side);
  at::Tensor result;
  {
    const c10::cuda::CUDAStreamGuard on_side(side);
    result = body();
    // As torch.cuda.graph: nothing of the warm-up still running when the capture begins.
    c10::cuda::device_synchronize();
    bool capturing = false;
    try {
      state_->graph.emplace();
      state_->graph->capture_begin(shared_pool());
      capturing = true;
      const KernelFailuresPropagate report_kernel_failures;  // a failure fails the capture only
      state_->output = body();
      capturing = false;
      state_->graph->capture_end();
      state_->captured = true;
    } catch (const c10::Error& error) {
      failure = error.what_without_backtrace();
      if (capturing) {
        try {
          state_->graph->capture_end();  // ends the stream's capture; the graph is invalid
        } catch (const c10::Error&) {
        }
      }
      state_->output = at::Tensor();
      state_->graph.reset();
    }
  }
  at::cuda::CUDAEvent done;
  done.record(side);
  done.block(current);
  // Made on the side stream, used on the current one: its memory must wait for both when freed.
  result.record_stream(current);
  return result;
}

const at::Tensor& CudaGraph::replay() {
  TORCH_INTERNAL_ASSERT(state_->captured, "CudaGraph::replay before a capture");
  state_->graph->replay();
  return state_->output;
}

#else

struct CudaGraph::State {
  bool captured = false;  // never, without CUDA
};

CudaGraph::CudaGraph(c10::Device /*device*/) : state_(std::make_unique<State>()) {}

at::Tensor CudaGraph::warm_up_and_capture(const std::function<at::Tensor()>& body,
                                          std::string& failure) {
  failure = "this embedtune was built against a CPU LibTorch";
  return body();
}

const at::Tensor& CudaGraph::replay() {
  fail("internal: CudaGraph::replay in a build without CUDA");
}

#endif

CudaGraph::~CudaGraph() = default;

bool CudaGraph::captured() const { return state_->captured; }

}  // namespace embedtune::training
