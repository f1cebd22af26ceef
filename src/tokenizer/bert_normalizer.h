// BertNormalizer: clean_text, handle_chinese_chars, strip_accents, lowercase, in that order,
// as Hugging Face `tokenizers` (normalizers/bert.rs) applies them.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace embedtune {

// Field names and defaults as tokenizers' BertNormalizer.
struct BertNormalizerOptions {
  bool clean_text = true;            // drop control/format chars, U+0000, U+FFFD; whitespace -> ' '
  bool handle_chinese_chars = true;  // put spaces around CJK ideographs
  std::optional<bool> strip_accents;  // NFD then drop Mn marks; unset: follows lowercase
  bool lowercase = true;              // Rust char::to_lowercase (may expand, e.g. U+0130)
};

class BertNormalizer {
 public:
  explicit BertNormalizer(BertNormalizerOptions options = {});

  // Appends the normalised form of `text` (valid UTF-8) to `out`. Thread-safe.
  void normalize(std::string_view text, std::string& out) const;
  std::string normalize(std::string_view text) const;

  const BertNormalizerOptions& options() const { return options_; }
  bool strips_accents() const { return strip_accents_; }

 private:
  void normalize_non_ascii_run(std::string_view text, size_t& i, std::string& out) const;
  void append_lowercased(char32_t cp, std::string& out) const;

  BertNormalizerOptions options_;
  bool strip_accents_;
  // Output byte per ASCII input byte, or -1 when clean_text drops it.
  std::array<int16_t, 128> ascii_map_;
};

}  // namespace embedtune
