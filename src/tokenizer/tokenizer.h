// Tokenizer: text -> the ids sentence-transformers feeds the model, for the tokenizers a
// tokenizer.json describes (as Hugging Face `tokenizers` 0.23.3 runs them, or as transformers 5.24
// rebuilds them for the classes it rebuilds): added tokens -> normalizer -> pre-tokenizer ->
// model -> post-processor. BERT WordPiece pipelines run on a fast path of their own.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/added_vocabulary.h"
#include "tokenizer/bert_normalizer.h"
#include "tokenizer/tokenizer_spec.h"
#include "tokenizer/wordpiece.h"

namespace embedtune {

class Tokenizer {
 public:
  // Loads <dir>/tokenizer.json if present (with <dir>/tokenizer_config.json's tokenizer_class,
  // see read_tokenizer_json), else <dir>/vocab.txt + <dir>/tokenizer_config.json as
  // transformers' BertTokenizerFast would build it. Throws embedtune::Error naming the folder and
  // the files looked for when neither exists, or naming the file and key when one is bad.
  static Tokenizer from_folder(const std::filesystem::path& dir);
  // Loads a tokenizer.json as `tokenizers` reads it (no transformers class).
  static Tokenizer from_tokenizer_json(const std::filesystem::path& file);
  explicit Tokenizer(const TokenizerSpec& spec);

  // Ids for one text: prefix tokens ([CLS], <s>) + tokens + suffix tokens (the post-processor),
  // cut so the total length is <= max_length (0 = no limit) as HF truncation (longest_first,
  // stride 0, right side) does for one sequence. As HF, a max_length smaller than the number of
  // special tokens does not truncate. Throws embedtune::Error on invalid UTF-8, naming the byte
  // offset. Thread-safe.
  std::vector<int32_t> encode(std::string_view utf8, size_t max_length = 0,
                              bool add_special_tokens = true) const;

  int32_t pad_id() const { return pad_id_; }
  int32_t cls_id() const { return cls_id_; }
  int32_t sep_id() const { return sep_id_; }
  int32_t unk_id() const { return model_->unk_id(); }
  // Number of ids the model must embed: 1 + the largest id of the vocab and the added tokens.
  size_t vocab_size() const { return vocab_size_; }
  // Whether `id` is a special token: one the post-processor adds, or an added token marked
  // special (transformers' all_special_ids, as far as tokenizer.json tells them).
  bool is_special(int32_t id) const;
  // The token of `id` (added tokens first), or an empty view for an unknown id.
  std::string_view id_to_token(int32_t id) const;
  bool lowercase() const { return normalizer_ && normalizer_->options().lowercase; }
  // The file's "truncation" section, if any (encode() does not apply it: pass max_length).
  const std::optional<TruncationSpec>& truncation() const { return truncation_; }
  // The pipeline, one "name: component" line each (normalizer, pre_tokenizer, model,
  // post_processor, added tokens, and where transformers' class replaced the file's choice).
  std::vector<std::string> describe() const;

 private:
  // Appends the ids of a piece of text that holds no raw-matched added token.
  void encode_segment(std::string_view text, bool at_start, std::vector<int32_t>& ids) const;

  std::string source_;
  // BERT fast path: normalizer_ (or none), bert_pre_tokenizer_, wordpiece_.
  std::optional<BertNormalizer> normalizer_;
  bool bert_pre_tokenizer_ = true;
  std::shared_ptr<const WordPiece> wordpiece_;
  // Any other pipeline: these components (normalizer and pre-tokenizer may be null).
  std::shared_ptr<const Normalizer> generic_normalizer_;
  std::shared_ptr<const PreTokenizer> pre_tokenizer_;
  std::shared_ptr<const Model> generic_model_;
  const Model* model_ = nullptr;  // wordpiece_ or generic_model_

  AddedTokenMatcher raw_matcher_;         // normalized=false added tokens, on the input text
  AddedTokenMatcher normalized_matcher_;  // normalized=true ones, on the normalised text
  std::vector<AddedToken> added_tokens_;
  std::vector<int32_t> prefix_ids_;
  std::vector<int32_t> suffix_ids_;
  std::optional<TruncationSpec> truncation_;
  std::string post_processor_;
  std::vector<std::string> deviations_;
  int32_t pad_id_ = 0;
  int32_t cls_id_ = -1;
  int32_t sep_id_ = -1;
  size_t vocab_size_ = 0;
};

}  // namespace embedtune
