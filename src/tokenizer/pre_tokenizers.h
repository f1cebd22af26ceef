// Pre-tokenizers: the tokenizer.json "pre_tokenizer" components, one class per `tokenizers` type
// (pre_tokenizers/*.rs), each splitting (and possibly rewriting) the pieces of one segment.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace embedtune {

// One piece of text on its way to the model.
struct PreToken {
  std::string text;
  // The piece starts where the whole input starts (tokenizers' offsets_original().0 == 0), which
  // Metaspace's prepend_scheme "first" asks.
  bool at_start = false;
};

// tokenizers' SplitDelimiterBehavior.
enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Replaces `pieces` with their pre-tokenised pieces, in order, never empty ones. Thread-safe.
  virtual void pre_tokenize(std::vector<PreToken>& pieces) const = 0;
  virtual std::string describe() const = 0;
};

std::unique_ptr<PreTokenizer> make_bert_pre_tokenizer();
std::unique_ptr<PreTokenizer> make_whitespace();        // \w+|[^\w\s]+ (Rust regex classes)
std::unique_ptr<PreTokenizer> make_whitespace_split();  // on char::is_whitespace, removed
// prepend_scheme: "always", "first" or "never".
std::unique_ptr<PreTokenizer> make_metaspace(std::string replacement, std::string prepend_scheme,
                                             bool split);
std::unique_ptr<PreTokenizer> make_byte_level(bool add_prefix_space, bool use_regex);
// pattern: literal (is_regex false) or Oniguruma regex; `where` names file and key for errors.
std::unique_ptr<PreTokenizer> make_split(std::string_view pattern, bool is_regex,
                                         SplitBehavior behavior, bool invert,
                                         std::string_view where);
std::unique_ptr<PreTokenizer> make_digits(bool individual_digits);
std::unique_ptr<PreTokenizer> make_punctuation(SplitBehavior behavior);
std::unique_ptr<PreTokenizer> make_pre_tokenizer_sequence(
    std::vector<std::unique_ptr<PreTokenizer>> parts);

// The 256 strings ByteLevel maps the bytes to (GPT-2's bytes_to_unicode), UTF-8 encoded.
const std::string* byte_level_alphabet();

}  // namespace embedtune
