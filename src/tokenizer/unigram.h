// Unigram: the SentencePiece unigram model as tokenizers' models/unigram encodes (Viterbi over
// piece scores, unknown chars fused into one unknown token, optional byte fallback).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/flat_map.h"
#include "tokenizer/model.h"
#include "tokenizer/token_table.h"

namespace embedtune {

class Unigram final : public Model {
 public:
  // `vocab`: (piece, score) with id = position. Throws embedtune::Error naming `source` when
  // the vocab is empty or unk_id is out of range.
  Unigram(std::vector<std::pair<std::string, double>> vocab, std::optional<int32_t> unk_id,
          bool byte_fallback, std::string_view source);

  void tokenize(std::string_view piece, std::vector<int32_t>& ids) const override;
  int32_t token_to_id(std::string_view token) const override { return token_to_id_.find(token); }
  std::string_view id_to_token(int32_t id) const override;
  int32_t max_id() const override { return static_cast<int32_t>(vocab_.size()) - 1; }
  int32_t unk_id() const override { return unk_id_; }
  std::string describe() const override;

 private:
  // Trie over the pieces' bytes: node 0 is the root; child of (node, byte) in children_.
  int32_t child(uint32_t node, unsigned char byte) const {
    const uint64_t* c = children_.find(uint64_t{node} << 8 | byte);
    return c ? static_cast<int32_t>(*c) : -1;
  }
  // Appends the ids of an unknown stretch (fused unknown chars), as Unigram::tokenize maps a
  // string that is not in the vocab.
  void append_unknown(std::string_view text, std::vector<int32_t>& ids) const;

  std::vector<std::pair<std::string, double>> vocab_;
  TokenTable token_to_id_;
  FlatMap64 children_;
  std::vector<int32_t> node_id_;  // per trie node: the id of the piece ending there, or -1
  double min_score_ = 0;
  int32_t unk_id_ = -1;
  bool byte_fallback_ = false;
  std::string source_;
};

}  // namespace embedtune
