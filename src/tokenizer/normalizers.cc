// The normalizer components: each mirrors one `tokenizers` normalizer (file named per class).
#include "tokenizer/normalizers.h"

#include <fmt/format.h>
#include <utf8proc.h>

#include <cstdlib>

#include "io/error.h"
#include "tokenizer/bert_normalizer.h"
#include "tokenizer/onig_regex.h"
#include "tokenizer/precompiled.h"
#include "tokenizer/unicode_classes.h"

namespace embedtune {
namespace {

// normalizers/bert.rs
class BertNormalizerComponent final : public Normalizer {
 public:
  explicit BertNormalizerComponent(const BertNormalizerOptions& options) : impl_(options) {}
  void normalize(std::string_view text, std::string& out) const override {
    impl_.normalize(text, out);
  }
  std::string describe() const override {
    const auto& o = impl_.options();
    return fmt::format(
        "BertNormalizer(clean_text={}, handle_chinese_chars={}, strip_accents={}, lowercase={})",
        o.clean_text, o.handle_chinese_chars, impl_.strips_accents(), o.lowercase);
  }

 private:
  BertNormalizer impl_;
};

// normalizers/unicode.rs: NFC, NFD, NFKC, NFKD (utf8proc; tokenizers uses the
// unicode-normalization-alignments crate, whose tables may be older Unicode).
class UnicodeNormalizer final : public Normalizer {
 public:
  explicit UnicodeNormalizer(std::string_view form) : name_(form) {
    options_ = UTF8PROC_STABLE;
    if (form == "NFC" || form == "NFKC") options_ |= UTF8PROC_COMPOSE;
    if (form == "NFD" || form == "NFKD") options_ |= UTF8PROC_DECOMPOSE;
    if (form[2] == 'K') options_ |= UTF8PROC_COMPAT;
  }
  void normalize(std::string_view text, std::string& out) const override {
    bool ascii = true;
    for (char c : text) ascii &= static_cast<unsigned char>(c) < 0x80;
    if (ascii) {  // ASCII is invariant under every normalisation form
      out.append(text);
      return;
    }
    utf8proc_uint8_t* result = nullptr;
    const utf8proc_ssize_t n = utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                                            static_cast<utf8proc_ssize_t>(text.size()), &result,
                                            static_cast<utf8proc_option_t>(options_));
    if (n < 0) {
      std::free(result);
      fail("{} normalisation failed: {}", name_, utf8proc_errmsg(n));
    }
    out.append(reinterpret_cast<const char*>(result), static_cast<size_t>(n));
    std::free(result);
  }
  std::string describe() const override { return name_; }

 private:
  std::string name_;
  int options_ = 0;
};

// normalizers/utils.rs Lowercase: char::to_lowercase per char.
class Lowercase final : public Normalizer {
 public:
  void normalize(std::string_view text, std::string& out) const override {
    for (size_t i = 0; i < text.size();) {
      const unsigned char b = static_cast<unsigned char>(text[i]);
      if (b < 0x80) {
        out.push_back(b >= 'A' && b <= 'Z' ? static_cast<char>(b + 32) : static_cast<char>(b));
        ++i;
        continue;
      }
      char32_t lower[3];
      const int n = unicode::to_lowercase(unicode::decode_utf8(text, i), lower);
      for (int k = 0; k < n; ++k) unicode::append_utf8(out, lower[k]);
    }
  }
  std::string describe() const override { return "Lowercase"; }
};

// normalizers/strip.rs StripAccents: drops every combining mark.
class StripAccents final : public Normalizer {
 public:
  void normalize(std::string_view text, std::string& out) const override {
    for (size_t i = 0; i < text.size();) {
      const size_t start = i;
      const char32_t cp = unicode::decode_utf8(text, i);
      if (unicode::is_combining_mark(cp)) continue;
      out.append(text.substr(start, i - start));
    }
  }
  std::string describe() const override { return "StripAccents"; }
};

bool is_whitespace_at(std::string_view text, size_t i, size_t& next) {
  next = i;
  return unicode::char_flags(unicode::decode_utf8(text, next)) & unicode::kIsWhitespace;
}

// normalizers/strip.rs Strip: Rust char::is_whitespace on the chosen sides.
class Strip final : public Normalizer {
 public:
  Strip(bool left, bool right) : left_(left), right_(right) {}
  void normalize(std::string_view text, std::string& out) const override {
    size_t begin = 0, end = text.size();
    if (left_) {
      size_t next;
      while (begin < end && is_whitespace_at(text, begin, next)) begin = next;
    }
    if (right_) {
      while (end > begin) {
        size_t start = end - 1;
        while (start > begin && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
        size_t next;
        if (!is_whitespace_at(text, start, next)) break;
        end = start;
      }
    }
    out.append(text.substr(begin, end - begin));
  }
  std::string describe() const override {
    return fmt::format("Strip(left={}, right={})", left_, right_);
  }

 private:
  bool left_, right_;
};

// normalizers/replace.rs: a String pattern is escaped into a regex, as tokenizers does.
class Replace final : public Normalizer {
 public:
  Replace(std::string_view pattern, bool is_regex, std::string content, std::string_view where)
      : pattern_(pattern),
        is_regex_(is_regex),
        content_(std::move(content)),
        regex_(is_regex ? std::string(pattern) : OnigRegex::escape(pattern), where) {}
  void normalize(std::string_view text, std::string& out) const override {
    if (!is_regex_) {  // a literal: plain search is the same as the escaped regex, and faster
      if (pattern_.empty()) {
        out.append(text);
        return;
      }
      size_t done = 0;
      for (size_t at = text.find(pattern_); at != std::string_view::npos;
           at = text.find(pattern_, done)) {
        out.append(text.substr(done, at - done));
        out.append(content_);
        done = at + pattern_.size();
      }
      out.append(text.substr(done));
      return;
    }
    out.append(regex_.replace_all(text, content_));
  }
  std::string describe() const override {
    return fmt::format("Replace({}{:?} -> {:?})", is_regex_ ? "regex " : "", pattern_, content_);
  }

 private:
  std::string pattern_;
  bool is_regex_;
  std::string content_;
  OnigRegex regex_;
};

// normalizers/prepend.rs: only non-empty text gets the prefix.
class Prepend final : public Normalizer {
 public:
  explicit Prepend(std::string prepend) : prepend_(std::move(prepend)) {}
  void normalize(std::string_view text, std::string& out) const override {
    if (!text.empty()) out.append(prepend_);
    out.append(text);
  }
  std::string describe() const override { return fmt::format("Prepend({:?})", prepend_); }

 private:
  std::string prepend_;
};

class PrecompiledComponent final : public Normalizer {
 public:
  PrecompiledComponent(std::string charsmap, std::string_view where)
      : impl_(std::move(charsmap), where) {}
  void normalize(std::string_view text, std::string& out) const override {
    impl_.normalize(text, out);
  }
  std::string describe() const override { return "Precompiled(SentencePiece charsmap)"; }

 private:
  Precompiled impl_;
};

class NormalizerSequence final : public Normalizer {
 public:
  explicit NormalizerSequence(std::vector<std::unique_ptr<Normalizer>> parts)
      : parts_(std::move(parts)) {}
  void normalize(std::string_view text, std::string& out) const override {
    if (parts_.empty()) {
      out.append(text);
      return;
    }
    std::string current(text), next;
    for (size_t k = 0; k + 1 < parts_.size(); ++k) {
      next.clear();
      parts_[k]->normalize(current, next);
      std::swap(current, next);
    }
    parts_.back()->normalize(current, out);
  }
  std::string describe() const override {
    std::string s = "Sequence[";
    for (size_t k = 0; k < parts_.size(); ++k) s += (k ? ", " : "") + parts_[k]->describe();
    return s + "]";
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> parts_;
};

}  // namespace

std::unique_ptr<Normalizer> make_bert_normalizer(const BertNormalizerOptions& options) {
  return std::make_unique<BertNormalizerComponent>(options);
}
std::unique_ptr<Normalizer> make_unicode_normalizer(std::string_view form) {
  return std::make_unique<UnicodeNormalizer>(form);
}
std::unique_ptr<Normalizer> make_lowercase() { return std::make_unique<Lowercase>(); }
std::unique_ptr<Normalizer> make_strip_accents() { return std::make_unique<StripAccents>(); }
std::unique_ptr<Normalizer> make_strip(bool left, bool right) {
  return std::make_unique<Strip>(left, right);
}
std::unique_ptr<Normalizer> make_replace(std::string_view pattern, bool is_regex,
                                         std::string content, std::string_view where) {
  return std::make_unique<Replace>(pattern, is_regex, std::move(content), where);
}
std::unique_ptr<Normalizer> make_prepend(std::string prepend) {
  return std::make_unique<Prepend>(std::move(prepend));
}
std::unique_ptr<Normalizer> make_precompiled(std::string charsmap, std::string_view where) {
  return std::make_unique<PrecompiledComponent>(std::move(charsmap), where);
}
std::unique_ptr<Normalizer> make_normalizer_sequence(
    std::vector<std::unique_ptr<Normalizer>> parts) {
  return std::make_unique<NormalizerSequence>(std::move(parts));
}

}  // namespace embedtune
