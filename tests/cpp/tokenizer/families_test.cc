// Parity of the non-BERT tokenizer families (XLM-R Unigram, RoBERTa and Qwen2 byte-level BPE,
// MPNet WordPiece) with transformers / tokenizers: every text of every set, at every truncation
// length the oracle (tests/python/oracle_tokenizer_families.py) wrote (the docs lines truncated
// on every 8th of them).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "tokenizer/tokenizer.h"
#include "tokenizer_testdata.h"

namespace embedtune {
namespace {

std::string show(const std::vector<int32_t>& ids) {
  std::string s = "[";
  for (size_t i = 0; i < ids.size(); ++i) s += (i ? " " : "") + std::to_string(ids[i]);
  return s + "]";
}

// Under ASan + UBSan (an unoptimised build, make test runs it after the main one) the generic
// pipeline is some 50x slower: there every 16th docs line is compared; the main build compares all.
#if defined(__SANITIZE_ADDRESS__)
constexpr size_t kDocsStride = 16;
#else
constexpr size_t kDocsStride = 1;
#endif

std::filesystem::path families_testdata() {
  try {
    return testing::testdata_dir("tokenizer_families", "manifest.json");
  } catch (const std::exception& e) {
    ADD_FAILURE() << e.what();
    return {};
  }
}

// tokenizer.encode(texts[i], max_length) for every stride-th i (the others are left empty), by
// `threads` threads at once, each taking every threads-th of those texts, so that all of them
// share the tokenizer (and its per-thread caches run side by side) until the end.
std::vector<std::vector<int32_t>> encode_texts(const Tokenizer& tokenizer,
                                               const std::vector<std::string>& texts,
                                               size_t max_length, size_t stride, size_t threads) {
  std::vector<std::vector<int32_t>> ids(texts.size());
  const auto work = [&](size_t first) {
    for (size_t i = first * stride; i < texts.size(); i += threads * stride) {
      ids[i] = tokenizer.encode(texts[i], max_length);
    }
  };
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(work, t);
  work(0);
  for (auto& thread : pool) thread.join();
  return ids;
}

// Compares every manifest case of `variant` on `set`; fails when the oracle wrote none. With
// `threads` > 1 the texts are tokenized by that many threads at once (see encode_texts), and the
// docs lines are sampled 8 times more sparsely.
void check_family(const std::string& variant, const std::string& set, size_t threads = 1) {
  const auto dir = families_testdata();
  if (dir.empty()) return;
  const auto manifest = nlohmann::json::parse(testing::read_all(dir / "manifest.json"));
  const Tokenizer tokenizer = Tokenizer::from_folder(dir / "variants" / variant);
  size_t cases = 0;
  for (const auto& entry : manifest) {
    // The docs lines are truncated on a sample of theirs, the set docs_truncation.
    const std::string entry_set = entry.at("set");
    if (entry.at("variant") != variant || (entry_set != set && entry_set != set + "_truncation")) {
      continue;
    }
    ++cases;
    const size_t stride = entry_set.starts_with("docs") ? kDocsStride * (threads > 1 ? 8 : 1) : 1;
    std::vector<std::string> texts;  // only the compared ones are parsed
    for (const std::string& line :
         testing::read_lines(dir / entry.at("texts").get<std::string>())) {
      texts.push_back(texts.size() % stride == 0 ? nlohmann::json::parse(line).get<std::string>()
                                                 : std::string());
    }
    const auto expected = testing::read_expected_ids(dir / entry.at("expected").get<std::string>());
    ASSERT_EQ(expected.size(), texts.size()) << entry.at("expected");
    const auto max_length = entry.at("max_length").get<size_t>();
    const auto ids = encode_texts(tokenizer, texts, max_length, stride, threads);
    size_t mismatches = 0, compared = 0;
    for (size_t i = 0; i < texts.size(); i += stride) {
      ++compared;
      if (ids[i] != expected[i] && ++mismatches <= 5) {
        ADD_FAILURE() << variant << "/" << entry_set << " max_length=" << max_length << " text #"
                      << i << ": " << nlohmann::json(texts[i]).dump()
                      << "\n  ours: " << show(ids[i]) << "\n  HF:   " << show(expected[i]);
      }
    }
    std::printf(
        "[parity] %s/%s max_length=%zu, %zu thread(s): %zu sequences compared, %zu mismatching\n",
        variant.c_str(), entry_set.c_str(), max_length, threads, compared, mismatches);
    EXPECT_EQ(mismatches, 0u);
  }
  EXPECT_GT(cases, 0u) << "the oracle wrote no case for " << variant << "/" << set;
}

// XLM-R: SentencePiece Unigram + Precompiled charsmap, as transformers' XLMRobertaTokenizer
// rebuilds it (WhitespaceSplit + Metaspace) and as the file says (tokenizers alone).
TEST(TokenizerFamilies, XlmrDocs) { check_family("xlmr", "docs"); }
TEST(TokenizerFamilies, XlmrGolden) { check_family("xlmr", "golden"); }
TEST(TokenizerFamilies, XlmrFuzz) { check_family("xlmr", "fuzz"); }
TEST(TokenizerFamilies, XlmrAddedTokens) { check_family("xlmr", "added_xlmr"); }
TEST(TokenizerFamilies, XlmrFileDocs) { check_family("xlmr_file", "docs"); }
TEST(TokenizerFamilies, XlmrFileGolden) { check_family("xlmr_file", "golden"); }
TEST(TokenizerFamilies, XlmrFileFuzz) { check_family("xlmr_file", "fuzz"); }
TEST(TokenizerFamilies, XlmrFileAddedTokens) { check_family("xlmr_file", "added_xlmr"); }

// RoBERTa: byte-level BPE, RobertaProcessing.
TEST(TokenizerFamilies, RobertaDocs) { check_family("roberta", "docs"); }
TEST(TokenizerFamilies, RobertaGolden) { check_family("roberta", "golden"); }
TEST(TokenizerFamilies, RobertaFuzz) { check_family("roberta", "fuzz"); }
TEST(TokenizerFamilies, RobertaAddedTokens) { check_family("roberta", "added_roberta"); }
TEST(TokenizerFamilies, RobertaFileDocs) { check_family("roberta_file", "docs"); }
TEST(TokenizerFamilies, RobertaFileGolden) { check_family("roberta_file", "golden"); }
TEST(TokenizerFamilies, RobertaFileFuzz) { check_family("roberta_file", "fuzz"); }
TEST(TokenizerFamilies, RobertaFileAddedTokens) { check_family("roberta_file", "added_roberta"); }

// Qwen2 / Qwen3: NFC, Split with the Unicode-class regex (Oniguruma), byte-level BPE.
TEST(TokenizerFamilies, Qwen2Docs) { check_family("qwen2", "docs"); }
TEST(TokenizerFamilies, Qwen2Golden) { check_family("qwen2", "golden"); }
TEST(TokenizerFamilies, Qwen2Fuzz) { check_family("qwen2", "fuzz"); }
TEST(TokenizerFamilies, Qwen2AddedTokens) { check_family("qwen2", "added_qwen2"); }
TEST(TokenizerFamilies, Qwen2FileDocs) { check_family("qwen2_file", "docs"); }
TEST(TokenizerFamilies, Qwen2FileGolden) { check_family("qwen2_file", "golden"); }
TEST(TokenizerFamilies, Qwen2FileFuzz) { check_family("qwen2_file", "fuzz"); }
TEST(TokenizerFamilies, Qwen2FileAddedTokens) { check_family("qwen2_file", "added_qwen2"); }

// MPNet: WordPiece with <s> $A </s> (all-mpnet-base-v2 style).
TEST(TokenizerFamilies, MpnetDocs) { check_family("mpnet", "docs"); }
TEST(TokenizerFamilies, MpnetGolden) { check_family("mpnet", "golden"); }
TEST(TokenizerFamilies, MpnetFuzz) { check_family("mpnet", "fuzz"); }
TEST(TokenizerFamilies, MpnetAddedTokens) { check_family("mpnet", "added_mpnet"); }

// The components and options the families above do not use, combined into four tokenizer.json
// files (see the oracle's docstring); the reference is `tokenizers` itself.
TEST(TokenizerComponents, MixBpeDocs) { check_family("mix_bpe", "docs"); }
TEST(TokenizerComponents, MixBpeGolden) { check_family("mix_bpe", "golden"); }
TEST(TokenizerComponents, MixBpeFuzz) { check_family("mix_bpe", "fuzz"); }
TEST(TokenizerComponents, MixBpeAddedTokens) { check_family("mix_bpe", "added_mix_bpe"); }
TEST(TokenizerComponents, MixBpeBytesDocs) { check_family("mix_bpe_bytes", "docs"); }
TEST(TokenizerComponents, MixBpeBytesGolden) { check_family("mix_bpe_bytes", "golden"); }
TEST(TokenizerComponents, MixBpeBytesFuzz) { check_family("mix_bpe_bytes", "fuzz"); }
TEST(TokenizerComponents, MixBpeBytesAddedTokens) {
  check_family("mix_bpe_bytes", "added_mix_bpe_bytes");
}
TEST(TokenizerComponents, MixUnigramDocs) { check_family("mix_unigram", "docs"); }
TEST(TokenizerComponents, MixUnigramGolden) { check_family("mix_unigram", "golden"); }
TEST(TokenizerComponents, MixUnigramFuzz) { check_family("mix_unigram", "fuzz"); }
TEST(TokenizerComponents, MixUnigramAddedTokens) {
  check_family("mix_unigram", "added_mix_unigram");
}
TEST(TokenizerComponents, MixWordPieceDocs) { check_family("mix_wordpiece", "docs"); }
TEST(TokenizerComponents, MixWordPieceGolden) { check_family("mix_wordpiece", "golden"); }
TEST(TokenizerComponents, MixWordPieceFuzz) { check_family("mix_wordpiece", "fuzz"); }
TEST(TokenizerComponents, MixWordPieceAddedTokens) {
  check_family("mix_wordpiece", "added_mix_wordpiece");
}

// Tokenizer::encode is thread-safe (embedtune tokenizes a corpus on all of LibTorch's threads):
// four threads tokenizing one set at once give the oracle's ids, for every tokenizer model
// (WordPiece, byte-level and character BPE with their per-thread word caches, Unigram), the
// Oniguruma split and the added-token matcher.
class ConcurrentEncode : public ::testing::TestWithParam<std::string> {};

TEST_P(ConcurrentEncode, FourThreadsGiveTheOraclesIds) {
  const std::string variant = GetParam();
  for (const std::string set : {"docs", "fuzz", "golden"}) check_family(variant, set, 4);
  check_family(variant, "added_" + variant, 4);
}

INSTANTIATE_TEST_SUITE_P(TokenizerFamilies, ConcurrentEncode,
                         ::testing::Values("xlmr", "roberta", "qwen2", "mpnet", "mix_bpe",
                                           "mix_bpe_bytes", "mix_unigram", "mix_wordpiece"));

}  // namespace
}  // namespace embedtune
