// Every code point through each BertNormalizer step and the BertPreTokenizer, against the
// per-code-point results tests/python/oracle_tokenizer.py took from tokenizers.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "tokenizer/bert_normalizer.h"
#include "tokenizer/bert_pre_tokenizer.h"
#include "tokenizer/unicode_classes.h"
#include "tokenizer_testdata.h"

namespace embedtune {
namespace {

std::string utf8(char32_t cp) {
  std::string s;
  unicode::append_utf8(s, cp);
  return s;
}

struct Sweep {
  std::map<std::string, std::unordered_map<char32_t, std::string>>
      normalized;                            // config -> cp -> text
  std::unordered_map<char32_t, int> pieces;  // "a" c "a" -> 2 (space) or 3 (punct)
};

Sweep read_sweep() {
  Sweep sweep;
  const auto dir = testing::tokenizer_testdata();
  if (dir.empty()) return sweep;
  for (const std::string& line : testing::read_lines(dir / "unicode_sweep.txt")) {
    std::istringstream in(line);
    std::string config, cp_hex;
    in >> config >> cp_hex;
    const auto cp = static_cast<char32_t>(std::stoul(cp_hex, nullptr, 16));
    if (config == "space" || config == "punct") {
      sweep.pieces[cp] = config == "space" ? 2 : 3;
      continue;
    }
    std::string text, part;
    while (in >> part) {
      if (part != "-") text += utf8(static_cast<char32_t>(std::stoul(part, nullptr, 16)));
    }
    sweep.normalized[config][cp] = text;
  }
  return sweep;
}

TEST(UnicodeSweep, EveryCodePointMatchesTokenizers) {
  const Sweep sweep = read_sweep();
  ASSERT_EQ(sweep.normalized.size(), 5u) << "unicode_sweep.txt lacks normaliser configs";
  const std::map<std::string, BertNormalizerOptions> configs = {
      {"clean", {true, false, false, false}},
      {"chinese", {false, true, false, false}},
      {"strip", {false, false, true, false}},
      {"lower", {false, false, false, true}},
      {"bert", {}}};
  size_t compared = 0, mismatches = 0;
  for (const auto& [name, options] : configs) {
    const BertNormalizer normalizer(options);
    const auto& expected = sweep.normalized.at(name);
    for (char32_t cp = 0; cp < 0x110000; ++cp) {
      if (cp >= 0xD800 && cp <= 0xDFFF) continue;
      const std::string input = utf8(cp);
      const auto it = expected.find(cp);
      const std::string& want = it == expected.end() ? input : it->second;
      ++compared;
      if (normalizer.normalize(input) != want && ++mismatches <= 10) {
        ADD_FAILURE() << name << ": U+" << std::hex << static_cast<uint32_t>(cp);
      }
    }
  }
  for (char32_t cp = 0; cp < 0x110000; ++cp) {
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;
    std::vector<std::string_view> words;
    const std::string text = "a" + utf8(cp) + "a";
    bert_pre_tokenize(text, words);
    const auto it = sweep.pieces.find(cp);
    const size_t want = it == sweep.pieces.end() ? 1 : it->second;
    ++compared;
    if (words.size() != want && ++mismatches <= 20) {
      ADD_FAILURE() << "pre-tokenizer: U+" << std::hex << static_cast<uint32_t>(cp) << " gives "
                    << std::dec << words.size() << " words, tokenizers " << want;
    }
  }
  std::printf("[unicode sweep] %zu (config, code point) results compared, %zu mismatching\n",
              compared, mismatches);
  EXPECT_EQ(mismatches, 0u);
}

}  // namespace
}  // namespace embedtune
