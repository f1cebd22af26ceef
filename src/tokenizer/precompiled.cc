// Precompiled: darts-clone common-prefix search over the charsmap, graphemes from utf8proc.
#include "tokenizer/precompiled.h"

#include <utf8proc.h>

#include "io/error.h"
#include "tokenizer/unicode_classes.h"

namespace embedtune {
namespace {

// darts-clone unit layout, as spm_precompiled reads it.
bool has_leaf(uint32_t unit) { return (unit >> 8) & 1; }
uint32_t value(uint32_t unit) { return unit & ((1u << 31) - 1); }
uint32_t label(uint32_t unit) { return unit & ((1u << 31) | 0xFF); }
size_t offset(uint32_t unit) { return (unit >> 10) << ((unit & (1u << 9)) >> 6); }

}  // namespace

Precompiled::Precompiled(std::string charsmap, std::string_view where) {
  if (charsmap.size() < 4) {
    fail(
        "{}: precompiled_charsmap has {} bytes; expected at least the 4-byte trie size. Re-save "
        "the tokenizer.",
        where, charsmap.size());
  }
  uint32_t trie_bytes = 0;
  for (int k = 3; k >= 0; --k) trie_bytes = (trie_bytes << 8) | static_cast<uint8_t>(charsmap[k]);
  if (trie_bytes % 4 != 0 || trie_bytes > charsmap.size() - 4 || trie_bytes == 0) {
    fail(
        "{}: precompiled_charsmap declares a trie of {} bytes in a blob of {}; expected a "
        "multiple of 4 that fits. Re-save the tokenizer.",
        where, trie_bytes, charsmap.size());
  }
  trie_.resize(trie_bytes / 4);
  for (size_t k = 0; k < trie_.size(); ++k) {
    const auto* p = reinterpret_cast<const unsigned char*>(charsmap.data()) + 4 + 4 * k;
    trie_[k] = uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
  }
  normalized_ = charsmap.substr(4 + trie_bytes);
  for (int b = 1; b < 128; ++b) {
    const char c = static_cast<char>(b);
    std::string_view replacement;
    if (transform(std::string_view(&c, 1), replacement)) {
      ascii_mapped_[b] = true;
      ascii_[b] = std::string(replacement);
    }
  }
}

bool Precompiled::transform(std::string_view chunk, std::string_view& replacement) const {
  size_t node = 0;
  uint32_t unit = trie_[0];
  node ^= offset(unit);
  for (char ch : chunk) {
    const auto c = static_cast<uint8_t>(ch);
    if (c == 0) break;
    node ^= c;
    if (node >= trie_.size()) return false;
    unit = trie_[node];
    if (label(unit) != c) return false;
    node ^= offset(unit);
    if (node >= trie_.size()) return false;
    if (has_leaf(unit)) {
      // spm_precompiled takes the first (shortest) match.
      const size_t start = value(trie_[node]);
      if (start >= normalized_.size()) return false;
      const size_t end = normalized_.find('\0', start);
      replacement =
          std::string_view(normalized_)
              .substr(start, (end == std::string::npos ? normalized_.size() : end) - start);
      return true;
    }
  }
  return false;
}

void Precompiled::normalize(std::string_view text, std::string& out) const {
  utf8proc_int32_t state = 0;
  size_t i = 0;
  while (i < text.size()) {
    // An ASCII char followed by ASCII (or the end) is a grapheme of its own, except CR LF; a
    // single byte has no longer trie match.
    const auto b = static_cast<unsigned char>(text[i]);
    if (b < 0x80 && b != '\r' &&
        (i + 1 == text.size() || static_cast<unsigned char>(text[i + 1]) < 0x80)) {
      if (ascii_mapped_[b]) {
        out.append(ascii_[b]);
      } else {
        out.push_back(static_cast<char>(b));
      }
      ++i;
      state = 0;
      continue;
    }
    // One extended grapheme cluster [i, j), as the unicode-segmentation crate's graphemes(true).
    size_t j = i;
    char32_t previous = unicode::decode_utf8(text, j);
    while (j < text.size()) {
      size_t k = j;
      const char32_t next = unicode::decode_utf8(text, k);
      if (utf8proc_grapheme_break_stateful(static_cast<utf8proc_int32_t>(previous),
                                           static_cast<utf8proc_int32_t>(next), &state)) {
        break;
      }
      previous = next;
      j = k;
    }
    const std::string_view grapheme = text.substr(i, j - i);
    std::string_view replacement;
    if (grapheme.size() < 6 && transform(grapheme, replacement)) {
      out.append(replacement);
    } else {
      for (size_t c = 0; c < grapheme.size();) {
        size_t d = c;
        unicode::decode_utf8(grapheme, d);
        const std::string_view part = grapheme.substr(c, d - c);
        if (transform(part, replacement)) {
          out.append(replacement);
        } else {
          out.append(part);
        }
        c = d;
      }
    }
    i = j;
  }
}

}  // namespace embedtune
