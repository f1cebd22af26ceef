// Parity with Hugging Face tokenizers / transformers: every docs line and golden text, for each
// tokenizer variant and truncation length the oracle (tests/python/oracle_tokenizer.py) wrote.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
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

std::string escape(const std::string& text) { return nlohmann::json(text).dump(); }

void check_parity(const std::string& variant, const std::string& set, size_t max_length) {
  const auto dir = testing::tokenizer_testdata();
  if (dir.empty()) return;
  std::vector<std::string> texts;
  if (set == "docs") {
    texts = testing::read_lines(dir / "docs.txt");
  } else {
    for (const std::string& line : testing::read_lines(dir / "golden.jsonl")) {
      texts.push_back(nlohmann::json::parse(line).at("text").get<std::string>());
    }
  }
  const auto expected_file =
      dir / "expected" / (variant + "." + set + "." + std::to_string(max_length) + ".txt");
  ASSERT_TRUE(std::filesystem::exists(expected_file)) << expected_file << " is missing";
  const auto expected = testing::read_expected_ids(expected_file);
  ASSERT_EQ(expected.size(), texts.size()) << expected_file;

  const Tokenizer tokenizer = Tokenizer::from_folder(dir / "variants" / variant);
  size_t mismatches = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    const std::vector<int32_t> ids = tokenizer.encode(texts[i], max_length);
    if (ids != expected[i] && ++mismatches <= 5) {
      ADD_FAILURE() << "text #" << i << ": " << escape(texts[i]) << "\n  ours: " << show(ids)
                    << "\n  HF:   " << show(expected[i]);
    }
  }
  std::printf("[parity] %s/%s max_length=%zu: %zu sequences compared, %zu mismatching\n",
              variant.c_str(), set.c_str(), max_length, texts.size(), mismatches);
  EXPECT_EQ(mismatches, 0u);
}

TEST(TokenizerParity, BaseDocs) { check_parity("base", "docs", 0); }
TEST(TokenizerParity, BaseDocsTruncated256) { check_parity("base", "docs", 256); }
TEST(TokenizerParity, BaseDocsTruncated16) { check_parity("base", "docs", 16); }
TEST(TokenizerParity, BaseGolden) { check_parity("base", "golden", 0); }
TEST(TokenizerParity, BaseGoldenTruncated256) { check_parity("base", "golden", 256); }
TEST(TokenizerParity, BaseGoldenTruncated16) { check_parity("base", "golden", 16); }
TEST(TokenizerParity, CasedDocs) { check_parity("cased", "docs", 0); }
TEST(TokenizerParity, CasedGolden) { check_parity("cased", "golden", 0); }
TEST(TokenizerParity, CasedStripAccentsDocs) { check_parity("cased_strip", "docs", 0); }
TEST(TokenizerParity, CasedStripAccentsGolden) { check_parity("cased_strip", "golden", 0); }
TEST(TokenizerParity, NoChineseCharsDocs) { check_parity("no_chinese", "docs", 0); }
TEST(TokenizerParity, NoChineseCharsGolden) { check_parity("no_chinese", "golden", 0); }
TEST(TokenizerParity, VocabFolderDocs) { check_parity("vocab_folder", "docs", 0); }
TEST(TokenizerParity, VocabFolderGolden) { check_parity("vocab_folder", "golden", 0); }
TEST(TokenizerParity, VocabFolderCasedDocs) { check_parity("vocab_folder_cased", "docs", 0); }
TEST(TokenizerParity, VocabFolderCasedGolden) { check_parity("vocab_folder_cased", "golden", 0); }

}  // namespace
}  // namespace embedtune
