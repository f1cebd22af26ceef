// WordPiece: greedy longest-match-first sub-word split of one word, as tokenizers'
// models/wordpiece.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tokenizer/model.h"
#include "tokenizer/token_table.h"

namespace embedtune {

// Field names and defaults as tokenizers' WordPiece model.
struct WordPieceOptions {
  std::string unk_token = "[UNK]";
  std::string continuing_subword_prefix = "##";
  size_t max_input_chars_per_word = 100;  // counted in code points
};

class WordPiece final : public Model {
 public:
  // `vocab`: (token, id) pairs; a later duplicate token wins. Throws embedtune::Error (naming
  // `source`) when unk_token is not in the vocab or an id is negative.
  WordPiece(const std::vector<std::pair<std::string, int32_t>>& vocab, WordPieceOptions options,
            std::string_view source);

  // Appends the ids of `word` (valid UTF-8, non-empty) to `ids`: the longest vocab prefix, then
  // repeatedly the longest "##"-continuation; the whole word becomes [UNK] when some remainder has
  // no match or the word has more than max_input_chars_per_word chars. Thread-safe.
  void tokenize(std::string_view word, std::vector<int32_t>& ids) const override;

  int32_t token_to_id(std::string_view token) const override { return vocab_.find(token); }
  // The token of `id`, or an empty view if no token has that id.
  std::string_view id_to_token(int32_t id) const override;
  size_t vocab_size() const { return vocab_.size(); }
  int32_t unk_id() const override { return unk_id_; }
  int32_t max_id() const override { return max_id_; }
  std::string describe() const override;
  const WordPieceOptions& options() const { return options_; }

 private:
  WordPieceOptions options_;
  TokenTable vocab_;         // every token, as written
  TokenTable continuation_;  // tokens that start with the prefix, keyed without it
  // A map, not a vector indexed by id: ids need not be dense (tokenizers accepts any u32), and a
  // vocab with one id near 2^31 must not allocate 2^31 strings.
  std::unordered_map<int32_t, std::string> id_to_token_;
  int32_t unk_id_ = -1;
  int32_t max_id_ = -1;
  size_t max_token_bytes_ = 0;  // no match can be longer, so the search starts there
};

}  // namespace embedtune
