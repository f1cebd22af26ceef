// Moving tensors between a LibTorch module and a model.safetensors file.
#include "model/weights.h"

#include <ATen/ATen.h>
#include <fmt/ranges.h>

#include <map>
#include <vector>

#include "io/error.h"
#include "io/safetensors.h"

namespace embedtune {
namespace {

// transformers' base_model_prefix of each architecture: a BertForX / RobertaForX / MPNetForX /
// ModernBertForX checkpoint stores the encoder's tensors under it.
constexpr std::string_view kPrefixes[] = {"bert.", "roberta.", "mpnet.", "model."};

std::string strip_prefix(const std::string& name) {
  for (const std::string_view prefix : kPrefixes) {
    if (name.rfind(prefix, 0) == 0) return name.substr(prefix.size());
  }
  return name;
}

}  // namespace

at::ScalarType to_scalar_type(io::DType dtype) {
  switch (dtype) {
    case io::DType::F32:
      return at::kFloat;
    case io::DType::F16:
      return at::kHalf;
    case io::DType::BF16:
      return at::kBFloat16;
    case io::DType::F64:
      return at::kDouble;
    case io::DType::I64:
      return at::kLong;
    case io::DType::I32:
      return at::kInt;
    case io::DType::I16:
      return at::kShort;
    case io::DType::I8:
      return at::kChar;
    case io::DType::U8:
      return at::kByte;
    case io::DType::BOOL:
      return at::kBool;
    default:
      return at::ScalarType::Undefined;
  }
}

io::DType to_dtype(at::ScalarType type) {
  switch (type) {
    case at::kFloat:
      return io::DType::F32;
    case at::kHalf:
      return io::DType::F16;
    case at::kBFloat16:
      return io::DType::BF16;
    case at::kDouble:
      return io::DType::F64;
    case at::kLong:
      return io::DType::I64;
    case at::kInt:
      return io::DType::I32;
    case at::kShort:
      return io::DType::I16;
    case at::kChar:
      return io::DType::I8;
    case at::kByte:
      return io::DType::U8;
    case at::kBool:
      return io::DType::BOOL;
    default:
      fail("internal: no safetensors dtype for {}", c10::toString(type));
  }
}

namespace {

std::string shape_string(at::IntArrayRef shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

}  // namespace

std::map<std::string, std::vector<int64_t>> weight_shapes(const std::filesystem::path& path) {
  auto file = io::SafetensorsFile::open(path);
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& info : file.tensors()) shapes[strip_prefix(info.name)] = info.shape;
  return shapes;
}

void load_weights(torch::nn::Module& module, const std::filesystem::path& path) {
  auto file = io::SafetensorsFile::open(path);
  std::map<std::string, const io::TensorInfo*> by_name;
  for (const auto& info : file.tensors()) by_name[strip_prefix(info.name)] = &info;

  at::NoGradGuard no_grad;
  auto copy_into = [&](const std::string& name, at::Tensor& target) {
    auto it = by_name.find(name);
    if (it == by_name.end()) {
      fail(
          "{}: tensor '{}' is missing (the model of config.json needs it, shape {}); the file "
          "does not belong to this config.json",
          path.string(), name, shape_string(target.sizes()));
    }
    const io::TensorInfo& info = *it->second;
    const at::ScalarType stored = to_scalar_type(info.dtype);
    if (stored == at::ScalarType::Undefined) {
      fail(
          "{}: tensor '{}' has dtype {}, which embedtune cannot load; expected F32, F16, BF16 or "
          "F64",
          path.string(), info.name, io::dtype_name(info.dtype));
    }
    if (at::IntArrayRef(info.shape) != target.sizes()) {
      fail(
          "{}: tensor '{}' has shape {} but config.json implies {}; the weights and config.json "
          "disagree",
          path.string(), info.name, shape_string(info.shape), shape_string(target.sizes()));
    }
    if (at::isFloatingType(target.scalar_type()) != at::isFloatingType(stored)) {
      fail("{}: tensor '{}' has dtype {}, expected a {} type", path.string(), info.name,
           io::dtype_name(info.dtype),
           at::isFloatingType(target.scalar_type()) ? "floating" : "integer");
    }
    auto bytes = file.data(info);
    // from_blob over the mapping; copy_ converts dtype and device. The mapping outlives the copy.
    at::Tensor source = at::from_blob(const_cast<std::byte*>(bytes.data()), info.shape,
                                      at::TensorOptions().dtype(stored));
    target.copy_(source);  // synchronous, also to a device: the bytes are read when it returns
    file.release(info);    // so that the model is not held twice, copied and mapped
  };
  for (auto& item : module.named_parameters(/*recurse=*/true)) copy_into(item.key(), item.value());
  for (auto& item : module.named_buffers(/*recurse=*/true)) copy_into(item.key(), item.value());
}

void save_weights(const torch::nn::Module& module, const std::filesystem::path& path) {
  std::vector<at::Tensor> keep_alive;
  std::vector<io::TensorData> tensors;
  auto add = [&](const std::string& name, const at::Tensor& tensor) {
    at::Tensor cpu = tensor.detach().to(at::kCPU).contiguous();
    keep_alive.push_back(cpu);
    tensors.push_back(io::TensorData{
        name, to_dtype(cpu.scalar_type()),
        std::vector<int64_t>(cpu.sizes().begin(), cpu.sizes().end()),
        std::span<const std::byte>(static_cast<const std::byte*>(cpu.data_ptr()), cpu.nbytes())});
  };
  for (const auto& item : module.named_parameters(true)) add(item.key(), item.value());
  for (const auto& item : module.named_buffers(true)) add(item.key(), item.value());
  io::write_safetensors(path, tensors, {{"format", "pt"}});
}

}  // namespace embedtune
