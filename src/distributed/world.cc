// The c10d process group (TCPStore + Gloo), its collectives, and the gradient reducer.
#include "distributed/world.h"

#include <ATen/ATen.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <torch/csrc/autograd/custom_function.h>

// The c10d headers compile their Gloo parts only under this macro, which out-of-tree builds must
// set themselves (pytorch/pytorch#65918); the gloo headers come from Debian's libgloo-dev.
#ifndef USE_C10D_GLOO
#define USE_C10D_GLOO 1
#endif
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <sstream>
#include <thread>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "distributed/distributed_config.h"
#if EMBEDTUNE_WITH_NCCL
#ifndef USE_C10D_NCCL
#define USE_C10D_NCCL 1
#endif
#include <c10/cuda/CUDAFunctions.h>

#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include "io/error.h"

namespace embedtune::distributed {
namespace {

constexpr const char* kAlivePrefix = "embedtune/alive/";
constexpr std::chrono::milliseconds kHeartbeat{500};

// The first line of a backend's message, shortened, in printable ASCII: a message cut inside a
// multi-byte character, or carrying raw bytes, would make the error line invalid UTF-8.
std::string first_line(const std::string& text, size_t limit = 240) {
  std::string line = text.substr(0, text.find('\n'));
  const bool cut = line.size() > limit;
  if (cut) line.resize(limit);
  std::string out;
  for (const char c : line) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) {
      out += c;
    } else {
      out += fmt::format("\\x{:02x}", u);
    }
  }
  return cut ? out + "..." : out;
}

}  // namespace

struct World::Impl {
  c10::intrusive_ptr<c10d::Store> tcp;    // the raw store (heartbeats)
  c10::intrusive_ptr<c10d::Store> store;  // with the launch's prefix
  c10::intrusive_ptr<c10d::Backend> group;
  std::thread heartbeat;
  std::atomic<bool> stop{false};
  std::chrono::seconds timeout{1800};
};

struct World::Pending {
  c10::intrusive_ptr<c10d::Work> work;
  std::string operation;
};

World::World(LaunchInfo info) : info_(std::move(info)), impl_(std::make_unique<Impl>()) {}

World::~World() { stop_heartbeat(); }

void World::stop_heartbeat() {
  impl_->stop = true;
  if (impl_->heartbeat.joinable()) impl_->heartbeat.join();
}

std::unique_ptr<World> World::connect(const LaunchInfo& info, std::chrono::seconds timeout,
                                      bool cuda) {
  std::unique_ptr<World> world(new World(info));
  Impl& m = *world->impl_;
  m.timeout = timeout;
  const std::string where = fmt::format("{}:{}", info.master_addr, info.master_port);
#if !EMBEDTUNE_WITH_NCCL
  if (cuda) {
    fail(
        "distributed: training on CUDA needs NCCL, and this build has none (a CPU LibTorch, or "
        "nccl.h was not found); build with `make build-cuda`, or train with device: cpu (Gloo)");
  }
#endif
  try {
    c10d::TCPStoreOptions options;
    options.port = static_cast<uint16_t>(info.master_port);
    options.timeout = timeout;
    if (info.agent_store) {
      // torchrun's agent hosts the store: every rank is a client, under the attempt's prefix.
      options.isServer = false;
      m.tcp = c10::make_intrusive<c10d::TCPStore>(info.master_addr, options);
      m.store = c10::make_intrusive<c10d::PrefixStore>(
          fmt::format("/worker/attempt_{}", info.restart_count), m.tcp);
    } else {
      options.isServer = info.rank == 0;
      options.numWorkers = static_cast<size_t>(info.world_size);
      options.multiTenant = true;
      m.tcp = c10::make_intrusive<c10d::TCPStore>(info.master_addr, options);
      m.store = m.tcp;
    }
    auto group_store = c10::make_intrusive<c10d::PrefixStore>("embedtune/", m.store);
#if EMBEDTUNE_WITH_NCCL
    if (cuda) {
      // As torch.distributed with LOCAL_RANK: each rank on its own GPU, made current before the
      // communicator is created (lazily, by the first collective).
      world->device_ = c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(info.local_rank));
      c10::cuda::set_device(static_cast<c10::DeviceIndex>(info.local_rank));
      auto nccl = c10d::ProcessGroupNCCL::Options::create();
      nccl->timeout = timeout;
      m.group = c10::make_intrusive<c10d::ProcessGroupNCCL>(group_store, info.rank, info.world_size,
                                                            nccl);
    }
#endif
    if (!m.group) {
      auto gloo = c10d::ProcessGroupGloo::Options::create(timeout);
      // As the Python bindings: GLOO_SOCKET_IFNAME names the interfaces, else the host's address.
      const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
      if (ifname != nullptr && *ifname != '\0') {
        std::stringstream names(ifname);
        for (std::string name; std::getline(names, name, ',');)
          gloo->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(name));
      } else {
        gloo->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      }
      gloo->threads = 2;
      m.group = c10::make_intrusive<c10d::ProcessGroupGloo>(group_store, info.rank, info.world_size,
                                                            gloo);
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    fail(
        "distributed: rank {} of {} could not join the others through {} ({}): {}; check that "
        "every rank runs with the same MASTER_ADDR/MASTER_PORT and that the port is free",
        info.rank, info.world_size, where, info.launcher, first_line(e.what()));
  }
  // Heartbeat: a counter under the raw store that the others read when a collective fails.
  World* raw = world.get();
  m.heartbeat = std::thread([raw] {
    Impl& impl = *raw->impl_;
    const std::string key = kAlivePrefix + std::to_string(raw->rank());
    while (!impl.stop.load()) {
      try {
        impl.store->add(key, 1);
      } catch (const std::exception&) {
        return;  // the store is gone: the next collective says so
      }
      for (auto slept = std::chrono::milliseconds(0); slept < kHeartbeat && !impl.stop.load();
           slept += std::chrono::milliseconds(50))
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  return world;
}

std::string World::describe_failure(const std::string& operation, const std::string& what) const {
  const Impl& m = *impl_;
  std::vector<int> silent;
  bool store_gone = false;
  try {
    m.store->setTimeout(std::chrono::seconds(5));
    std::map<int, int64_t> before;
    for (int r = 0; r < size(); ++r) {
      if (r == rank()) continue;
      before[r] = m.store->add(kAlivePrefix + std::to_string(r), 0);
    }
    std::this_thread::sleep_for(4 * kHeartbeat);
    for (const auto& [r, count] : before) {
      if (m.store->add(kAlivePrefix + std::to_string(r), 0) == count) silent.push_back(r);
    }
  } catch (const std::exception&) {
    store_gone = true;
  }
  std::string who;
  if (store_gone) {
    who = "rank 0, which hosts the store, is gone";
  } else if (!silent.empty()) {
    std::vector<std::string> names;
    for (int r : silent) names.push_back(std::to_string(r));
    who = fmt::format("rank {} stopped (no heartbeat)", fmt::join(names, ", rank "));
  } else {
    who = "every rank is alive, so one of them failed or is stuck";
  }
  return fmt::format(
      "distributed: {} failed on rank {} of {}: {} ({}); read that rank's own error, then run "
      "again (--resume_from_checkpoint last continues from the last checkpoint)",
      operation, rank(), size(), who, first_line(what));
}

namespace {

// `tensor` on the group's device: itself, or a copy (copy it back with from_group_device).
at::Tensor to_group_device(const World& world, const at::Tensor& tensor) {
  return tensor.device() == world.device() ? tensor : tensor.to(world.device());
}
void from_group_device(const at::Tensor& result, at::Tensor& tensor) {
  if (!result.is_same(tensor)) tensor.copy_(result);
}

template <typename F>
void run_collective(const World& world, const char* operation, F&& body) {
  try {
    body();
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(world.describe_failure(operation, e.what()));
  }
}

}  // namespace

void World::broadcast(std::vector<at::Tensor>& tensors, int root) const {
  run_collective(*this, "broadcast", [&] {
    c10d::BroadcastOptions options;
    options.rootRank = root;
    options.timeout = impl_->timeout;
    // One at a time: Gloo takes a list only as copies of one tensor (one per device), and a
    // flat copy would double the model's memory for a one-off.
    for (at::Tensor& tensor : tensors) {
      TORCH_INTERNAL_ASSERT(tensor.is_contiguous(), "broadcast of a non-contiguous tensor");
      std::vector<at::Tensor> one{to_group_device(*this, tensor)};
      impl_->group->broadcast(one, options)->wait();
      from_group_device(one[0], tensor);
    }
  });
}

void World::all_reduce_sum(std::vector<at::Tensor>& tensors) const {
  run_collective(*this, "all_reduce", [&] {
    c10d::AllreduceOptions options;
    options.reduceOp = c10d::ReduceOp::SUM;
    options.timeout = impl_->timeout;
    for (at::Tensor& tensor : tensors) {
      std::vector<at::Tensor> one{to_group_device(*this, tensor)};
      impl_->group->allreduce(one, options)->wait();
      from_group_device(one[0], tensor);
    }
  });
}

at::Tensor World::all_gather(const at::Tensor& local) const {
  at::Tensor input = to_group_device(*this, local.contiguous());
  std::vector<int64_t> shape = input.sizes().vec();
  TORCH_INTERNAL_ASSERT(!shape.empty(), "all_gather of a scalar");
  shape[0] *= size();
  at::Tensor output = at::empty(shape, input.options());
  run_collective(*this, "all_gather", [&] {
    c10d::AllgatherOptions options;
    options.timeout = impl_->timeout;
    impl_->group->_allgather_base(output, input, options)->wait();
  });
  return output.to(local.device());
}

std::vector<std::string> World::all_gather_strings(const std::string& text) const {
  const at::Tensor lengths =
      all_gather(at::full({1}, static_cast<int64_t>(text.size()), at::kLong));
  const int64_t longest = lengths.max().item<int64_t>();
  at::Tensor bytes = at::zeros({1, std::max<int64_t>(longest, 1)}, at::kByte);
  std::memcpy(bytes.data_ptr<uint8_t>(), text.data(), text.size());
  const at::Tensor all = all_gather(bytes);
  std::vector<std::string> out;
  for (int r = 0; r < size(); ++r) {
    const auto* row = all[r].data_ptr<uint8_t>();
    out.emplace_back(reinterpret_cast<const char*>(row), lengths[r].item<int64_t>());
  }
  return out;
}

void World::barrier() const {
  run_collective(*this, "barrier", [&] {
    c10d::BarrierOptions options;
    options.timeout = impl_->timeout;
    impl_->group->barrier(options)->wait();
  });
}

std::shared_ptr<World::Pending> World::all_reduce_sum_async(at::Tensor& tensor) const {
  auto pending = std::make_shared<Pending>();
  pending->operation = "all_reduce of gradients";
  run_collective(*this, "all_reduce of gradients", [&] {
    c10d::AllreduceOptions options;
    options.reduceOp = c10d::ReduceOp::SUM;
    options.timeout = impl_->timeout;
    std::vector<at::Tensor> tensors{tensor};
    pending->work = impl_->group->allreduce(tensors, options);
  });
  return pending;
}

void World::wait(const std::shared_ptr<Pending>& pending) const {
  run_collective(*this, pending->operation.c_str(), [&] { pending->work->wait(); });
}

namespace {

std::once_flag g_world_once;
World* g_world = nullptr;  // deliberately never deleted: the group outlives every static

}  // namespace

World* world() { return g_world; }

World* connect_world(std::chrono::seconds timeout, bool cuda) {
  std::call_once(g_world_once, [&] {
    const std::optional<LaunchInfo> info = launch_from_environment();
    if (!info) return;
    g_world = World::connect(*info, timeout, cuda).release();
    std::atexit([] { g_world->stop_heartbeat(); });
  });
  return g_world;
}

namespace {

struct AllGatherWithGrad : torch::autograd::Function<AllGatherWithGrad> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& local) {
    ctx->saved_data["rows"] = local.size(0);
    return g_world->all_gather(local);
  }
  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    const int64_t rows = ctx->saved_data["rows"].toInt();
    std::vector<at::Tensor> summed{grads[0].contiguous().clone()};
    g_world->all_reduce_sum(summed);
    return {summed[0].narrow(0, g_world->rank() * rows, rows)};
  }
};

}  // namespace

at::Tensor all_gather_with_grad(const at::Tensor& local) {
  if (g_world == nullptr) return local;
  return AllGatherWithGrad::apply(local);
}

// ---------------------------------------------------------------------------------------------

struct GradientReducer::Impl {
  const World* world = nullptr;
  struct Slot {
    at::Tensor parameter;
    size_t bucket = 0;
    int64_t offset = 0;
  };
  struct Bucket {
    at::Tensor flat;
    std::vector<size_t> slots;
    size_t waiting = 0;  // slots whose gradient has not arrived this step
    std::shared_ptr<World::Pending> pending;
  };
  std::vector<Slot> slots;
  std::vector<Bucket> buckets;
  std::vector<bool> arrived;
  size_t next_launch = 0;
  bool armed = false;
  std::mutex mutex;

  void launch_ready() {
    while (next_launch < buckets.size() && buckets[next_launch].waiting == 0) {
      Bucket& bucket = buckets[next_launch++];
      bucket.pending = world->all_reduce_sum_async(bucket.flat);
    }
  }

  void on_gradient(size_t index, const at::Tensor& grad) {
    std::lock_guard<std::mutex> lock(mutex);
    if (!armed || arrived[index]) return;
    Slot& slot = slots[index];
    Bucket& bucket = buckets[slot.bucket];
    at::Tensor view = bucket.flat.narrow(0, slot.offset, slot.parameter.numel());
    // The hook runs before the gradient is accumulated into .grad: add what earlier micro-batches
    // left there.
    const at::Tensor& accumulated = slot.parameter.grad();
    if (accumulated.defined())
      at::add_out(view, accumulated.reshape(-1), grad.reshape(-1));
    else
      view.copy_(grad.reshape(-1));
    arrived[index] = true;
    --bucket.waiting;
    launch_ready();
  }
};

GradientReducer::GradientReducer(const World& world, std::vector<at::Tensor> parameters,
                                 int64_t bucket_bytes, int64_t first_bucket_bytes)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.world = &world;
  // Reverse order: backward produces the last layers' gradients first.
  std::reverse(parameters.begin(), parameters.end());
  int64_t bucket_used = 0;
  std::vector<std::pair<size_t, int64_t>> layout;  // bucket, offset per slot
  std::vector<int64_t> bucket_numel;
  for (size_t i = 0; i < parameters.size(); ++i) {
    const at::Tensor& p = parameters[i];
    const int64_t bytes = p.numel() * static_cast<int64_t>(p.element_size());
    const int64_t cap = bucket_numel.size() <= 1 ? first_bucket_bytes : bucket_bytes;
    const bool same_kind =
        i > 0 && parameters[i - 1].dtype() == p.dtype() && parameters[i - 1].device() == p.device();
    if (bucket_numel.empty() || !same_kind || (bucket_used > 0 && bucket_used + bytes > cap)) {
      bucket_numel.push_back(0);
      bucket_used = 0;
    }
    layout.emplace_back(bucket_numel.size() - 1, bucket_numel.back());
    bucket_numel.back() += p.numel();
    bucket_used += bytes;
  }
  m.buckets.resize(bucket_numel.size());
  for (size_t i = 0; i < parameters.size(); ++i) {
    m.slots.push_back({parameters[i], layout[i].first, layout[i].second});
    m.buckets[layout[i].first].slots.push_back(i);
  }
  for (size_t b = 0; b < m.buckets.size(); ++b) {
    const at::Tensor& first = m.slots[m.buckets[b].slots.front()].parameter;
    m.buckets[b].flat = at::zeros({bucket_numel[b]}, first.options().requires_grad(false));
  }
  m.arrived.assign(m.slots.size(), false);
  for (size_t i = 0; i < m.slots.size(); ++i) {
    Impl* impl = impl_.get();
    m.slots[i].parameter.register_hook(
        [impl, i](const at::Tensor& grad) { impl->on_gradient(i, grad); });
  }
}

GradientReducer::~GradientReducer() = default;

size_t GradientReducer::num_buckets() const { return impl_->buckets.size(); }

void GradientReducer::arm() {
  Impl& m = *impl_;
  std::lock_guard<std::mutex> lock(m.mutex);
  m.armed = true;
  m.next_launch = 0;
  std::fill(m.arrived.begin(), m.arrived.end(), false);
  for (auto& bucket : m.buckets) {
    bucket.waiting = bucket.slots.size();
    bucket.pending.reset();
  }
}

void GradientReducer::finish() {
  Impl& m = *impl_;
  std::unique_lock<std::mutex> lock(m.mutex);
  if (!m.armed) {
    // Not armed (a loss that runs its own backward passes): everything is reduced now.
    m.next_launch = 0;
    std::fill(m.arrived.begin(), m.arrived.end(), false);
    for (auto& bucket : m.buckets) {
      bucket.waiting = bucket.slots.size();
      bucket.pending.reset();
    }
  }
  m.armed = false;
  // Gradients that never arrived (not reached by this rank's backward): what .grad holds, or 0.
  for (size_t i = 0; i < m.slots.size(); ++i) {
    if (m.arrived[i]) continue;
    Impl::Slot& slot = m.slots[i];
    Impl::Bucket& bucket = m.buckets[slot.bucket];
    at::Tensor view = bucket.flat.narrow(0, slot.offset, slot.parameter.numel());
    if (slot.parameter.grad().defined())
      view.copy_(slot.parameter.grad().reshape(-1));
    else
      view.zero_();
    m.arrived[i] = true;
    --bucket.waiting;
  }
  m.launch_ready();
  const double scale = 1.0 / static_cast<double>(m.world->size());
  for (auto& bucket : m.buckets) {
    m.world->wait(bucket.pending);
    bucket.pending.reset();
    bucket.flat.mul_(scale);
    for (size_t i : bucket.slots) {
      Impl::Slot& slot = m.slots[i];
      at::Tensor averaged =
          bucket.flat.narrow(0, slot.offset, slot.parameter.numel()).view_as(slot.parameter);
      if (slot.parameter.grad().defined())
        slot.parameter.mutable_grad().copy_(averaged);
      else
        slot.parameter.mutable_grad() = averaged.clone();
    }
  }
}

}  // namespace embedtune::distributed
