// BertPreTokenizer with a table-driven ASCII fast path.
#include "tokenizer/bert_pre_tokenizer.h"

#include <array>
#include <cstdint>

#include "tokenizer/unicode_classes.h"

namespace embedtune {
namespace {

enum CharKind : uint8_t { kWord = 0, kSpace = 1, kPunct = 2 };

uint8_t kind_of(char32_t cp) {
  const uint8_t flags = unicode::char_flags(cp);
  if (flags & unicode::kIsWhitespace) return kSpace;
  if (flags & unicode::kIsPunctuation) return kPunct;
  return kWord;
}

const std::array<uint8_t, 128>& ascii_kinds() {
  static const auto table = [] {
    std::array<uint8_t, 128> t{};
    for (char32_t c = 0; c < 128; ++c) t[c] = kind_of(c);
    return t;
  }();
  return table;
}

}  // namespace

void bert_pre_tokenize(std::string_view text, std::vector<std::string_view>& words) {
  const auto& ascii = ascii_kinds();
  size_t word_start = 0;
  size_t i = 0;
  while (i < text.size()) {
    const size_t char_start = i;
    const auto byte = static_cast<unsigned char>(text[i]);
    uint8_t kind;
    if (byte < 0x80) {
      kind = ascii[byte];
      ++i;
    } else {
      kind = kind_of(unicode::decode_utf8(text, i));
    }
    if (kind == kWord) continue;
    if (char_start > word_start) words.push_back(text.substr(word_start, char_start - word_start));
    if (kind == kPunct) words.push_back(text.substr(char_start, i - char_start));
    word_start = i;
  }
  if (text.size() > word_start) words.push_back(text.substr(word_start));
}

}  // namespace embedtune
