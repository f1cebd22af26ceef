// Hand-computed cases for the generic tokenizer components: split behaviours, Metaspace, ByteLevel,
// Unigram's best path and unknown fusing, BPE's merge order, and the errors for unsupported parts.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "io/error.h"
#include "tokenizer/bpe.h"
#include "tokenizer/normalizers.h"
#include "tokenizer/pre_tokenizers.h"
#include "tokenizer/unigram.h"

namespace embedtune {
namespace {

std::vector<std::string> pre_tokenize(const PreTokenizer& p, const std::string& text) {
  std::vector<PreToken> pieces = {{text, true}};
  p.pre_tokenize(pieces);
  std::vector<std::string> out;
  for (const PreToken& piece : pieces) out.push_back(piece.text);
  return out;
}

std::string normalize(const Normalizer& n, const std::string& text) {
  std::string out;
  n.normalize(text, out);
  return out;
}

using ::testing::ElementsAre;

TEST(PreTokenizers, SplitBehaviours) {
  // "a-b--c" split on "-": matches are single dashes.
  auto split = [](SplitBehavior b) {
    return pre_tokenize(*make_split("-", false, b, false, "test"), "a-b--c");
  };
  EXPECT_THAT(split(SplitBehavior::kRemoved), ElementsAre("a", "b", "c"));
  EXPECT_THAT(split(SplitBehavior::kIsolated), ElementsAre("a", "-", "b", "-", "-", "c"));
  EXPECT_THAT(split(SplitBehavior::kMergedWithPrevious), ElementsAre("a-", "b-", "-", "c"));
  EXPECT_THAT(split(SplitBehavior::kMergedWithNext), ElementsAre("a", "-b", "-", "-c"));
  EXPECT_THAT(split(SplitBehavior::kContiguous), ElementsAre("a", "-", "b", "--", "c"));
  // invert: the text between matches is what gets removed; each dash stays a piece of its own.
  EXPECT_THAT(
      pre_tokenize(*make_split("-", false, SplitBehavior::kRemoved, true, "test"), "a-b--c"),
      ElementsAre("-", "-", "-"));
}

TEST(PreTokenizers, MetaspaceAndWhitespaceSplit) {
  const auto always = make_metaspace("\xE2\x96\x81", "always", true);
  EXPECT_THAT(pre_tokenize(*always, "hello  world"),
              ElementsAre("\xE2\x96\x81hello", "\xE2\x96\x81", "\xE2\x96\x81world"));
  const auto never = make_metaspace("\xE2\x96\x81", "never", false);
  EXPECT_THAT(pre_tokenize(*never, "a b"), ElementsAre("a\xE2\x96\x81"
                                                       "b"));
  std::vector<PreToken> later = {{"x", false}};
  make_metaspace("\xE2\x96\x81", "first", true)->pre_tokenize(later);
  EXPECT_EQ(later.at(0).text, "x");  // not at the start of the input: no prefix
  EXPECT_THAT(pre_tokenize(*make_whitespace_split(), " a\tb\u3000c "), ElementsAre("a", "b", "c"));
  EXPECT_THAT(pre_tokenize(*make_whitespace(), "it's 3.5x!"),
              ElementsAre("it", "'", "s", "3", ".", "5x", "!"));
}

TEST(PreTokenizers, ByteLevelMapsBytesAndSplitsLikeGpt2) {
  // GPT-2: ' ' -> U+0120 (Ġ), '\n' -> U+010A (Ċ); the regex keeps the space with the next word.
  EXPECT_THAT(pre_tokenize(*make_byte_level(false, true), "Hi there\n"),
              ElementsAre("Hi", "\xC4\xA0there", "\xC4\x8A"));
  EXPECT_THAT(pre_tokenize(*make_byte_level(true, false), "x"), ElementsAre("\xC4\xA0x"));
  EXPECT_EQ(byte_level_alphabet()['A'], "A");
  EXPECT_EQ(byte_level_alphabet()[0], "\xC4\x80");  // U+0100
}

// ByteLevel matches the GPT-2 pattern by hand; Split runs the same pattern on Oniguruma (what
// tokenizers runs). Both must cut every text the same way: random mixes of letters, digits,
// spaces of every kind, apostrophe contractions and other symbols, ASCII and not.
TEST(PreTokenizers, ByteLevelHandMatcherEqualsOniguruma) {
  const auto by_hand = make_byte_level(false, true);
  std::vector<std::unique_ptr<PreTokenizer>> parts;
  parts.push_back(
      make_split(R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)",
                 true, SplitBehavior::kIsolated, false, "test"));
  parts.push_back(make_byte_level(false, false));
  const auto by_engine = make_pre_tokenizer_sequence(std::move(parts));
  const std::vector<std::string> atoms = {"a",        "Z",
                                          "7",        " ",
                                          "  ",       "\t",
                                          "\n",       "\r\n",
                                          "'",        "'s",
                                          "'t",       "'re",
                                          "'ve",      "'m",
                                          "'ll",      "'d",
                                          "'S",       "'x",
                                          ".",        ",",
                                          "!",        "-",
                                          "\xC2\xA0", "\xE3\x80\x80",
                                          "\xC3\xA9", "\xE6\x97\xA5",
                                          "\xD9\xA3", "\xE2\x85\xAB",
                                          "\xC2\xBD", "\xF0\x9F\x98\x80",
                                          "\xCC\x81", "\xE2\x80\x8B",
                                          "\xC2\x85", "\xE2\x80\xA8",
                                          "\x0B",     "\x0C",
                                          "_",        "$"};
  uint64_t state = 12345;
  auto next = [&] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return state >> 33;
  };
  size_t differing = 0;
  for (int t = 0; t < 20000; ++t) {
    std::string text;
    const size_t n = next() % 12;
    for (size_t k = 0; k < n; ++k) text += atoms[next() % atoms.size()];
    if (pre_tokenize(*by_hand, text) != pre_tokenize(*by_engine, text) && ++differing <= 5) {
      ADD_FAILURE() << "text " << ::testing::PrintToString(text);
    }
  }
  EXPECT_EQ(differing, 0u);
}

TEST(Normalizers, StripReplacePrependSequence) {
  EXPECT_EQ(normalize(*make_strip(true, false), " \t a b \n"), "a b \n");
  EXPECT_EQ(normalize(*make_replace(" {2,}", true, " ", "test"), "a   b  c d"), "a b c d");
  EXPECT_EQ(normalize(*make_replace("ab", false, "X", "test"), "aabab"), "aXX");
  EXPECT_EQ(normalize(*make_prepend("_"), ""), "");
  EXPECT_EQ(normalize(*make_prepend("_"), "a"), "_a");
  std::vector<std::unique_ptr<Normalizer>> parts;
  parts.push_back(make_unicode_normalizer("NFKD"));
  parts.push_back(make_strip_accents());
  parts.push_back(make_lowercase());
  EXPECT_EQ(normalize(*make_normalizer_sequence(std::move(parts)), "Ｃafé İ"), "cafe i");
  EXPECT_THROW(make_replace("(", true, "", "f.json: key \"normalizer.pattern\""), Error);
}

TEST(Unigram, BestPathAndFusedUnknowns) {
  // "ab" as one piece (-1) beats "a" + "b" (-1.5 + -1.5); "xy" are unknown and fuse into one.
  Unigram model({{"<unk>", 0.0}, {"a", -1.5}, {"b", -1.5}, {"ab", -1.0}, {"c", -2.0}}, 0, false,
                "test");
  std::vector<int32_t> ids;
  model.tokenize("abxyc", ids);
  EXPECT_THAT(ids, ElementsAre(3, 0, 4));
  Unigram bytes({{"<unk>", 0.0}, {"a", -1.0}, {"<0x78>", -5.0}}, 0, true, "test");
  ids.clear();
  bytes.tokenize("axz", ids);  // 'x' has a byte piece but 'z' does not: the fused "xz" is <unk>
  EXPECT_THAT(ids, ElementsAre(1, 0));
  ids.clear();
  bytes.tokenize("ax", ids);  // "x" alone is unknown, and its byte piece exists
  EXPECT_THAT(ids, ElementsAre(1, 2));
  Unigram no_unk({{"a", -1.0}}, std::nullopt, false, "test");
  EXPECT_THROW(no_unk.tokenize("b", ids), Error);
}

TEST(Bpe, MergesByRankThenPosition) {
  const std::vector<std::pair<std::string, int32_t>> vocab = {
      {"a", 0}, {"b", 1}, {"c", 2}, {"ab", 3}, {"bc", 4}, {"abc", 5}, {"[UNK]", 6}};
  // "bc" ranks before "ab": "abc" -> a + bc (no "a"+"bc" merge) -> [0, 4].
  Bpe model(vocab, {{"b", "c"}, {"a", "b"}}, {}, "test");
  std::vector<int32_t> ids;
  model.tokenize("abc", ids);
  EXPECT_THAT(ids, ElementsAre(0, 4));
  Bpe other(vocab, {{"a", "b"}, {"ab", "c"}}, {}, "test");
  ids.clear();
  other.tokenize("abcab", ids);
  EXPECT_THAT(ids, ElementsAre(5, 3));
  BpeOptions fuse;
  fuse.unk_token = "[UNK]";
  fuse.fuse_unk = true;
  Bpe fused(vocab, {}, fuse, "test");
  ids.clear();
  fused.tokenize("axyb", ids);
  EXPECT_THAT(ids, ElementsAre(0, 6, 1));
  EXPECT_THROW(Bpe(vocab, {{"a", "c"}}, {}, "test"), Error);  // "ac" is not in the vocab
}

}  // namespace
}  // namespace embedtune
