// Quantized embeddings and their retrieval metrics against sentence-transformers 6.2: the vectors
// of quantize_embeddings (int8, binary, ubinary) and an InformationRetrievalEvaluator run on them
// (tests/python/oracle_quantization.py), plus hand-computed cases and the kernels against each
// other.
#include "evaluation/quantization.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>

#include "evaluation/quantized_evaluation.h"
#include "evaluation_test_support.h"
#include "io/error.h"

namespace embedtune::evaluation {
namespace {

using testing::load_expected;
using testing::load_npy_f32;

std::filesystem::path quant_dir() {
  return embedtune::testing::testdata_dir("quantization", "results.json");
}

// A |u1 .npy file's bytes (the oracle stores int8 arrays viewed as uint8).
std::vector<uint8_t> load_u8(const std::filesystem::path& path, std::vector<int64_t>* shape) {
  const io::NpyArray a = io::read_npy(path);
  if (a.descr != "|u1")
    throw std::runtime_error(path.string() + ": expected |u1, found " + a.descr);
  *shape = a.shape;
  return {a.bytes.begin(), a.bytes.end()};
}

void expect_bytes(const at::Tensor& got, const std::filesystem::path& path, size_t* compared) {
  std::vector<int64_t> shape;
  const std::vector<uint8_t> want = load_u8(path, &shape);
  ASSERT_EQ(got.sizes().vec(), shape) << path;
  const at::Tensor g = got.contiguous();
  const auto* bytes = static_cast<const uint8_t*>(g.data_ptr());
  size_t differ = 0;
  for (size_t i = 0; i < want.size(); ++i) differ += bytes[i] != want[i] ? 1 : 0;
  EXPECT_EQ(differ, 0u) << path << ": " << differ << " of " << want.size() << " bytes differ";
  *compared += want.size();
}

TEST(Quantization, VectorsAreQuantizeEmbeddingsOwn) {
  const auto dir = quant_dir() / "vectors";
  size_t compared = 0;
  for (const std::string name : {"dim384", "dim32", "edge"}) {
    const at::Tensor corpus = load_npy_f32(dir / (name + "_corpus.npy"));
    const at::Tensor queries = load_npy_f32(dir / (name + "_queries.npy"));
    const Int8Ranges ranges = int8_ranges(corpus);  // calibrated on the corpus, as ST's call
    expect_bytes(quantize_int8(corpus, ranges), dir / (name + "_corpus_int8.npy"), &compared);
    expect_bytes(quantize_int8(queries, ranges), dir / (name + "_queries_int8.npy"), &compared);
    expect_bytes(quantize_binary(corpus), dir / (name + "_corpus_binary.npy"), &compared);
    expect_bytes(quantize_binary(queries), dir / (name + "_queries_binary.npy"), &compared);
    expect_bytes(quantize_ubinary(corpus), dir / (name + "_corpus_ubinary.npy"), &compared);
    expect_bytes(quantize_ubinary(queries), dir / (name + "_queries_ubinary.npy"), &compared);
  }
  std::printf("quantize: %zu bytes compared with ST's quantize_embeddings, all equal\n", compared);
}

TEST(Quantization, HandComputedInt8) {
  // Column 0 spans [0, 1] (step 1/255), column 1 is constant (zero range: step 1).
  const at::Tensor corpus = at::tensor({0.0f, 0.25f, 1.0f, 0.25f}).view({2, 2});
  const Int8Ranges r = int8_ranges(corpus);
  EXPECT_EQ(r.steps[0].item<float>(), 1.0f / 255.0f);
  EXPECT_EQ(r.steps[1].item<float>(), 1.0f);
  // 0 -> 0 - 128; 1 -> floor(1 / float32(1/255)) = floor(254.99998) = 254, so 126 (the column's
  // own maximum does not reach 255 in float32); 2 and -5 clip to the range's ends; 0.25 in the
  // zero range -> floor(0) = 0; 2.25 -> floor(2) = 2; 3.75 -> 3. (numpy gives the same.)
  const at::Tensor x =
      at::tensor({0.0f, 0.25f, 1.0f, 2.25f, 2.0f, -5.0f, -5.0f, 3.75f}).view({4, 2});
  const at::Tensor q = quantize_int8(x, r);
  const std::vector<int> want{-128, -128, 126, -126, 127, -128, -128, -125};
  for (int i = 0; i < 8; ++i) EXPECT_EQ(q.view({-1})[i].item<int>(), want[i]) << i;
}

TEST(Quantization, HandComputedBits) {
  // x > 0 -> 1 0 0 1 1 0 1 1 | 1 (zero and -0 are not > 0): 0b10011011 = 155, then 0b10000000.
  const at::Tensor x =
      at::tensor({1.0f, -1.0f, 0.0f, 2.0f, 0.5f, -0.0f, 3.0f, 1.0f, 1.0f}).view({1, 9});
  const at::Tensor u = quantize_ubinary(x);
  ASSERT_EQ(u.sizes().vec(), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(u[0][0].item<int>(), 155);
  EXPECT_EQ(u[0][1].item<int>(), 128);
  const at::Tensor b = quantize_binary(x);
  EXPECT_EQ(b[0][0].item<int>(), 27);
  EXPECT_EQ(b[0][1].item<int>(), 0);
  // Against -x: bits 100110111 vs 010000000 (0 and -0 are "not > 0" either way) differ in 7
  // places, so the similarity is 9 - 2 x 7 = -5.
  const at::Tensor y = -x;
  at::Tensor out = at::empty({1, 1}, at::kInt);
  hamming_similarity(pack_words(u), pack_words(quantize_ubinary(y)), 9, out);
  EXPECT_EQ(out[0][0].item<int>(), -5);
}

TEST(Quantization, Int8KernelsAgreeWithEachOtherAndWithExactSums) {
  at::manual_seed(3);
  for (int64_t d : {1, 15, 16, 17, 203, 768}) {
    const at::Tensor q = at::randint(-128, 128, {37, d}, at::kChar);
    const at::Tensor c = at::randint(-128, 128, {131, d}, at::kChar);
    q[0].fill_(-128);
    c[0].fill_(-128);  // the largest products: 2^14 each
    const at::Tensor exact =
        q.to(at::kDouble).mm(c.to(at::kDouble).t()).to(at::kInt);  // exact in double
    at::Tensor fast = at::empty({37, 131}, at::kInt), portable = at::empty({37, 131}, at::kInt);
    int8_dot(q, c, fast);
    force_scalar_kernels(true);
    int8_dot(q, c, portable);
    force_scalar_kernels(false);
    EXPECT_TRUE(at::equal(fast, exact)) << "d " << d << " kernel " << int8_dot_kernel();
    EXPECT_TRUE(at::equal(portable, exact)) << "d " << d;
  }
  std::printf("int8_dot: run-time kernel %s, checked against the portable one\n",
              int8_dot_kernel().c_str());
}

TEST(Quantization, HammingKernelsAgreeWithSignDotProducts) {
  at::manual_seed(4);
  for (int64_t d : {1, 63, 64, 65, 384}) {
    const at::Tensor q = at::randn({19, d}), c = at::randn({77, d});
    const at::Tensor sq = (q > 0).to(at::kDouble) * 2 - 1, sc = (c > 0).to(at::kDouble) * 2 - 1;
    const at::Tensor exact = sq.mm(sc.t()).to(at::kInt);
    const at::Tensor wq = pack_words(quantize_ubinary(q)), wc = pack_words(quantize_ubinary(c));
    at::Tensor fast = at::empty({19, 77}, at::kInt), portable = at::empty({19, 77}, at::kInt);
    hamming_similarity(wq, wc, d, fast);
    force_scalar_kernels(true);
    hamming_similarity(wq, wc, d, portable);
    force_scalar_kernels(false);
    EXPECT_TRUE(at::equal(fast, exact)) << d;
    EXPECT_TRUE(at::equal(portable, exact)) << d;
  }
}

TEST(Quantization, IntegerTopKPicksWhatTheFloatTieReselectionPicks) {
  // Scores with few distinct values (as Hamming similarities have): nearly every row has ties at
  // its top-k boundary. The int32 path (one (score, id rank) key per entry) must give the float
  // path's lists (chunk_top_k's re-selection, ST's), with ids whose order differs from the rows'.
  at::manual_seed(5);
  const int64_t n_q = 23, n_c = 1000;
  const at::Tensor scores = at::randint(-6, 7, {n_q, n_c}, at::kInt);
  std::vector<std::string> ids;
  for (int64_t i = 0; i < n_c; ++i) ids.push_back("d" + std::to_string((i * 7919) % n_c));
  for (int64_t chunk : {1000, 37}) {
    auto block = [&](bool as_float) {
      return [&, as_float](int64_t q0, int64_t q_len, int64_t c0, int64_t c_len) {
        const at::Tensor b = scores.narrow(0, q0, q_len).narrow(1, c0, c_len).contiguous();
        return as_float ? b.to(at::kFloat) : b;
      };
    };
    const auto via_int = top_k_hits_scored(n_q, ids, 100, chunk, 0, block(false));
    const auto via_float = top_k_hits_scored(n_q, ids, 100, chunk, 0, block(true));
    EXPECT_EQ(via_int, via_float) << "chunk " << chunk;
  }
}

IrResults evaluate_all(int64_t chunk, const std::vector<int64_t>& dims) {
  const auto dir = quant_dir();
  const at::Tensor queries = load_npy_f32(dir / "queries.npy");
  const at::Tensor corpus = load_npy_f32(dir / "corpus.npy");
  const nlohmann::json ids = io::read_json_file(dir / "ids.json");
  std::map<std::string, std::set<std::string>> relevant;
  for (const auto& [q, docs] : ids.at("relevant_docs").items())
    relevant[q] = docs.get<std::set<std::string>>();
  IrEvaluatorConfig config;
  config.score_functions = {"cosine", "dot"};
  config.corpus_chunk_size = chunk;
  PrecisionOptions precisions;
  precisions.precisions = {"float32", "int8", "binary", "int8+rescore", "binary+rescore"};
  precisions.rescore_multiplier = ids.at("rescore_multiplier").get<int64_t>();
  return evaluate_matryoshka(queries, corpus, ids.at("query_ids").get<std::vector<std::string>>(),
                             ids.at("corpus_ids").get<std::vector<std::string>>(), relevant, dims,
                             config, precisions);
}

void expect_matches(const IrResults& ours, const std::filesystem::path& expected_path) {
  const auto expected = load_expected(expected_path);
  std::map<std::string, double> got(ours.metrics.begin(), ours.metrics.end());
  size_t compared = 0, quantized = 0;
  for (const auto& [key, value] : expected) {
    ASSERT_TRUE(got.count(key)) << key;
    EXPECT_EQ(got[key], value) << key;
    ++compared;
    quantized += key.find("cosine") == std::string::npos && key.find("dot") == std::string::npos;
  }
  EXPECT_GT(quantized, 0u);
  std::printf("%s: %zu metrics (%zu of quantized precisions), all equal to ST's\n",
              expected_path.filename().c_str(), compared, quantized);
}

TEST(QuantizationParity, MetricsAtEveryPrecisionAreSentenceTransformersOwn) {
  const IrResults ours = evaluate_all(50000, {384, 256, 128, 64, 32});
  expect_matches(ours, quant_dir() / "results.json");
  // Keys: float32 as before, the others with the precision in the score function's place.
  EXPECT_EQ(ours.metrics.front().first, "dim_384_cosine_accuracy@1");
  EXPECT_EQ(ours.metrics.back().first, "sequential_score");
  EXPECT_EQ(ours.metrics.back().second, ours.at("dim_32_binary+rescore_ndcg@10"));
}

TEST(QuantizationParity, SmallCorpusChunksTieAsSentenceTransformers) {
  expect_matches(evaluate_all(37, {384, 32}), quant_dir() / "results_chunk37.json");
}

TEST(Quantization, BadPrecisionsNameTheKey) {
  auto message = [](PrecisionOptions p) {
    try {
      p.validate("--");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  PrecisionOptions p;
  p.precisions = {"float32", "int4"};
  EXPECT_NE(message(p).find("--precisions: unknown precision \"int4\""), std::string::npos);
  p.precisions = {"int8"};
  EXPECT_NE(message(p).find("expected float32"), std::string::npos);
  p.precisions = {"float32", "binary", "binary"};
  EXPECT_NE(message(p).find("appears twice"), std::string::npos);
  p.precisions = {"float32"};
  p.rescore_multiplier = 0;
  EXPECT_NE(message(p).find("--rescore-multiplier: expected an integer in 1..1000, found 0"),
            std::string::npos);
}

}  // namespace
}  // namespace embedtune::evaluation
