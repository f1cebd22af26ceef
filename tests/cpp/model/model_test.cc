// Tests of the model layer: Hugging Face key names, packing, pooling by hand, truncation,
// save -> load round trips and model-path resolution.
#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include "io/error.h"
#include "io/safetensors.h"
#include "model/autocast.h"
#include "model/model_path.h"
#include "model/packed_batch.h"
#include "model/pooling.h"
#include "model/sentence_transformer.h"
#include "test_support.h"

namespace embedtune {
namespace {
namespace fs = std::filesystem;

TEST(BertModel, NamedParametersAndBuffersAreTheSafetensorsKeys) {
  const fs::path dir = testing::default_model_dir();
  auto st = SentenceTransformer::load(dir.string());
  std::set<std::string> ours;
  for (const auto& item : st.encoder().named_parameters()) ours.insert(item.key());
  for (const auto& item : st.encoder().named_buffers()) ours.insert(item.key());
  std::set<std::string> file;
  const auto weights = io::SafetensorsFile::open(dir / "model.safetensors");
  for (const auto& info : weights.tensors()) {
    file.insert(info.name);
  }
  EXPECT_EQ(ours, file);
  EXPECT_EQ(file.size(), 104u);
  EXPECT_TRUE(ours.count("encoder.layer.5.attention.self.query.weight"));
  EXPECT_TRUE(ours.count("embeddings.LayerNorm.weight"));
}

TEST(PackedBatch, OffsetsPaddedIndexAndMask) {
  std::vector<int32_t> a{101, 7, 102}, b{101, 102};
  auto batch = PackedBatch::from_ids({&a, &b}, at::kCPU);
  EXPECT_EQ(batch.num_tokens(), 5);
  EXPECT_EQ(batch.max_length, 3);
  EXPECT_FALSE(batch.uniform);
  EXPECT_TRUE(at::equal(batch.offsets, at::tensor({0, 3, 5}, at::kLong)));
  EXPECT_TRUE(at::equal(batch.position_ids, at::tensor({0, 1, 2, 0, 1}, at::kLong)));
  EXPECT_TRUE(at::equal(batch.segment_ids, at::tensor({0, 0, 0, 1, 1}, at::kLong)));
  EXPECT_TRUE(at::equal(batch.padded_index, at::tensor({0, 1, 2, 3, 4}, at::kLong)));
  EXPECT_TRUE(
      at::equal(batch.key_mask.flatten().to(at::kLong), at::tensor({1, 1, 1, 1, 1, 0}, at::kLong)));
}

TEST(PackedBatch, LeftPaddedPutsThePaddingFirst) {
  // As a tokenizer with padding_side "left": b's two tokens sit in the last two of its 3 rows.
  std::vector<int32_t> a{101, 7, 102}, b{101, 102};
  auto batch = PackedBatch::from_ids({&a, &b}, at::kCPU, /*left_padded=*/true);
  EXPECT_TRUE(batch.left_padded);
  EXPECT_TRUE(at::equal(batch.position_ids, at::tensor({0, 1, 2, 0, 1}, at::kLong)));
  EXPECT_TRUE(at::equal(batch.padded_index, at::tensor({0, 1, 2, 4, 5}, at::kLong)));
  EXPECT_TRUE(
      at::equal(batch.key_mask.flatten().to(at::kLong), at::tensor({1, 1, 1, 0, 1, 1}, at::kLong)));
}

// Two sequences of 2 and 3 tokens, hidden size 2, values chosen to make every mode differ.
class PoolingByHand : public ::testing::Test {
 protected:
  std::vector<int32_t> a{1, 2}, b{1, 2, 3};
  PackedBatch batch = PackedBatch::from_ids({&a, &b}, at::kCPU);
  at::Tensor tokens =
      at::tensor({1.f, 2.f, 3.f, -4.f, /*b*/ 0.f, 1.f, 6.f, 0.f, 3.f, 8.f}).view({5, 2});
  at::Tensor run(const std::string& mode) {
    PoolingConfig config;
    config.modes = {mode};
    config.embedding_dimension = 2;
    return pool(config, tokens, batch);
  }
};

TEST_F(PoolingByHand, Cls) {
  EXPECT_TRUE(at::allclose(run("cls"), at::tensor({1.f, 2.f, 0.f, 1.f}).view({2, 2})));
}
TEST_F(PoolingByHand, LastToken) {
  EXPECT_TRUE(at::allclose(run("lasttoken"), at::tensor({3.f, -4.f, 3.f, 8.f}).view({2, 2})));
}
TEST_F(PoolingByHand, Mean) {
  EXPECT_TRUE(at::allclose(run("mean"), at::tensor({2.f, -1.f, 3.f, 3.f}).view({2, 2})));
}
TEST_F(PoolingByHand, Max) {
  EXPECT_TRUE(at::allclose(run("max"), at::tensor({3.f, 2.f, 6.f, 8.f}).view({2, 2})));
}
TEST_F(PoolingByHand, MeanSqrtLen) {
  const float s2 = std::sqrt(2.f), s3 = std::sqrt(3.f);
  EXPECT_TRUE(at::allclose(run("mean_sqrt_len_tokens"),
                           at::tensor({4.f / s2, -2.f / s2, 9.f / s3, 9.f / s3}).view({2, 2})));
}
TEST_F(PoolingByHand, WeightedMean) {
  // weights 1,2 and 1,2,3: a = (1*1+2*3)/3, (1*2+2*-4)/3; b = (0+12+9)/6, (1+0+24)/6
  EXPECT_TRUE(at::allclose(run("weightedmean"),
                           at::tensor({7.f / 3, -2.f, 21.f / 6, 25.f / 6}).view({2, 2})));
}
TEST_F(PoolingByHand, SeveralModesConcatenateInOrder) {
  PoolingConfig config;
  config.modes = {"cls", "mean"};
  config.embedding_dimension = 2;
  EXPECT_TRUE(at::allclose(pool(config, tokens, batch),
                           at::tensor({1.f, 2.f, 2.f, -1.f, 0.f, 1.f, 3.f, 3.f}).view({2, 4})));
}

TEST(TruncateAndNormalize, KeepsFirstValuesAndRenormalises) {
  at::Tensor e = at::tensor({3.f, 4.f, 12.f, 0.f, 0.f, 5.f}).view({2, 3});
  at::Tensor t = truncate_and_normalize(e, 2);
  EXPECT_TRUE(
      at::allclose(t, at::tensor({0.6f, 0.8f, 0.f, 0.f}).view({2, 2})));  // zero row stays zero
  EXPECT_THROW(truncate_and_normalize(e, 4), Error);
  EXPECT_THROW(truncate_and_normalize(e, 0), Error);
}

TEST(SentenceTransformer, SaveThenLoadGivesTheSameEmbeddings) {
  const fs::path model_dir =
      fs::path(testing::required_env("EMBEDTUNE_TESTDATA")) / "models" / "cls";
  auto st = SentenceTransformer::load(model_dir.string());
  const std::vector<std::string> texts{"a short text", "",
                                       "a somewhat longer text about retrieval"};
  at::Tensor before = st.encode(texts);
  const fs::path out = testing::lasting_scratch_dir() / "saved";
  st.save(out);
  auto reloaded = SentenceTransformer::load(out.string());
  EXPECT_TRUE(at::equal(before, reloaded.encode(texts)));
  EXPECT_EQ(reloaded.max_seq_length(), st.max_seq_length());
  EXPECT_EQ(reloaded.pooling().modes, st.pooling().modes);
  EXPECT_TRUE(reloaded.normalizes());
  fs::remove_all(out.parent_path());
}

TEST(SentenceTransformer, EncodeRestoresInputOrderAndNormalises) {
  const fs::path model_dir =
      fs::path(testing::required_env("EMBEDTUNE_TESTDATA")) / "models" / "mean";
  auto st = SentenceTransformer::load(model_dir.string());
  const std::vector<std::string> texts{"x", "a much longer text than the others in this list",
                                       "mid length"};
  at::Tensor all = st.encode(texts, {.batch_size = 2});
  for (size_t i = 0; i < texts.size(); ++i) {
    at::Tensor one = st.encode({texts[i]});
    EXPECT_TRUE(at::allclose(all[i], one[0], 1e-5, 1e-6)) << i;
  }
  EXPECT_TRUE(at::allclose(all.norm(2, {1}), at::ones({3})));
}

// A batch of `texts` as the trainer packs them for `st`.
struct TokenizedBatch {
  std::vector<std::vector<int32_t>> ids;
  std::vector<const std::vector<int32_t>*> pointers;
};
TokenizedBatch tokenized(const SentenceTransformer& st, const std::vector<std::string>& texts) {
  TokenizedBatch out;
  for (const std::string& text : texts) out.ids.push_back(st.tokenize(text));
  for (const auto& ids : out.ids) out.pointers.push_back(&ids);
  return out;
}

const std::vector<std::string> kMixedTexts{"a short text", "",
                                           "a somewhat longer text about dense retrieval"};

// bf16 is a CUDA setting: on the CPU, forward_mixed is forward, bit for bit.
TEST(SentenceTransformer, ForwardMixedIsForwardOnTheCpu) {
  auto st = SentenceTransformer::load(testing::default_model_dir().string());
  st.encoder().eval();
  const TokenizedBatch texts = tokenized(st, kMixedTexts);
  const PackedBatch batch = PackedBatch::from_ids(texts.pointers, st.device(), st.pads_left());
  EXPECT_TRUE(at::equal(st.forward_mixed(batch, /*bf16=*/true), st.forward(batch)));
}

// bf16 as accelerate applies it to the model transformers' Trainer prepares: autocast around the
// one forward, the embeddings widened to fp32 as they leave it, autocast off again afterwards (so
// the loss is fp32), and gradients reaching the fp32 weights.
TEST(SentenceTransformer, ForwardMixedIsOneAutocastForwardWithFp32OutputOnCuda) {
  if (!at::hasCUDA())
    GTEST_SKIP() << "needs a CUDA device (none here): bf16 autocast applies on CUDA only";
  auto st =
      SentenceTransformer::load(testing::default_model_dir().string(), at::Device(at::kCUDA, 0));
  st.encoder().eval();
  const TokenizedBatch texts = tokenized(st, kMixedTexts);
  const PackedBatch batch = PackedBatch::from_ids(texts.pointers, st.device(), st.pads_left());

  const at::Tensor mixed = st.forward_mixed(batch, /*bf16=*/true);
  EXPECT_EQ(mixed.scalar_type(), at::kFloat);
  EXPECT_FALSE(at::autocast::is_autocast_enabled(at::kCUDA));
  at::Tensor autocast_forward;
  {
    AutocastGuard autocast(st.device());
    autocast_forward = st.forward(batch).to(at::kFloat);
  }
  EXPECT_TRUE(at::allclose(mixed, autocast_forward, /*rtol=*/0.0, /*atol=*/1e-6));
  // bf16 did run: the fp32 forward differs by bf16's rounding, no more.
  const at::Tensor fp32 = st.forward(batch);
  EXPECT_EQ(fp32.scalar_type(), at::kFloat);
  const double diff = (mixed - fp32).abs().max().item<double>();
  EXPECT_GT(diff, 0.0);
  EXPECT_LT(diff, 0.05);

  mixed.sum().backward();
  int with_gradient = 0;
  for (const at::Tensor& parameter : st.encoder().parameters()) {
    EXPECT_EQ(parameter.scalar_type(), at::kFloat);
    if (!parameter.grad().defined()) continue;  // e.g. a pooler that mean pooling does not use
    ++with_gradient;
    EXPECT_EQ(parameter.grad().scalar_type(), at::kFloat);
  }
  EXPECT_GT(with_gradient, 0);
}

TEST(SentenceTransformer, AFolderWithoutAModelIsNamed) {
  const fs::path dir = testing::lasting_scratch_dir();
  std::ofstream(dir / "notes.txt") << "not a model";
  try {
    SentenceTransformer::load(dir.string());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind(dir.string() + ": expected a model folder", 0), 0)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("found no config.json"), std::string::npos) << e.what();
  }
}

TEST(ModelPath, ResolvesHuggingFaceCacheLayout) {
  const fs::path hub = testing::lasting_scratch_dir();
  const fs::path snapshot = hub / "models--org--name" / "snapshots" / "rev1";
  fs::create_directories(snapshot);
  fs::create_directories(hub / "models--org--name" / "refs");
  std::ofstream(hub / "models--org--name" / "refs" / "main") << "rev1";
  ::setenv("HF_HUB_CACHE", hub.c_str(), 1);
  ::setenv("HF_HUB_OFFLINE", "1", 1);  // org/absent is not downloaded
  EXPECT_EQ(resolve_model_path("org/name"), snapshot);
  try {
    resolve_model_path("org/absent");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find((hub / "models--org--absent" / "snapshots").string()),
              std::string::npos)
        << e.what();
  }
  ::unsetenv("HF_HUB_CACHE");
  ::unsetenv("HF_HUB_OFFLINE");
  fs::remove_all(hub);
}

}  // namespace
}  // namespace embedtune
