// Leftmost-longest matching of added tokens with tokenizers' single_word / lstrip / rstrip rules.
#include "tokenizer/added_vocabulary.h"

#include <algorithm>

#include "tokenizer/unicode_classes.h"

namespace embedtune {
namespace {

// tokenizers' is_word_char: alphanumeric or '_'. Alphanumeric is approximated by "not
// whitespace, not punctuation, not a symbol-like ASCII byte" for non-ASCII text.
bool is_word_char(char32_t cp) {
  if (cp < 0x80)
    return (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
           cp == '_';
  const uint8_t flags = unicode::char_flags(cp);
  return !(flags & (unicode::kIsWhitespace | unicode::kIsPunctuation | unicode::kIsRemoved));
}

bool is_space(char32_t cp) { return unicode::char_flags(cp) & unicode::kIsWhitespace; }

// Start of the last code point before byte `end`.
size_t previous_char(std::string_view text, size_t end) {
  size_t i = end - 1;
  while (i > 0 && (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80) --i;
  return i;
}

}  // namespace

AddedTokenMatcher::AddedTokenMatcher(std::vector<AddedToken> tokens,
                                     std::vector<std::string> patterns)
    : tokens_(std::move(tokens)), patterns_(std::move(patterns)) {
  for (const std::string& p : patterns_) {
    if (!p.empty()) first_byte_[static_cast<unsigned char>(p[0])] = true;
  }
}

void AddedTokenMatcher::split(std::string_view text, std::vector<TextSegment>& out) const {
  size_t emitted = 0;  // text[0, emitted) is already in `out`
  size_t pos = 0;
  while (pos < text.size()) {
    if (!first_byte_[static_cast<unsigned char>(text[pos])]) {
      ++pos;
      continue;
    }
    // Longest pattern starting here (ties: the first listed, as aho-corasick's leftmost-longest).
    size_t best = patterns_.size();
    for (size_t k = 0; k < patterns_.size(); ++k) {
      const std::string& p = patterns_[k];
      if (!p.empty() && text.substr(pos).starts_with(p) &&
          (best == patterns_.size() || p.size() > patterns_[best].size())) {
        best = k;
      }
    }
    if (best == patterns_.size()) {
      ++pos;
      continue;
    }
    const AddedToken& token = tokens_[best];
    size_t start = pos;
    size_t stop = pos + patterns_[best].size();
    if (token.single_word) {
      bool word_before = false, word_after = false;
      if (start > 0) {
        size_t i = previous_char(text, start);
        word_before = is_word_char(unicode::decode_utf8(text, i));
      }
      if (stop < text.size()) {
        size_t i = stop;
        word_after = is_word_char(unicode::decode_utf8(text, i));
      }
      if (word_before || word_after) {
        // tokenizers skips this match and resumes after it (find_iter never overlaps).
        pos = stop;
        continue;
      }
    }
    if (token.lstrip) {
      size_t s = start;
      while (s > emitted) {
        size_t prev = previous_char(text, s);
        size_t i = prev;
        if (!is_space(unicode::decode_utf8(text, i))) break;
        s = prev;
      }
      start = s;
    }
    if (token.rstrip) {
      while (stop < text.size()) {
        size_t i = stop;
        if (!is_space(unicode::decode_utf8(text, i))) break;
        stop = i;
      }
    }
    if (start > emitted) out.push_back({text.substr(emitted, start - emitted), -1});
    out.push_back({text.substr(start, stop - start), token.id});
    emitted = stop;
    pos = stop;
  }
  if (text.size() > emitted) out.push_back({text.substr(emitted), -1});
}

}  // namespace embedtune
