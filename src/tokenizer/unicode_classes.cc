// Lookups over the generated tables (unicode_tables.cc) and utf8proc, shaped like `tokenizers`.
#include "tokenizer/unicode_classes.h"

#include <utf8proc.h>

#include <algorithm>
#include <array>
#include <span>

#include "tokenizer/unicode_tables.h"

namespace embedtune::unicode {
namespace {

bool in_ranges(std::span<const CodepointRange> ranges, char32_t cp) {
  auto it = std::upper_bound(ranges.begin(), ranges.end(), cp,
                             [](char32_t c, const CodepointRange& r) { return c < r.first; });
  return it != ranges.begin() && cp <= std::prev(it)->last;
}

uint8_t flags_from_tables(char32_t cp) {
  uint8_t flags = 0;
  if (in_ranges(kCleanTextRemovedRanges, cp)) flags |= kIsRemoved;
  if (in_ranges(kWhitespaceRanges, cp)) flags |= kIsWhitespace;
  if (in_ranges(kPunctuationRanges, cp)) flags |= kIsPunctuation;
  if (in_ranges(kChineseCharRanges, cp)) flags |= kIsChinese;
  if (in_ranges(kNonspacingMarkRanges, cp)) flags |= kIsNonspacingMark;
  // The generated punctuation table holds only non-ASCII code points; ASCII is HF's fixed rule.
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) ||
      (cp >= 123 && cp <= 126)) {
    flags |= kIsPunctuation;
  }
  return flags;
}

// 64 KiB, built once: most text never leaves the BMP, so a lookup is one load.
const std::array<uint8_t, 0x10000>& bmp_flags() {
  static const auto table = [] {
    std::array<uint8_t, 0x10000> t{};
    for (char32_t cp = 0; cp < 0x10000; ++cp) t[cp] = flags_from_tables(cp);
    return t;
  }();
  return table;
}

const CharMapping* find_mapping(std::span<const CharMapping> table, char32_t cp) {
  auto it = std::lower_bound(table.begin(), table.end(), cp,
                             [](const CharMapping& m, char32_t c) { return m.from < c; });
  return it != table.end() && it->from == cp ? &*it : nullptr;
}

}  // namespace

bool is_regex_word_char(char32_t cp) {
  if (cp < 0x80) {
    return (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
           cp == '_';
  }
  return in_ranges(kWordCharRanges, cp);
}

bool is_numeric(char32_t cp) {
  if (cp < 0x80) return cp >= '0' && cp <= '9';
  return in_ranges(kNumericRanges, cp);
}

bool is_combining_mark(char32_t cp) { return cp >= 0x80 && in_ranges(kCombiningMarkRanges, cp); }

uint8_t char_flags(char32_t cp) {
  if (cp < 0x10000) return bmp_flags()[cp];
  return flags_from_tables(cp);
}

int to_lowercase(char32_t cp, char32_t out[3]) {
  if (const CharMapping* m = find_mapping(kLowercaseExceptions, cp)) {
    std::copy_n(m->to, m->length, out);
    return m->length;
  }
  out[0] = static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp)));
  return 1;
}

int decompose(char32_t cp, char32_t out[kMaxDecomposition]) {
  if (const CharMapping* m = find_mapping(kDecompositionExceptions, cp)) {
    std::copy_n(m->to, m->length, out);
    return m->length;
  }
  utf8proc_int32_t buffer[kMaxDecomposition];
  int last_boundclass = 0;
  utf8proc_ssize_t n =
      utf8proc_decompose_char(static_cast<utf8proc_int32_t>(cp), buffer, kMaxDecomposition,
                              UTF8PROC_DECOMPOSE, &last_boundclass);
  if (n <= 0 || n > kMaxDecomposition) {  // cannot happen for canonical decompositions
    out[0] = cp;
    return 1;
  }
  for (utf8proc_ssize_t k = 0; k < n; ++k) out[k] = static_cast<char32_t>(buffer[k]);
  return static_cast<int>(n);
}

int combining_class(char32_t cp) {
  return utf8proc_get_property(static_cast<utf8proc_int32_t>(cp))->combining_class;
}

}  // namespace embedtune::unicode
