// Linear and Embedding (model/layers.h) against LibTorch's torch::nn::Linear and
// torch::nn::Embedding: the same parameters under the same names, the same outputs and gradients
// from the same weights, and no random draw when they are built.
#include "model/layers.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace embedtune {
namespace {

std::vector<std::string> keys(const torch::nn::Module& module) {
  std::vector<std::string> names;
  for (const auto& item : module.named_parameters()) names.push_back(item.key());
  return names;
}

std::vector<std::vector<int64_t>> shapes(const torch::nn::Module& module) {
  std::vector<std::vector<int64_t>> sizes;
  for (const auto& p : module.parameters()) sizes.emplace_back(p.sizes().begin(), p.sizes().end());
  return sizes;
}

uint64_t next_default_draw() {
  return at::detail::getDefaultCPUGenerator().get<at::CPUGeneratorImpl>()->random64();
}

// Copies `from`'s parameters into `to`'s, in order (the names are checked to agree first).
void copy_parameters(const torch::nn::Module& from, torch::nn::Module& to) {
  at::NoGradGuard no_grad;
  auto source = from.parameters();
  auto target = to.parameters();
  ASSERT_EQ(source.size(), target.size());
  for (size_t i = 0; i < source.size(); ++i) target[i].copy_(source[i]);
}

TEST(Layers, LinearHasTorchsParametersOutputAndGradients) {
  for (const bool bias : {true, false}) {
    at::manual_seed(3);
    torch::nn::Linear expected(torch::nn::LinearOptions(5, 7).bias(bias));
    Linear got(5, 7, bias);
    ASSERT_EQ(keys(*got), keys(*expected)) << "bias " << bias;
    ASSERT_EQ(shapes(*got), shapes(*expected)) << "bias " << bias;
    for (const auto& p : got->parameters()) EXPECT_TRUE(p.requires_grad());
    copy_parameters(*expected, *got);

    const at::Tensor input = at::randn({3, 4, 5});
    const at::Tensor want = expected->forward(input);
    const at::Tensor have = got->forward(input);
    ASSERT_TRUE(at::equal(have, want)) << "bias " << bias;

    want.square().sum().backward();
    have.square().sum().backward();
    auto want_grads = expected->parameters();
    auto have_grads = got->parameters();
    for (size_t i = 0; i < want_grads.size(); ++i) {
      EXPECT_TRUE(at::equal(have_grads[i].grad(), want_grads[i].grad()))
          << keys(*got)[i] << ", bias " << bias;
    }
  }
}

TEST(Layers, EmbeddingHasTorchsOutputAndLeavesThePaddingRowWithoutGradient) {
  for (const std::optional<int64_t> padding_idx :
       {std::optional<int64_t>(), std::optional<int64_t>(2)}) {
    at::manual_seed(4);
    torch::nn::EmbeddingOptions options(6, 3);
    if (padding_idx) options.padding_idx(*padding_idx);
    torch::nn::Embedding expected(options);
    Embedding got(6, 3, padding_idx);
    ASSERT_EQ(keys(*got), keys(*expected));
    ASSERT_EQ(shapes(*got), shapes(*expected));
    {
      // A loaded table, padding row included, is whatever the checkpoint holds (torch zeroes
      // that row only at initialisation).
      at::NoGradGuard no_grad;
      expected->weight.copy_(at::randn({6, 3}));
    }
    copy_parameters(*expected, *got);

    // Non-contiguous ids with repeats, the padding id among them.
    const at::Tensor ids = at::tensor({0, 2, 5, 2, 1, 2, 4, 3}, at::kLong).view({4, 2}).t();
    const at::Tensor want = expected->forward(ids);
    const at::Tensor have = got->forward(ids);
    ASSERT_TRUE(at::equal(have, want));

    const at::Tensor coefficients = at::randn(want.sizes());
    (want * coefficients).sum().backward();
    (have * coefficients).sum().backward();
    const at::Tensor want_grad = expected->weight.grad();
    const at::Tensor have_grad = got->weight.grad();
    EXPECT_TRUE(at::equal(have_grad, want_grad));
    // The reference leaves the padding row without gradient, and only it: the check above can
    // tell the two apart.
    EXPECT_EQ(want_grad[2].abs().sum().item<float>() == 0.0f, padding_idx.has_value());
  }
}

TEST(Layers, BuildingThemDrawsNoRandomNumbers) {
  at::manual_seed(5);
  const uint64_t untouched = next_default_draw();
  at::manual_seed(5);
  Linear linear(64, 32);
  Embedding embedding(100, 16, 0);
  EXPECT_EQ(next_default_draw(), untouched)
      << "building Linear or Embedding drew from the CPU generator: it initialises weights that "
         "load_weights() overwrites";
  // LibTorch's modules do draw, so the check above can tell the difference.
  at::manual_seed(5);
  torch::nn::Linear torch_linear(64, 32);
  EXPECT_NE(next_default_draw(), untouched);
}

}  // namespace
}  // namespace embedtune
