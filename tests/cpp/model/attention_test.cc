// Attention over packed tokens: the patterns in both their forms, and the varlen CUDA kernels
// against the padded path (which the parity tests hold to transformers) on the same batch.
#include "model/attention.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "model/packed_batch.h"

namespace embedtune {
namespace {

// Sequences of these lengths, token ids 1..length (the ids do not matter to attention).
PackedBatch batch_of(const std::vector<int>& lengths, at::Device device) {
  std::vector<std::vector<int32_t>> ids;
  for (const int length : lengths) {
    std::vector<int32_t> sequence(static_cast<size_t>(length));
    for (int i = 0; i < length; ++i) sequence[static_cast<size_t>(i)] = i + 1;
    ids.push_back(std::move(sequence));
  }
  std::vector<const std::vector<int32_t>*> pointers;
  for (const auto& sequence : ids) pointers.push_back(&sequence);
  return PackedBatch::from_ids(pointers, device);
}

TEST(AttentionPattern, HoldsTheSamePairsAsNumbersAndAsAMask) {
  const PackedBatch batch = batch_of({3, 5}, at::kCPU);
  const AttentionPattern causal = AttentionPattern::causal_over(batch);
  EXPECT_TRUE(causal.causal);
  EXPECT_EQ(causal.window, -1);
  // key <= query over T = 5.
  EXPECT_TRUE(at::equal(causal.allowed, at::ones({5, 5}, at::kBool).tril().view({1, 1, 5, 5})))
      << causal.allowed;

  const AttentionPattern window = AttentionPattern::sliding_window(batch, 1);
  EXPECT_FALSE(window.causal);
  EXPECT_EQ(window.window, 1);
  EXPECT_TRUE(at::equal(window.allowed, sliding_window_pairs(5, 1, at::kCPU)));
  // A batch whose longest sequence fits the window has no pairs to leave out.
  const AttentionPattern wide = AttentionPattern::sliding_window(batch, 4);
  EXPECT_EQ(wide.window, -1);
  EXPECT_FALSE(wide.allowed.defined());
  EXPECT_FALSE(AttentionPattern::full().allowed.defined());
}

TEST(VarlenAttention, IsNotUsedOffCuda) {
  const PackedBatch batch = batch_of({2, 3}, at::kCPU);
  const at::Tensor qkv = at::randn({5, 3 * 2 * 8});
  EXPECT_FALSE(varlen_attention(qkv, batch, {.num_heads = 2, .head_dim = 8}).has_value());
}

// What decides whether a failing varlen kernel switches itself off (outside a CUDA graph's
// capture) or fails the capture (inside it): a per-thread count of live guards.
TEST(KernelFailuresPropagate, HoldsOnItsThreadWhileAlive) {
  EXPECT_FALSE(KernelFailuresPropagate::active());
  {
    const KernelFailuresPropagate outer;
    EXPECT_TRUE(KernelFailuresPropagate::active());
    {
      const KernelFailuresPropagate inner;
      EXPECT_TRUE(KernelFailuresPropagate::active());
    }
    EXPECT_TRUE(KernelFailuresPropagate::active()) << "the outer guard still lives";
    bool elsewhere = true;
    std::thread([&] { elsewhere = KernelFailuresPropagate::active(); }).join();
    EXPECT_FALSE(elsewhere) << "another thread (the autograd engine's, say) is not guarded";
  }
  EXPECT_FALSE(KernelFailuresPropagate::active());
}

// The varlen kernels against the padded path computed in fp32 on the CPU, forward and gradients,
// for every pattern the architectures use, in bf16 (flash) and fp32 (memory-efficient).
TEST(VarlenAttention, MatchesThePaddedPathOnCuda) {
  if (!at::hasCUDA())
    GTEST_SKIP() << "needs a CUDA device (none here): the varlen kernels are CUDA-only";
  const std::vector<int> lengths{5, 17, 1, 33, 8};
  const PackedBatch cpu_batch = batch_of(lengths, at::kCPU);
  const PackedBatch cuda_batch = batch_of(lengths, at::Device(at::kCUDA, 0));
  const int64_t heads = 4, head_dim = 64, n = cpu_batch.num_tokens();
  struct Case {
    std::string name;
    AttentionPattern cpu, cuda;
  };
  const std::vector<Case> cases{
      {"full", AttentionPattern::full(), AttentionPattern::full()},
      {"causal", AttentionPattern::causal_over(cpu_batch),
       AttentionPattern::causal_over(cuda_batch)},
      {"window 4", AttentionPattern::sliding_window(cpu_batch, 4),
       AttentionPattern::sliding_window(cuda_batch, 4)},
  };
  at::manual_seed(0);
  const at::Tensor qkv = at::randn({n, 3 * heads * head_dim});
  const at::Tensor upstream = at::randn({n, heads * head_dim});
  for (const auto& c : cases) {
    at::Tensor reference_in = qkv.clone().requires_grad_(true);
    const at::Tensor reference = packed_attention(
        reference_in, cpu_batch, {.num_heads = heads, .head_dim = head_dim, .pattern = c.cpu});
    (reference * upstream).sum().backward();
    const at::Tensor expected = reference.detach(), expected_grad = reference_in.grad();
    for (const auto dtype : {at::kBFloat16, at::kFloat}) {
      // Relative to the largest value: bf16 keeps 8 bits of mantissa.
      const double tolerance = dtype == at::kFloat ? 1e-4 : 3e-2;
      at::Tensor input = qkv.to(at::Device(at::kCUDA, 0), dtype).requires_grad_(true);
      const std::optional<at::Tensor> out = varlen_attention(
          input, cuda_batch, {.num_heads = heads, .head_dim = head_dim, .pattern = c.cuda});
      if (dtype == at::kFloat && c.cuda.window >= 0) {
        EXPECT_FALSE(out.has_value()) << "the memory-efficient kernel has no two-sided window";
        continue;
      }
      ASSERT_TRUE(out.has_value()) << c.name << " " << dtype;
      (*out * upstream.to(out->device(), dtype)).sum().backward();
      const auto relative = [](const at::Tensor& got, const at::Tensor& want) {
        return ((got.detach().cpu().to(at::kFloat) - want).abs().max() / want.abs().max())
            .item<double>();
      };
      EXPECT_LE(relative(*out, expected), tolerance) << c.name << " " << dtype << " forward";
      EXPECT_LE(relative(input.grad(), expected_grad), tolerance)
          << c.name << " " << dtype << " gradient";
    }
  }
}

}  // namespace
}  // namespace embedtune
