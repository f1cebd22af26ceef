// Precompiled header for the LibTorch layers: the heavy headers, parsed once per target.
#pragma once
#include <ATen/ATen.h>
#include <fmt/format.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>
