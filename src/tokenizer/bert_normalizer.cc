// BertNormalizer with an ASCII fast path; non-ASCII runs follow tokenizers' step order exactly.
#include "tokenizer/bert_normalizer.h"

#include "tokenizer/unicode_classes.h"

namespace embedtune {

BertNormalizer::BertNormalizer(BertNormalizerOptions options)
    : options_(options), strip_accents_(options.strip_accents.value_or(options.lowercase)) {
  for (int c = 0; c < 128; ++c) {
    const uint8_t flags = unicode::char_flags(static_cast<char32_t>(c));
    int16_t mapped = static_cast<int16_t>(c);
    if (options_.clean_text && (flags & unicode::kIsRemoved)) {
      mapped = -1;
    } else if (options_.clean_text && (flags & unicode::kIsWhitespace)) {
      mapped = ' ';
    } else if (options_.lowercase && c >= 'A' && c <= 'Z') {
      mapped = static_cast<int16_t>(c - 'A' + 'a');
    }
    ascii_map_[c] = mapped;
  }
}

std::string BertNormalizer::normalize(std::string_view text) const {
  std::string out;
  normalize(text, out);
  return out;
}

void BertNormalizer::normalize(std::string_view text, std::string& out) const {
  out.reserve(out.size() + text.size());
  size_t i = 0;
  while (i < text.size()) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte < 0x80) {
      if (ascii_map_[byte] >= 0) out.push_back(static_cast<char>(ascii_map_[byte]));
      ++i;
    } else {
      normalize_non_ascii_run(text, i, out);
    }
  }
}

void BertNormalizer::append_lowercased(char32_t cp, std::string& out) const {
  if (!options_.lowercase) {
    unicode::append_utf8(out, cp);
    return;
  }
  char32_t lowered[3];
  const int n = unicode::to_lowercase(cp, lowered);
  for (int k = 0; k < n; ++k) unicode::append_utf8(out, lowered[k]);
}

// Handles text[i..] up to the next ASCII byte. ASCII bytes are starters (combining class 0), so
// NFD's canonical reordering never crosses them and the run can be processed on its own.
void BertNormalizer::normalize_non_ascii_run(std::string_view text, size_t& i,
                                             std::string& out) const {
  // Steps 1-2 (clean_text, handle_chinese_chars) per char; when accents are kept, step 4 too.
  char32_t chars[64];
  int count = 0;
  auto flush = [&] {
    // Step 3, strip_accents: NFD of the run, minus Mn marks. Filtering commutes with the stable
    // sort of canonical reordering, so we decompose, drop marks, then reorder what is left.
    char32_t decomposed[64 * unicode::kMaxDecomposition];
    int n = 0;
    for (int k = 0; k < count; ++k) {
      char32_t parts[unicode::kMaxDecomposition];
      const int m = unicode::decompose(chars[k], parts);
      for (int p = 0; p < m; ++p) {
        if (!(unicode::char_flags(parts[p]) & unicode::kIsNonspacingMark))
          decomposed[n++] = parts[p];
      }
    }
    for (int k = 1; k < n; ++k) {  // stable insertion sort by combining class within mark runs
      const int ccc = unicode::combining_class(decomposed[k]);
      if (ccc == 0) continue;
      int j = k;
      while (j > 0) {
        const int prev = unicode::combining_class(decomposed[j - 1]);
        if (prev == 0 || prev <= ccc) break;
        std::swap(decomposed[j - 1], decomposed[j]);
        --j;
      }
    }
    for (int k = 0; k < n; ++k) append_lowercased(decomposed[k], out);  // step 4
    count = 0;
  };
  auto emit = [&](char32_t cp) {
    if (!strip_accents_) {
      append_lowercased(cp, out);
      return;
    }
    chars[count++] = cp;
    // A starter may safely end a chunk: reordering only moves marks within runs of non-starters.
    // (Deliberate deviation: a run of over 60 consecutive marks is reordered in pieces.)
    if ((count >= 60 && unicode::combining_class(cp) == 0) || count == 64) flush();
  };
  while (i < text.size() && static_cast<unsigned char>(text[i]) >= 0x80) {
    const char32_t cp = unicode::decode_utf8(text, i);
    const uint8_t flags = unicode::char_flags(cp);
    if (options_.clean_text && (flags & unicode::kIsRemoved)) continue;
    if (options_.clean_text && (flags & unicode::kIsWhitespace)) {
      emit(U' ');
    } else if (options_.handle_chinese_chars && (flags & unicode::kIsChinese)) {
      emit(U' ');
      emit(cp);
      emit(U' ');
    } else {
      emit(cp);
    }
  }
  if (strip_accents_) flush();
}

}  // namespace embedtune
