// WordPiece tokenize(): same splits as tokenizers, without building "##" strings per probe.
#include "tokenizer/wordpiece.h"

#include <fmt/format.h>

#include <algorithm>

#include "io/error.h"

namespace embedtune {

WordPiece::WordPiece(const std::vector<std::pair<std::string, int32_t>>& vocab,
                     WordPieceOptions options, std::string_view source)
    : options_(std::move(options)) {
  const std::string& prefix = options_.continuing_subword_prefix;
  for (const auto& [token, id] : vocab) {
    if (id < 0) {
      fail("{}: vocab token {:?} has id {}; expected ids >= 0. Fix the vocab.", source, token, id);
    }
    vocab_.insert(token, id);
    if (!prefix.empty() && token.size() >= prefix.size() && token.starts_with(prefix)) {
      continuation_.insert(std::string_view(token).substr(prefix.size()), id);
    }
    max_token_bytes_ = std::max(max_token_bytes_, token.size());
    id_to_token_[id] = token;
    max_id_ = std::max(max_id_, id);
  }
  // With an empty prefix every token can continue a word.
  if (prefix.empty()) continuation_ = vocab_;
  unk_id_ = vocab_.find(options_.unk_token);
  if (unk_id_ < 0) {
    fail(
        "{}: the WordPiece unk_token {:?} is not in the vocab ({} tokens); add it to the vocab "
        "or set unk_token to a token that is.",
        source, options_.unk_token, vocab_.size());
  }
}

std::string WordPiece::describe() const {
  return fmt::format("WordPiece({} tokens, unk_token={:?}, continuing_subword_prefix={:?})",
                     vocab_.size(), options_.unk_token, options_.continuing_subword_prefix);
}

std::string_view WordPiece::id_to_token(int32_t id) const {
  const auto it = id_to_token_.find(id);
  return it == id_to_token_.end() ? std::string_view() : std::string_view(it->second);
}

namespace {

// Number of code points in valid UTF-8: every byte that is not a continuation byte starts one.
size_t count_chars(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

bool is_continuation_byte(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

}  // namespace

void WordPiece::tokenize(std::string_view word, std::vector<int32_t>& ids) const {
  // Byte count bounds char count, so short words skip the count.
  if (word.size() > options_.max_input_chars_per_word &&
      count_chars(word) > options_.max_input_chars_per_word) {
    ids.push_back(unk_id_);
    return;
  }
  const size_t first = ids.size();
  size_t start = 0;
  while (start < word.size()) {
    const TokenTable& table = start == 0 ? vocab_ : continuation_;
    // Longest match first; a piece longer than every vocab token cannot match.
    size_t end = std::min(word.size(), start + max_token_bytes_);
    while (end < word.size() && is_continuation_byte(word[end])) --end;  // char boundary
    int32_t id = -1;
    while (end > start) {
      id = table.find(word.substr(start, end - start));
      if (id >= 0) break;
      do {
        --end;
      } while (end > start && is_continuation_byte(word[end]));
    }
    if (id < 0) {
      ids.resize(first);
      ids.push_back(unk_id_);
      return;
    }
    ids.push_back(id);
    start = end;
  }
}

}  // namespace embedtune
