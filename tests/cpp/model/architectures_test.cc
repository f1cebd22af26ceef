// Tests of the architecture layer: each model type's modules carry the checkpoint's key names,
// the per-sequence position rules on packed tokens, MPNet's relative-position buckets, the
// sliding window and the rotary embedding (all hand-computed), save -> load round trips, and the
// unsupported-model_type message.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "io/error.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "model/architectures/encoder.h"
#include "model/architectures/mpnet.h"
#include "model/architectures/qwen3.h"
#include "model/architectures/xlm_roberta.h"
#include "model/attention.h"
#include "model/packed_batch.h"
#include "model/rotary.h"
#include "model/sentence_transformer.h"
#include "test_support.h"

namespace embedtune {
namespace {
namespace fs = std::filesystem;

fs::path tiny_model(const std::string& name) {
  return fs::path(testing::required_env("EMBEDTUNE_TESTDATA")) / "models" / name;
}

class Architecture : public ::testing::TestWithParam<std::pair<std::string, std::string>> {};

TEST_P(Architecture, NamedParametersAndBuffersAreTheSafetensorsKeys) {
  const auto& [folder, architecture] = GetParam();
  const fs::path dir = tiny_model(folder);
  auto st = SentenceTransformer::load(dir.string());
  EXPECT_EQ(st.encoder().architecture(), architecture);
  std::set<std::string> ours;
  for (const auto& item : st.encoder().named_parameters()) ours.insert(item.key());
  for (const auto& item : st.encoder().named_buffers()) ours.insert(item.key());
  std::set<std::string> file;
  const auto weights = io::SafetensorsFile::open(dir / "model.safetensors");
  for (const auto& info : weights.tensors()) file.insert(info.name);
  EXPECT_EQ(ours, file);
}

TEST_P(Architecture, SaveThenLoadGivesTheSameEmbeddings) {
  const auto& [folder, architecture] = GetParam();
  auto st = SentenceTransformer::load(tiny_model(folder).string());
  const std::vector<std::string> texts{"a short text", "",
                                       "a somewhat longer text about retrieval and ranking"};
  const at::Tensor before = st.encode(texts);
  const fs::path out = testing::lasting_scratch_dir() / "saved";
  st.save(out);
  auto reloaded = SentenceTransformer::load(out.string());
  EXPECT_EQ(reloaded.encoder().architecture(), architecture);
  EXPECT_TRUE(at::equal(before, reloaded.encode(texts)));
  EXPECT_EQ(io::read_json_file(out / "config.json")["model_type"],
            io::read_json_file(tiny_model(folder) / "config.json")["model_type"]);
}

INSTANTIATE_TEST_SUITE_P(TinyModels, Architecture,
                         ::testing::Values(std::pair{"mean", "BertModel"},
                                           std::pair{"xlm_roberta", "XLMRobertaModel"},
                                           std::pair{"roberta", "RobertaModel"},
                                           std::pair{"mpnet", "MPNetModel"},
                                           std::pair{"modernbert", "ModernBertModel"},
                                           std::pair{"qwen3", "Qwen3Model"}));

TEST(Qwen3, CausalTokensDoNotSeeTheTokensAfterThem) {
  // A decoder: the first tokens of a sequence embed the same whether or not more follow, and
  // whatever else is in the batch.
  auto st = SentenceTransformer::load(tiny_model("qwen3").string());
  std::vector<int32_t> longer{11, 12, 13, 14, 15, 16}, prefix{11, 12, 13}, other{20, 21};
  const auto both = PackedBatch::from_ids({&other, &longer}, at::kCPU);
  const auto alone = PackedBatch::from_ids({&prefix}, at::kCPU);
  at::NoGradGuard no_grad;
  const at::Tensor full = st.encoder().forward(both).slice(0, 2, 5);  // `longer`'s first three
  const at::Tensor short_only = st.encoder().forward(alone);
  EXPECT_TRUE(at::allclose(full, short_only, 1e-4, 1e-5)) << (full - short_only).abs().max();
  // ...while the later tokens do see the earlier ones: the fourth token differs from the first.
  EXPECT_FALSE(at::allclose(st.encoder().forward(both)[5], full[0], 1e-3, 1e-3));
}

TEST(Qwen3, RmsNormHandComputed) {
  // x = (3, 4): mean of squares 12.5, so x / sqrt(12.5 + eps) = (0.8485, 1.1314) times weight.
  Qwen3RMSNorm norm(2, 1e-6);
  norm.weight.data().copy_(at::tensor({1.0f, 2.0f}));
  const at::Tensor out = norm.forward(at::tensor({3.0f, 4.0f}).view({1, 2}));
  const double r = 1.0 / std::sqrt(12.5 + 1e-6);
  EXPECT_TRUE(at::allclose(
      out, at::tensor({static_cast<float>(3 * r), static_cast<float>(8 * r)}).view({1, 2})))
      << out;
}

TEST(Qwen3, QueryHeadsNotAMultipleOfKeyValueHeadsIsAnErrorNamingBoth) {
  const nlohmann::json config = {{"model_type", "qwen3"},
                                 {"num_attention_heads", 6},
                                 {"num_key_value_heads", 4},
                                 {"hidden_size", 64},
                                 {"head_dim", 16}};
  const std::string message =
      testing::error_of([&] { Qwen3Config::from_json(config, "m/config.json"); });
  EXPECT_NE(message.find("m/config.json"), std::string::npos) << message;
  EXPECT_NE(message.find("num_key_value_heads 4"), std::string::npos) << message;
}

TEST(Qwen3, SlidingWindowLayersAreRefused) {
  const nlohmann::json config = {{"model_type", "qwen3"}, {"use_sliding_window", true}};
  const std::string message =
      testing::error_of([&] { Qwen3Config::from_json(config, "m/config.json"); });
  EXPECT_NE(message.find("sliding-window"), std::string::npos) << message;
}

TEST(PaddingOffsetPositionIds, CountsNonPaddingTokensPerSequence) {
  // padding_idx 1. Sequence a holds the padding id at its third token: that token gets position
  // 1 and does not advance the count (fairseq's make_positions). Sequence b restarts at 2.
  std::vector<int32_t> a{0, 5, 1, 7}, b{5, 6};
  const auto batch = PackedBatch::from_ids({&a, &b}, at::kCPU);
  EXPECT_TRUE(
      at::equal(padding_offset_position_ids(batch, 1), at::tensor({2, 3, 1, 4, 2, 3}, at::kLong)));
  // padding_idx 0 (no token equals it): 1, 2, ... per sequence.
  std::vector<int32_t> c{9, 9, 9}, d{9};
  const auto batch2 = PackedBatch::from_ids({&c, &d}, at::kCPU);
  EXPECT_TRUE(
      at::equal(padding_offset_position_ids(batch2, 0), at::tensor({1, 2, 3, 1}, at::kLong)));
}

TEST(MPNetRelativePositionBucket, HandComputedBuckets) {
  // n = query - key; keys before the query (n > 0) use buckets 0..15, after it 16..31. |n| < 8
  // is its own bucket; above, 8 + floor(8 * log(|n| / 8) / log(16)), at most 15.
  //   |n| = 9: 8 + floor(0.34) = 8; 12: 8 + floor(1.17) = 9; 24: 8 + floor(3.17) = 11;
  //   100: 8 + floor(7.29) = 15; 300: capped at 15.
  const at::Tensor relative = at::tensor({0, -1, -7, -9, -12, -24, -100, -300, 1, 7, 12, 300});
  const at::Tensor expected = at::tensor({0, 1, 7, 8, 9, 11, 15, 15, 17, 23, 25, 31});
  EXPECT_TRUE(
      at::equal(mpnet_relative_position_bucket(relative.to(at::kLong)), expected.to(at::kLong)))
      << mpnet_relative_position_bucket(relative.to(at::kLong));
}

TEST(SlidingWindowPairs, AllowsKeysWithinTheWindowEachSide) {
  const at::Tensor pairs = sliding_window_pairs(4, 1, at::kCPU);
  const at::Tensor expected =
      at::tensor({1, 1, 0, 0, 1, 1, 1, 0, 0, 1, 1, 1, 0, 0, 1, 1}, at::kLong).view({1, 1, 4, 4});
  EXPECT_TRUE(at::equal(pairs.to(at::kLong), expected)) << pairs;
}

TEST(Rotary, RotatesEachPairOfHalvesByPositionTimesFrequency) {
  // head_dim 4, theta 100: frequencies 1 and 1/10. Position 2 rotates (x0, x2) by 2 radians and
  // (x1, x3) by 0.2: x0' = x0 cos 2 - x2 sin 2, x2' = x2 cos 2 + x0 sin 2, likewise for 1 and 3.
  at::Tensor inv_freq = rotary_inv_freq(100.0, 4);
  EXPECT_TRUE(at::allclose(inv_freq, at::tensor({1.0f, 0.1f})));
  const RotaryTables tables = rotary_tables(at::tensor({2}, at::kLong), inv_freq);
  const at::Tensor x = at::tensor({1.0f, 2.0f, 3.0f, 4.0f}).view({1, 1, 4});
  const double c1 = std::cos(2.0), s1 = std::sin(2.0), c2 = std::cos(0.2), s2 = std::sin(0.2);
  const at::Tensor expected =
      at::tensor({static_cast<float>(1 * c1 - 3 * s1), static_cast<float>(2 * c2 - 4 * s2),
                  static_cast<float>(3 * c1 + 1 * s1), static_cast<float>(4 * c2 + 2 * s2)})
          .view({1, 1, 4});
  EXPECT_TRUE(at::allclose(apply_rotary(x, tables), expected, 1e-5, 1e-6))
      << apply_rotary(x, tables);
}

// The frequencies are no parameter or buffer, so model.to(cuda) leaves them on the CPU: the first
// forward moves them to the tokens' device for good (the meta device stands in for a GPU here).
// Copying them in every forward would make the host wait for the GPU each step, and a CUDA graph
// cannot capture that copy.
TEST(Rotary, MovesTheFrequenciesToThePositionsDeviceOnce) {
  at::Tensor inv_freq = rotary_inv_freq(100.0, 4);
  const at::Tensor positions =
      at::arange(3, at::TensorOptions().dtype(at::kLong).device(at::kMeta));
  const RotaryTables tables = rotary_tables(positions, inv_freq);
  EXPECT_TRUE(inv_freq.is_meta());
  EXPECT_TRUE(tables.cos.is_meta());
  EXPECT_EQ(tables.cos.sizes(), (std::vector<int64_t>{3, 1, 4}));
  const at::Tensor moved = inv_freq;
  (void)rotary_tables(positions, inv_freq);
  EXPECT_TRUE(inv_freq.is_same(moved));
}

// An integer key holds a JSON integer: a float (5e30 layers would have been an undefined
// conversion) is named with the key, as transformers' nn.Linear(384.0, ...) refuses it.
TEST(LoadEncoder, AFloatForAnIntegerKeyIsNamed) {
  testing::ScratchDir dir;
  const fs::path weights = fs::path(testing::required_env("EMBEDTUNE_TESTDATA")) / "models" /
                           "mean" / "model.safetensors";
  for (const nlohmann::json& bad : {nlohmann::json(384.0), nlohmann::json(5e30)}) {
    const nlohmann::json config = {{"model_type", "bert"}, {"hidden_size", bad}};
    const std::string message =
        testing::error_of([&] { load_encoder(config, dir / "config.json", weights); });
    EXPECT_NE(message.find("config.json: key 'hidden_size' has the wrong type (found " +
                           bad.dump() + "; expected an integer); fix the config"),
              std::string::npos)
        << message;
  }
}

TEST(LoadEncoder, UnsupportedModelTypeIsOneLineNamingItAndTheSupportedOnes) {
  testing::ScratchDir dir;
  const nlohmann::json config = {{"model_type", "gpt2"}, {"hidden_size", 64}};
  const std::string message = testing::error_of(
      [&] { load_encoder(config, dir / "config.json", dir / "model.safetensors"); });
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  EXPECT_NE(message.find("config.json"), std::string::npos) << message;
  EXPECT_NE(message.find("'gpt2'"), std::string::npos) << message;
  for (const auto& type : supported_model_types()) {
    EXPECT_NE(message.find(type), std::string::npos) << type << " missing from: " << message;
  }
  EXPECT_GE(supported_model_types().size(), 6u);
}

}  // namespace
}  // namespace embedtune
