// The processes of a data-parallel run, on PyTorch's c10d: a TCPStore for the rendezvous and a
// Gloo (CPU) or NCCL (CUDA, in a CUDA build) process group, as
// torch.distributed.init_process_group("gloo" | "nccl", "env://") builds them, with the
// collectives training needs. One World per process, made once from the launch
// variables (launch.h); a process without them has none and runs alone.
//
// Letters: W processes (ranks), B rows per rank.
#pragma once

#include <ATen/Tensor.h>
#include <c10/core/Device.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "distributed/launch.h"

namespace embedtune::distributed {

class World {
 public:
  // Joins the others: TCPStore at info.master_addr:master_port (a client under torchrun's agent
  // store, else rank 0 hosts it), then the process group, then a heartbeat that lets the others
  // tell a dead rank from a slow one. `timeout` bounds the rendezvous and every collective
  // (transformers' ddp_timeout). `cuda`: NCCL on GPU local_rank (made the current device), else
  // Gloo. Throws Error naming the address when the rendezvous fails, or when `cuda` is asked of
  // a build without NCCL.
  static std::unique_ptr<World> connect(const LaunchInfo& info, std::chrono::seconds timeout,
                                        bool cuda = false);
  ~World();
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  int rank() const { return info_.rank; }
  int size() const { return info_.world_size; }
  int local_rank() const { return info_.local_rank; }
  bool is_main() const { return info_.rank == 0; }
  // Where the group's collectives run: the CPU (Gloo) or cuda:local_rank (NCCL). Tensors given
  // on another device are copied there and back.
  c10::Device device() const { return device_; }
  const LaunchInfo& info() const { return info_; }

  // Collectives: every rank calls them in the same order with tensors of the same shapes and
  // dtypes. When a rank is gone or the timeout passes they throw Error naming the rank(s) that
  // stopped answering (see describe_failure). Tensors (contiguous) are updated in place, one
  // collective each.
  void broadcast(std::vector<at::Tensor>& tensors, int root = 0) const;
  void all_reduce_sum(std::vector<at::Tensor>& tensors) const;
  // (B, ...) on every rank -> (W*B, ...), rank r's rows at [r*B, (r+1)*B). No gradient.
  at::Tensor all_gather(const at::Tensor& local) const;
  void barrier() const;
  // Every rank's `text`, in rank order, on every rank.
  std::vector<std::string> all_gather_strings(const std::string& text) const;

  // Asynchronous sum of one contiguous tensor; wait with wait(). For GradientReducer.
  struct Pending;
  std::shared_ptr<Pending> all_reduce_sum_async(at::Tensor& tensor) const;
  void wait(const std::shared_ptr<Pending>& pending) const;

  // Why a collective failed, for its Error: which ranks stopped beating, or "rank 0 (the store's
  // host) is gone" when the store itself is unreachable. `what` is the backend's message.
  std::string describe_failure(const std::string& operation, const std::string& what) const;

  // Ends the heartbeat thread (at exit: the World itself is never destroyed).
  void stop_heartbeat();

 private:
  struct Impl;
  explicit World(LaunchInfo info);
  LaunchInfo info_;
  c10::Device device_ = c10::Device(c10::kCPU);
  std::unique_ptr<Impl> impl_;
};

// The process's World: null when it runs alone (no launch variables). `connect_world` makes it
// from the environment once (later calls return the same); it is never torn down before exit.
// `cuda`: the training device is a GPU (NCCL); only the first call's choice counts.
World* world();
World* connect_world(std::chrono::seconds timeout, bool cuda = false);

// all_gather with the gradient: (B, D) -> (W*B, D), and backward sums the gradient of every
// rank's use of rank r's rows into rank r's (an all-reduce of the gradient, then rank r's slice),
// as torch.distributed.nn.all_gather. Without a World it returns `local`.
at::Tensor all_gather_with_grad(const at::Tensor& local);

// Data-parallel gradient averaging, as DistributedDataParallel's Reducer: parameters in buckets
// of ~25 MiB (the first 1 MiB), in reverse order (the order backward produces them), each bucket
// all-reduced as soon as all of its gradients are ready, in bucket order on every rank, while
// backward goes on. Gradient accumulation: arm() only before the step's last backward, so the
// others reduce nothing (DDP's no_sync). finish() reduces what is left (gradients backward never
// produced count as zero), waits, and writes the average over ranks into each .grad.
class GradientReducer {
 public:
  GradientReducer(const World& world, std::vector<at::Tensor> parameters,
                  int64_t bucket_bytes = 25 << 20, int64_t first_bucket_bytes = 1 << 20);
  ~GradientReducer();
  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;

  void arm();
  void finish();
  size_t num_buckets() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace embedtune::distributed
