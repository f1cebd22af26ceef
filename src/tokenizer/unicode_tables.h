// Character classes and mappings exactly as Hugging Face `tokenizers` applies them for BERT.
// The data (unicode_tables.cc) is generated from the installed oracle by
// scripts/gen_tokenizer_unicode_tables.py; unicode_classes.h is the interface the tokenizer uses.
#pragma once

#include <cstdint>
#include <span>

namespace embedtune::unicode {

// Inclusive code point range [first, last]; tables are sorted and non-overlapping.
struct CodepointRange {
  char32_t first;
  char32_t last;
};

// One code point mapped to `length` (1..3) code points.
struct CharMapping {
  char32_t from;
  uint8_t length;
  char32_t to[3];
};

// Removed by BertNormalizer clean_text: U+0000, U+FFFD and `unicode_categories` is_other()
// (Cc, Cf, Co, Cs in its old Unicode tables) except \t \n \r.
extern const std::span<const CodepointRange> kCleanTextRemovedRanges;
// Rust char::is_whitespace (clean_text maps these to ' '; BertPreTokenizer splits on them).
extern const std::span<const CodepointRange> kWhitespaceRanges;
// Non-ASCII punctuation as BertPreTokenizer sees it (`unicode_categories` is_punctuation).
extern const std::span<const CodepointRange> kPunctuationRanges;
// CJK ideograph blocks padded with spaces by handle_chinese_chars.
extern const std::span<const CodepointRange> kChineseCharRanges;
// Mn marks as `unicode_categories` knows them (removed after NFD by strip_accents).
extern const std::span<const CodepointRange> kNonspacingMarkRanges;
// Non-ASCII word chars of the Whitespace pre-tokenizer (Rust regex \w).
extern const std::span<const CodepointRange> kWordCharRanges;
// Non-ASCII numeric chars of the Digits pre-tokenizer (Rust char::is_numeric).
extern const std::span<const CodepointRange> kNumericRanges;
// Non-ASCII chars removed by the StripAccents normalizer (is_combining_mark).
extern const std::span<const CodepointRange> kCombiningMarkRanges;
// Where Rust's char::to_lowercase differs from utf8proc_tolower (full mappings, newer Unicode).
extern const std::span<const CharMapping> kLowercaseExceptions;
// Where the `unicode-normalization` crate's NFD of one char differs from utf8proc's.
extern const std::span<const CharMapping> kDecompositionExceptions;

}  // namespace embedtune::unicode
