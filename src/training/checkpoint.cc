// Checkpoint folders: writing them whole or not at all, reading them back, rotating them.
#include "training/checkpoint.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Context.h>
#include <ATen/core/Generator.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <regex>
#include <sstream>

#include "io/atomic_file.h"
#include "io/checksum.h"
#include "io/error.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "model/sentence_transformer.h"
#include "model/weights.h"

namespace embedtune::training {
namespace fs = std::filesystem;
namespace {

std::vector<uint8_t> tensor_bytes(const at::Tensor& bytes) {
  const at::Tensor cpu = bytes.to(at::kCPU).contiguous();
  const uint8_t* data = cpu.data_ptr<uint8_t>();
  return std::vector<uint8_t>(data, data + cpu.numel());
}

at::Tensor bytes_tensor(const std::vector<uint8_t>& bytes) {
  at::Tensor out = at::empty({static_cast<int64_t>(bytes.size())}, at::kByte);
  if (!bytes.empty()) std::memcpy(out.data_ptr<uint8_t>(), bytes.data(), bytes.size());
  return out;
}

// A checkpoint tensor's dtype: the ones optimizer and RNG state use.
at::ScalarType from_dtype(io::DType type, const std::string& origin) {
  const at::ScalarType scalar_type = to_scalar_type(type);
  if (scalar_type == at::ScalarType::Undefined) {
    fail("{}: unexpected tensor dtype {}; pick another checkpoint", origin, io::dtype_name(type));
  }
  return scalar_type;
}

void write_tensors(const fs::path& path,
                   const std::vector<std::pair<std::string, at::Tensor>>& tensors) {
  std::vector<at::Tensor> keep;  // CPU copies that the byte spans point into
  std::vector<io::TensorData> data;
  keep.reserve(tensors.size());
  for (const auto& [name, tensor] : tensors) {
    keep.push_back(tensor.detach().to(at::kCPU).contiguous());
    const at::Tensor& cpu = keep.back();
    data.push_back(
        {name, to_dtype(cpu.scalar_type()),
         std::vector<int64_t>(cpu.sizes().begin(), cpu.sizes().end()),
         std::span<const std::byte>(static_cast<const std::byte*>(cpu.data_ptr()), cpu.nbytes())});
  }
  io::write_safetensors(path, data);
}

std::vector<std::pair<std::string, at::Tensor>> read_tensors(const fs::path& path) {
  if (!fs::exists(path))
    fail("{}: not found; the checkpoint is incomplete, pick another one", path.string());
  const io::SafetensorsFile file = io::SafetensorsFile::open(path);
  std::vector<std::pair<std::string, at::Tensor>> out;
  for (const io::TensorInfo& info : file.tensors()) {
    at::Tensor tensor = at::empty(info.shape, from_dtype(info.dtype, path.string()));
    const auto bytes = file.data(info);
    TORCH_INTERNAL_ASSERT(static_cast<size_t>(tensor.nbytes()) == bytes.size());
    if (!bytes.empty()) std::memcpy(tensor.data_ptr(), bytes.data(), bytes.size());
    file.release(info);  // the optimizer's state is twice the model: not held twice more
    out.emplace_back(info.name, std::move(tensor));
  }
  return out;
}

std::optional<int64_t> checkpoint_step(const fs::path& path) {
  static const std::regex pattern(std::string(kCheckpointPrefix) + "-([0-9]+)");
  std::smatch match;
  const std::string name = path.filename().string();
  if (!std::regex_match(name, match, pattern)) return std::nullopt;
  return std::stoll(match[1].str());
}

}  // namespace

RngState RngState::capture(const std::mt19937_64& engine, bool cuda) {
  RngState state;
  {
    at::Generator gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    state.torch_cpu = gen.get_state();
  }
  if (cuda) {
    at::Generator gen = at::globalContext().defaultGenerator(c10::Device(c10::kCUDA));
    std::lock_guard<std::mutex> lock(gen.mutex());
    state.torch_cuda = gen.get_state();
  }
  std::ostringstream text;
  text << engine;
  state.mt19937_64 = text.str();
  return state;
}

void RngState::restore(std::mt19937_64& engine) const {
  {
    at::Generator gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(torch_cpu);
  }
  if (torch_cuda.defined() && at::hasCUDA()) {
    at::Generator gen = at::globalContext().defaultGenerator(c10::Device(c10::kCUDA));
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(torch_cuda);
  }
  std::istringstream text(mt19937_64);
  text >> engine;
  TORCH_INTERNAL_ASSERT(!text.fail(), "mt19937_64 state did not parse");
}

RngStateFile RngState::to_file() const {
  RngStateFile file;
  file.torch_cpu = tensor_bytes(torch_cpu);
  if (torch_cuda.defined()) file.torch_cuda = tensor_bytes(torch_cuda);
  file.mt19937_64 = mt19937_64;
  file.epoch = epoch;
  file.micro_batch = micro_batch;
  return file;
}

RngState RngState::from_file(const RngStateFile& file) {
  RngState state;
  state.torch_cpu = bytes_tensor(file.torch_cpu);
  if (file.torch_cuda) state.torch_cuda = bytes_tensor(*file.torch_cuda);
  state.mt19937_64 = file.mt19937_64;
  state.epoch = file.epoch;
  state.micro_batch = file.micro_batch;
  return state;
}

std::string checkpoint_folder_name(int64_t global_step) {
  return fmt::format("{}-{}", kCheckpointPrefix, global_step);
}

fs::path save_checkpoint(const fs::path& output_dir, const SentenceTransformer& model,
                         const CheckpointContents& contents) {
  const fs::path target = output_dir / checkpoint_folder_name(contents.state.global_step);
  // The model writer builds its own folder and renames it into place; everything else is added
  // to that folder under a temporary name, the manifest last, and only the whole is renamed to
  // checkpoint-<step>.
  const fs::path staging = io::staging_path(target, "tmp");
  const fs::path old = io::staging_path(target, "old");
  std::error_code ec;
  fs::remove_all(staging, ec);
  auto failed = [&](const std::string& why) {
    fs::remove_all(staging, ec);
    if (!fs::exists(target, ec) && fs::exists(old, ec)) fs::rename(old, target, ec);
    fail(
        "{}: the checkpoint could not be written: {}; earlier checkpoints are intact, so free "
        "disk space and run the same command again to resume",
        target.string(), why);
  };
  try {
    model.save(staging);
    write_tensors(staging / kOptimizerName, contents.optimizer);
    io::write_json_file_atomic(staging / kSchedulerName, contents.scheduler);
    io::write_json_file_atomic(staging / kRngStateName, contents.rng.to_file().to_json());
    for (size_t r = 0; r < contents.other_ranks_rng.size(); ++r) {
      io::write_json_file_atomic(staging / fmt::format("rng_state_{}.json", r + 1),
                                 contents.other_ranks_rng[r].to_file().to_json());
    }
    io::write_json_file_atomic(staging / kResumeName, contents.resume);
    io::write_json_file_atomic(staging / kTrainerStateName, contents.state.to_json());
    io::write_manifest(staging);
    if (fs::exists(target)) fs::rename(target, old);
    fs::rename(staging, target);
  } catch (const fs::filesystem_error& e) {
    failed(e.code().message());
  } catch (const Error& e) {
    failed(e.what());
  }
  fs::remove_all(old, ec);
  return target;
}

std::string checkpoint_damage(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return fmt::format("{} is not a folder", dir.string());
  return io::verify_manifest(dir);
}

CheckpointContents load_checkpoint(const fs::path& dir, int rank) {
  if (!fs::is_directory(dir))
    fail("{}: not a checkpoint folder; check resume_from_checkpoint", dir.string());
  if (const std::string damage = checkpoint_damage(dir); !damage.empty()) {
    fail("{}: the checkpoint is damaged: {}; resume from an earlier checkpoint or delete this one",
         dir.string(), damage);
  }
  CheckpointState plain = read_checkpoint_state(dir);
  CheckpointContents contents;
  contents.state = std::move(plain.state);
  contents.scheduler = std::move(plain.scheduler);
  contents.resume = std::move(plain.resume);
  contents.optimizer = read_tensors(dir / kOptimizerName);
  contents.rng = RngState::from_file(plain.rng);
  std::string origin = (dir / kRngStateName).string();
  if (rank > 0) {
    const fs::path own = dir / fmt::format("rng_state_{}.json", rank);
    origin = own.string();
    if (!fs::exists(own)) {
      fail(
          "{}: missing: the checkpoint was written by fewer than {} processes; resume with the "
          "number of processes that wrote it",
          origin, rank + 1);
    }
    const RngStateFile file = RngStateFile::from_json(io::read_json_file(own), origin);
    contents.rng = RngState::from_file(file);
  }
  // The CPU state is tried on a throw-away generator here, so a garbled file is this error and
  // not LibTorch's internal assertion when training resumes.
  try {
    at::Generator probe = at::make_generator<at::CPUGeneratorImpl>();
    probe.set_state(contents.rng.torch_cpu);
  } catch (const c10::Error&) {
    fail("{}: torch_cpu is not a CPU generator state ({} bytes); pick another checkpoint", origin,
         contents.rng.torch_cpu.numel());
  }
  return contents;
}

std::vector<fs::path> sorted_checkpoints(const fs::path& output_dir) {
  std::vector<std::pair<int64_t, fs::path>> found;
  if (!fs::is_directory(output_dir)) return {};
  for (const auto& entry : fs::directory_iterator(output_dir)) {
    if (!entry.is_directory()) continue;
    if (auto step = checkpoint_step(entry.path())) found.emplace_back(*step, entry.path());
  }
  std::sort(found.begin(), found.end());
  std::vector<fs::path> out;
  for (auto& [step, path] : found) out.push_back(path);
  return out;
}

fs::path named_checkpoint(const std::string& name, const fs::path& output_dir) {
  std::error_code ec;
  if (fs::is_directory(name, ec)) return name;
  const std::vector<fs::path> all = sorted_checkpoints(output_dir);
  if (all.empty()) {
    fail(
        "resume_from_checkpoint: expected a checkpoint folder, found no folder {}, and {} has no "
        "checkpoint-<step> folder; check the path, or train without resume_from_checkpoint",
        name, output_dir.string());
  }
  // A relative path is taken from the current folder, as transformers takes it, not from
  // output_dir: "checkpoint-4" alone is the usual slip.
  std::vector<std::string> names;
  for (auto it = all.size() > 3 ? all.end() - 3 : all.begin(); it != all.end(); ++it)
    names.push_back(it->string());
  fail(
      "resume_from_checkpoint: expected a checkpoint folder, found no folder {}; give {}{} (paths "
      "are from the current folder), or last for the newest",
      name,
      all.size() == 1  ? ""
      : all.size() > 3 ? "one of ..., "
                       : "one of ",
      fmt::join(names, ", "));
}

fs::path last_checkpoint(const fs::path& output_dir) {
  const auto all = sorted_checkpoints(output_dir);
  if (all.empty()) {
    fail(
        "{}: no checkpoint-<step> folder to resume from; give resume_from_checkpoint a checkpoint "
        "folder",
        output_dir.string());
  }
  return all.back();
}

fs::path last_intact_checkpoint(
    const fs::path& output_dir,
    const std::function<void(const fs::path&, const std::string&)>& skipped) {
  const auto all = sorted_checkpoints(output_dir);
  std::string newest_damage;
  for (auto it = all.rbegin(); it != all.rend(); ++it) {
    const std::string damage = checkpoint_damage(*it);
    if (damage.empty()) return *it;
    if (newest_damage.empty()) newest_damage = damage;
    if (skipped) skipped(*it, damage);
  }
  if (all.empty()) return last_checkpoint(output_dir);  // throws: there is none
  fail(
      "{}: no intact checkpoint to resume from ({} damaged; the newest: {}); delete them and "
      "train from the start",
      output_dir.string(), all.size(), newest_damage);
}

std::vector<fs::path> rotate_checkpoints(const fs::path& output_dir, int64_t save_total_limit,
                                         const std::optional<std::string>& best_model_checkpoint) {
  std::vector<fs::path> deleted;
  if (save_total_limit <= 0) return deleted;
  const auto checkpoints = sorted_checkpoints(output_dir);
  if (static_cast<int64_t>(checkpoints.size()) <= save_total_limit) return deleted;
  auto same = [](const fs::path& a, const fs::path& b) {
    std::error_code ec;
    return fs::equivalent(a, b, ec) || a.lexically_normal() == b.lexically_normal();
  };
  std::vector<fs::path> protected_paths = {checkpoints.back()};
  if (best_model_checkpoint && !same(*best_model_checkpoint, checkpoints.back()))
    protected_paths.emplace_back(*best_model_checkpoint);
  const int64_t keep =
      std::max<int64_t>(save_total_limit, static_cast<int64_t>(protected_paths.size()));
  int64_t remaining = static_cast<int64_t>(checkpoints.size());
  for (const fs::path& checkpoint : checkpoints) {
    if (remaining <= keep) break;
    const bool is_protected = std::any_of(protected_paths.begin(), protected_paths.end(),
                                          [&](const fs::path& p) { return same(p, checkpoint); });
    if (is_protected) continue;
    fs::remove_all(checkpoint);
    deleted.push_back(checkpoint);
    --remaining;
  }
  return deleted;
}

}  // namespace embedtune::training
