// dropout_noise() against LibTorch itself: the same noise as at::dropout / bernoulli_ from the
// same generator state, and the generator left where LibTorch leaves it.
#include "model/dropout.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace embedtune {
namespace {

uint64_t next_default_draw() {
  return at::detail::getDefaultCPUGenerator().get<at::CPUGeneratorImpl>()->random64();
}

TEST(DropoutNoise, UsesItsOwnLoopWithThisLibTorch) {
  EXPECT_TRUE(dropout_noise_is_fast())
      << "this LibTorch's bernoulli_ draws differently from the mt19937 loop in dropout.cc, so "
         "dropout "
         "falls back to bernoulli_ (same masks, slower training); see src/model/dropout.h";
}

TEST(DropoutNoise, EqualsAtDropoutFromTheSameSeed) {
  // Sizes below, at and across the 624-word twist, and a draw count that starts mid-block.
  const std::vector<std::vector<int64_t>> shapes = {{1},    {311},           {624},   {2, 624},
                                                    {1247}, {8, 12, 37, 37}, {100003}};
  for (const double p : {0.1, 0.37, 0.5}) {
    for (const auto& shape : shapes) {
      for (const int64_t offset : {0, 1, 5, 623}) {
        at::manual_seed(42);
        if (offset > 0) at::empty({offset}).bernoulli_(0.5);
        const at::Tensor expected = at::dropout(at::ones(shape), p, /*train=*/true);
        const uint64_t expected_next = next_default_draw();

        at::manual_seed(42);
        if (offset > 0) at::empty({offset}).bernoulli_(0.5);
        const at::Tensor got = dropout_noise(shape, p, at::TensorOptions().dtype(at::kFloat));
        const uint64_t got_next = next_default_draw();

        ASSERT_TRUE(at::equal(got, expected))
            << "p " << p << ", " << got.numel() << " elements, offset " << offset;
        ASSERT_EQ(got_next, expected_next) << "generator state differs after p " << p << ", "
                                           << got.numel() << " elements, offset " << offset;
      }
    }
  }
}

TEST(DropoutNoise, DropsAboutPAndScalesTheRest) {
  at::manual_seed(7);
  const at::Tensor noise = dropout_noise({1000000}, 0.1, at::TensorOptions().dtype(at::kFloat));
  const double dropped = (noise == 0).to(at::kDouble).mean().item<double>();
  EXPECT_NEAR(dropped, 0.1, 0.002);
  EXPECT_FLOAT_EQ(noise.max().item<float>(), 1.0f / 0.9f);
}

TEST(DropoutNoise, OtherDtypesFallBackToBernoulli) {
  at::manual_seed(3);
  const at::Tensor expected = at::dropout(at::ones({999}, at::kDouble), 0.2, /*train=*/true);
  at::manual_seed(3);
  const at::Tensor got = dropout_noise({999}, 0.2, at::TensorOptions().dtype(at::kDouble));
  EXPECT_TRUE(at::equal(got, expected));
}

}  // namespace
}  // namespace embedtune
