// Per-code-point queries the BERT normaliser and pre-tokeniser need, plus small UTF-8 helpers.
// All classes follow Hugging Face `tokenizers` 0.23.3 (see unicode_tables.h for why not plain
// utf8proc). Every function here is pure and thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace embedtune::unicode {

// Bits returned by char_flags().
enum CharFlag : uint8_t {
  kIsRemoved = 1,          // dropped by clean_text (control, format, private use, U+0000, U+FFFD)
  kIsWhitespace = 2,       // Rust char::is_whitespace
  kIsPunctuation = 4,      // BertPreTokenizer punctuation (ASCII punctuation or Unicode P*)
  kIsChinese = 8,          // padded with spaces by handle_chinese_chars
  kIsNonspacingMark = 16,  // removed by strip_accents after NFD
};

// The CharFlag bits of `cp` (any value <= 0x10FFFF). O(1) in the BMP.
uint8_t char_flags(char32_t cp);

// The classes of the generic components, as `tokenizers` decides them (generated tables):
// the Whitespace pre-tokenizer's \w (ASCII: alphanumerics and '_'), Digits' char::is_numeric,
// and StripAccents' combining marks.
bool is_regex_word_char(char32_t cp);
bool is_numeric(char32_t cp);
bool is_combining_mark(char32_t cp);

// Rust's char::to_lowercase (full, context-free mapping): writes 1..3 code points, returns the
// count.
int to_lowercase(char32_t cp, char32_t out[3]);

// Canonical decomposition of one code point (NFD without the reordering step, which needs the
// neighbours): writes 1..kMaxDecomposition code points, returns the count.
inline constexpr int kMaxDecomposition = 8;
int decompose(char32_t cp, char32_t out[kMaxDecomposition]);

// Canonical combining class (0 for starters).
int combining_class(char32_t cp);

// Bytes in the UTF-8 sequence that starts with `lead` (a valid lead byte): 1 to 4.
inline size_t utf8_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead < 0xE0) return 2;
  if (lead < 0xF0) return 3;
  return 4;
}

// Decodes the code point at text[i] (text must be valid UTF-8) and advances i past it.
inline char32_t decode_utf8(std::string_view text, size_t& i) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  unsigned char b = s[i];
  if (b < 0x80) {
    ++i;
    return b;
  }
  if (b < 0xE0) {
    char32_t cp = (char32_t(b & 0x1F) << 6) | (s[i + 1] & 0x3F);
    i += 2;
    return cp;
  }
  if (b < 0xF0) {
    char32_t cp = (char32_t(b & 0x0F) << 12) | (char32_t(s[i + 1] & 0x3F) << 6) | (s[i + 2] & 0x3F);
    i += 3;
    return cp;
  }
  char32_t cp = (char32_t(b & 0x07) << 18) | (char32_t(s[i + 1] & 0x3F) << 12) |
                (char32_t(s[i + 2] & 0x3F) << 6) | (s[i + 3] & 0x3F);
  i += 4;
  return cp;
}

// Appends the UTF-8 encoding of `cp` to `out`.
inline void append_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace embedtune::unicode
