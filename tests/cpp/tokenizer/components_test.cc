// Hand-computed cases for the tokenizer's parts: normaliser, pre-tokeniser, WordPiece, matching
// of added tokens, UTF-8 checks.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tokenizer/added_vocabulary.h"
#include "tokenizer/bert_normalizer.h"
#include "tokenizer/bert_pre_tokenizer.h"
#include "tokenizer/unicode_classes.h"
#include "tokenizer/wordpiece.h"

namespace embedtune {
namespace {

std::vector<std::string> words_of(std::string_view text) {
  std::vector<std::string_view> views;
  bert_pre_tokenize(text, views);
  return {views.begin(), views.end()};
}

TEST(BertNormalizer, CleansWhitespaceAndControls) {
  const BertNormalizer n({.clean_text = true,
                          .handle_chinese_chars = false,
                          .strip_accents = false,
                          .lowercase = false});
  EXPECT_EQ(n.normalize("a\tb\nc\r\nd"), "a b c  d");
  EXPECT_EQ(n.normalize(std::string("x\0y", 3)), "xy");
  EXPECT_EQ(n.normalize("x\u0007y\uFFFDz\u200Bw"), "xyzw");  // bell, replacement char, ZWSP
  EXPECT_EQ(n.normalize("soft\u00ADhyphen"), "softhyphen");
  EXPECT_EQ(n.normalize("nb\u00A0sp\u3000x"), "nb sp x");
}

TEST(BertNormalizer, PadsChineseChars) {
  const BertNormalizer n({.clean_text = false,
                          .handle_chinese_chars = true,
                          .strip_accents = false,
                          .lowercase = false});
  EXPECT_EQ(n.normalize("ab中文c"), "ab 中  文 c");
  EXPECT_EQ(n.normalize("ひらがな"), "ひらがな");  // kana are not CJK ideographs
}

TEST(BertNormalizer, StripsAccentsAfterNfd) {
  const BertNormalizer n({.clean_text = false,
                          .handle_chinese_chars = false,
                          .strip_accents = true,
                          .lowercase = false});
  EXPECT_EQ(n.normalize("Café Ñandú Ångström"), "Cafe Nandu Angstrom");
  EXPECT_EQ(n.normalize("e\u0301"), "e");
  EXPECT_EQ(n.normalize("한"), "\u1112\u1161\u11AB");  // Hangul syllable -> jamo
}

TEST(BertNormalizer, LowercasesLikeRust) {
  const BertNormalizer n({.clean_text = false,
                          .handle_chinese_chars = false,
                          .strip_accents = false,
                          .lowercase = true});
  EXPECT_EQ(n.normalize("HeLLo ÀÉ"), "hello àé");
  EXPECT_EQ(n.normalize("\u0130"), "i\u0307");  // expands to two chars
  EXPECT_EQ(n.normalize("ΟΔΟΣ"), "οδοσ");       // no final-sigma context rule
  EXPECT_EQ(n.normalize("ẞ"), "ß");
}

TEST(BertNormalizer, StripAccentsFollowsLowercaseWhenUnset) {
  EXPECT_EQ(BertNormalizer({.lowercase = true}).normalize("Éa"), "ea");
  EXPECT_EQ(BertNormalizer({.lowercase = false}).normalize("Éa"), "Éa");
  // Strip happens before lowercase, so İ loses its dot.
  EXPECT_EQ(BertNormalizer(BertNormalizerOptions{}).normalize("İstanbul"), "istanbul");
}

TEST(BertPreTokenizer, SplitsOnWhitespaceAndPunctuation) {
  EXPECT_EQ(words_of("Hello, world!"), (std::vector<std::string>{"Hello", ",", "world", "!"}));
  EXPECT_EQ(words_of("  a  b  "), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(words_of(""), std::vector<std::string>{});
  EXPECT_EQ(words_of("..."), (std::vector<std::string>{".", ".", "."}));
  EXPECT_EQ(words_of("a$b^c`d~e"),
            (std::vector<std::string>{"a", "$", "b", "^", "c", "`", "d", "~", "e"}));
  EXPECT_EQ(words_of("«x»—y"), (std::vector<std::string>{"«", "x", "»", "—", "y"}));
  EXPECT_EQ(words_of("a\u3000b"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(words_of("1+1"),
            (std::vector<std::string>{"1", "+", "1"}));  // ASCII 43 is punctuation (though Sm)
}

WordPiece small_wordpiece(size_t max_chars = 100) {
  std::vector<std::pair<std::string, int32_t>> vocab = {{"[UNK]", 0},  {"un", 1}, {"##aff", 2},
                                                        {"##able", 3}, {"a", 4},  {"##ff", 5},
                                                        {"##a", 6},    {"é", 7},  {"##é", 8}};
  return WordPiece(vocab, {"[UNK]", "##", max_chars}, "test vocab");
}

std::vector<int32_t> pieces(const WordPiece& wp, std::string_view word) {
  std::vector<int32_t> ids;
  wp.tokenize(word, ids);
  return ids;
}

TEST(WordPiece, GreedyLongestMatchFirst) {
  const WordPiece wp = small_wordpiece();
  EXPECT_EQ(pieces(wp, "unaffable"), (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(pieces(wp, "aff"), (std::vector<int32_t>{4, 5}));
  EXPECT_EQ(pieces(wp, "ééé"), (std::vector<int32_t>{7, 8, 8}));
}

TEST(WordPiece, WholeWordIsUnknownWhenAPieceFails) {
  const WordPiece wp = small_wordpiece();
  EXPECT_EQ(pieces(wp, "unx"), (std::vector<int32_t>{0}));
  EXPECT_EQ(pieces(wp, "xun"), (std::vector<int32_t>{0}));
}

TEST(WordPiece, LongWordsCountCharsNotBytes) {
  const WordPiece wp = small_wordpiece(3);
  EXPECT_EQ(pieces(wp, "aaa"), (std::vector<int32_t>{4, 6, 6}));
  EXPECT_EQ(pieces(wp, "aaaa"), (std::vector<int32_t>{0}));
  EXPECT_EQ(pieces(wp, "ééé"), (std::vector<int32_t>{7, 8, 8}));  // 6 bytes, 3 chars
}

TEST(AddedTokenMatcher, LeftmostLongestAndStrips) {
  AddedToken cls{"[CLS]", 101, true, false, false, false, false};
  AddedToken mask{"[MASK]", 103, true, false, true, false, false};  // lstrip
  AddedToken ma{"[MA", 200, true, false, false, false, false};
  const AddedTokenMatcher m({cls, mask, ma}, {"[CLS]", "[MASK]", "[MA"});
  std::vector<TextSegment> out;
  m.split("x [CLS]y  [MASK] [MAz", out);
  ASSERT_EQ(out.size(), 7u);
  EXPECT_EQ(out[0].text, "x ");
  EXPECT_EQ(out[1].id, 101);
  EXPECT_EQ(out[2].text, "y");
  EXPECT_EQ(out[3].text, "  [MASK]");  // lstrip swallowed the spaces
  EXPECT_EQ(out[3].id, 103);
  EXPECT_EQ(out[4].text, " ");
  EXPECT_EQ(out[5].id, 200);
  EXPECT_EQ(out[6].text, "z");
}

}  // namespace
}  // namespace embedtune
