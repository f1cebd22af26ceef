// BPE: byte-pair encoding as tokenizers' models/bpe applies it (merges by rank, optional
// continuing_subword_prefix / end_of_word_suffix, unknown-token fusing, byte fallback,
// ignore_merges), with a per-thread cache of words already merged.
#pragma once

#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tokenizer/flat_map.h"
#include "tokenizer/model.h"
#include "tokenizer/token_table.h"

namespace embedtune {

// Field names and defaults as tokenizers' BPE.
struct BpeOptions {
  std::optional<std::string> unk_token;
  std::optional<std::string> continuing_subword_prefix;
  std::optional<std::string> end_of_word_suffix;
  bool fuse_unk = false;
  bool byte_fallback = false;
  bool ignore_merges = false;
};

class Bpe final : public Model {
 public:
  // `merges`: (left, right) pairs, rank = position. Throws embedtune::Error naming `source` when a
  // merge's tokens or its result are not in the vocab.
  Bpe(const std::vector<std::pair<std::string, int32_t>>& vocab,
      const std::vector<std::pair<std::string, std::string>>& merges, BpeOptions options,
      std::string_view source);

  void tokenize(std::string_view word, std::vector<int32_t>& ids) const override;
  int32_t token_to_id(std::string_view token) const override { return vocab_.find(token); }
  std::string_view id_to_token(int32_t id) const override;
  int32_t max_id() const override { return max_id_; }
  int32_t unk_id() const override;
  std::string describe() const override;

 private:
  void merge_word(std::string_view word, std::vector<int32_t>& ids) const;

  BpeOptions options_;
  TokenTable vocab_;
  std::unordered_map<int32_t, std::string> id_to_token_;
  FlatMap64 merges_;  // (left id << 32 | right id) -> (rank << 32 | new id)
  int32_t max_id_ = -1;
  std::string source_;
  uint64_t serial_ = 0;  // keys the per-thread cache: addresses get reused
};

}  // namespace embedtune
