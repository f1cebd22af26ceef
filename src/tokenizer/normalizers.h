// Normalizers: the tokenizer.json "normalizer" components, one class per `tokenizers` type
// (normalizers/*.rs), each rewriting the text of one segment. Offsets are not tracked: embedtune
// needs only ids.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace embedtune {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  // Appends the normalised form of `text` (valid UTF-8) to `out` (never aliasing `text`).
  // Thread-safe.
  virtual void normalize(std::string_view text, std::string& out) const = 0;
  // The component as `info` shows it, e.g. "Replace(' {2,}' -> ' ')".
  virtual std::string describe() const = 0;
};

struct BertNormalizerOptions;

// Factories, named and configured as the `tokenizers` types. `where` names file and key for
// errors (bad regex, bad charsmap).
std::unique_ptr<Normalizer> make_bert_normalizer(const BertNormalizerOptions& options);
// form: "NFC", "NFD", "NFKC" or "NFKD".
std::unique_ptr<Normalizer> make_unicode_normalizer(std::string_view form);
std::unique_ptr<Normalizer> make_lowercase();
std::unique_ptr<Normalizer> make_strip_accents();
std::unique_ptr<Normalizer> make_strip(bool left, bool right);
// A String pattern (is_regex false) is matched literally; a Regex one with Oniguruma.
std::unique_ptr<Normalizer> make_replace(std::string_view pattern, bool is_regex,
                                         std::string content, std::string_view where);
std::unique_ptr<Normalizer> make_prepend(std::string prepend);
// `charsmap`: the base64-decoded precompiled_charsmap.
std::unique_ptr<Normalizer> make_precompiled(std::string charsmap, std::string_view where);
std::unique_ptr<Normalizer> make_normalizer_sequence(
    std::vector<std::unique_ptr<Normalizer>> parts);

}  // namespace embedtune
