// Moving tensors between a LibTorch module and a model.safetensors file, by Hugging Face key name.
#pragma once

#include <c10/core/ScalarType.h>
#include <torch/nn/module.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "io/safetensors.h"

namespace embedtune {

// The LibTorch dtype of a safetensors dtype; ScalarType::Undefined for one LibTorch lacks.
at::ScalarType to_scalar_type(io::DType dtype);

// The safetensors dtype of a LibTorch dtype; throws embedtune::Error for one safetensors lacks.
io::DType to_dtype(at::ScalarType type);

// Copies every parameter and buffer of `module` from the safetensors file at `path`, converting
// F16/BF16/F64 to the module's dtype. Keys may carry a base-model prefix ("bert.", "roberta.",
// "mpnet.", "model.": BertForX-style checkpoints). Throws embedtune::Error naming the file and key
// when a tensor is missing, has a shape that disagrees with config.json, or has a dtype that cannot
// become floating point. Keys in the file that the module does not have (heads of pre-training
// checkpoints) are ignored.
void load_weights(torch::nn::Module& module, const std::filesystem::path& path);

// The tensor names stored in the file at `path` (a base-model prefix removed) with their shapes.
std::map<std::string, std::vector<int64_t>> weight_shapes(const std::filesystem::path& path);

// Writes every parameter and buffer of `module` (on any device, any dtype) to `path` atomically,
// with metadata {"format": "pt"} as transformers writes it.
void save_weights(const torch::nn::Module& module, const std::filesystem::path& path);

}  // namespace embedtune
