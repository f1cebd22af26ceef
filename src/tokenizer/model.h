// Model: the tokenizer.json "model" (WordPiece, Unigram, BPE), turning one pre-tokenised piece
// into ids.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace embedtune {

class Model {
 public:
  virtual ~Model() = default;
  // Appends the ids of `piece` (valid UTF-8, non-empty) to `ids`. Throws embedtune::Error when
  // the piece has an unknown char and the model has no unknown token. Thread-safe.
  virtual void tokenize(std::string_view piece, std::vector<int32_t>& ids) const = 0;
  virtual int32_t token_to_id(std::string_view token) const = 0;  // -1: none
  virtual std::string_view id_to_token(int32_t id) const = 0;     // empty: none
  virtual int32_t max_id() const = 0;                             // -1: empty vocab
  virtual int32_t unk_id() const = 0;                             // -1: none
  virtual std::string describe() const = 0;
};

}  // namespace embedtune
