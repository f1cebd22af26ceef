// Unigram: tokenizers' encode_optimized (the best path ending at each byte), then the ids.
#include "tokenizer/unigram.h"

#include <fmt/format.h>

#include <limits>

#include "io/error.h"
#include "tokenizer/unicode_classes.h"

namespace embedtune {
namespace {

constexpr double kUnkPenalty = 10.0;  // tokenizers' K_UNK_PENALTY

}  // namespace

Unigram::Unigram(std::vector<std::pair<std::string, double>> vocab, std::optional<int32_t> unk_id,
                 bool byte_fallback, std::string_view source)
    : vocab_(std::move(vocab)), byte_fallback_(byte_fallback), source_(source) {
  if (unk_id) {
    if (vocab_.empty()) {
      fail(
          "{}: the Unigram vocab is empty but unk_id is set; expected at least the unknown "
          "token. Re-save the tokenizer.",
          source_);
    }
    if (*unk_id < 0 || static_cast<size_t>(*unk_id) >= vocab_.size()) {
      fail(
          "{}: key 'model.unk_id' is {}, past the {} pieces of the vocab; expected an index "
          "into model.vocab. Fix the file.",
          source_, *unk_id, vocab_.size());
    }
    unk_id_ = *unk_id;
  }
  min_score_ = std::numeric_limits<double>::infinity();
  node_id_.push_back(-1);
  for (size_t id = 0; id < vocab_.size(); ++id) {
    const auto& [piece, score] = vocab_[id];
    token_to_id_.insert(piece, static_cast<int32_t>(id));  // a later duplicate wins, as AHashMap
    if (score < min_score_) min_score_ = score;
    uint32_t node = 0;
    for (unsigned char b : piece) {
      int32_t next = child(node, b);
      if (next < 0) {
        next = static_cast<int32_t>(node_id_.size());
        node_id_.push_back(-1);
        children_.insert(uint64_t{node} << 8 | b, static_cast<uint64_t>(next));
      }
      node = static_cast<uint32_t>(next);
    }
    if (!piece.empty()) node_id_[node] = 0;  // marked; the id is fixed below
  }
  // The trie yields the piece's bytes and tokenizers looks its id up in token_to_ids: so a
  // duplicated piece answers with its last id.
  for (const auto& [piece, score] : vocab_) {
    if (piece.empty()) continue;
    uint32_t node = 0;
    for (unsigned char b : piece) node = static_cast<uint32_t>(child(node, b));
    node_id_[node] = token_to_id_.find(piece);
  }
}

std::string_view Unigram::id_to_token(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= vocab_.size()) return {};
  return vocab_[id].first;
}

std::string Unigram::describe() const {
  return fmt::format("Unigram({} pieces, unk_id={}, byte_fallback={})", vocab_.size(),
                     unk_id_ < 0 ? std::string("none") : std::to_string(unk_id_), byte_fallback_);
}

void Unigram::append_unknown(std::string_view text, std::vector<int32_t>& ids) const {
  const int32_t id = token_to_id_.find(text);
  if (id >= 0) {
    ids.push_back(id);
    return;
  }
  if (byte_fallback_) {
    const size_t mark = ids.size();
    bool all = true;
    for (unsigned char b : text) {
      const int32_t byte_id = token_to_id_.find(fmt::format("<0x{:02X}>", b));
      if (byte_id < 0) {
        all = false;
        break;
      }
      ids.push_back(byte_id);
    }
    if (all) return;
    ids.resize(mark);
  }
  if (unk_id_ < 0) {
    fail(
        "{}: the text has a char the Unigram vocab lacks, and the model has no unk_id; "
        "expected an unknown token. Set model.unk_id in the tokenizer.",
        source_);
  }
  ids.push_back(unk_id_);
}

void Unigram::tokenize(std::string_view sentence, std::vector<int32_t>& ids) const {
  if (sentence.empty()) return;
  struct Node {
    int32_t id = 0;
    double score = 0;
    int64_t starts_at = -1;
  };
  thread_local std::vector<Node> best;
  const size_t size = sentence.size();
  best.assign(size + 1, Node{});
  const double unk_score = min_score_ - kUnkPenalty;
  for (size_t start = 0; start < size;) {
    const double here = best[start].score;
    const size_t mblen = unicode::utf8_length(static_cast<unsigned char>(sentence[start]));
    bool has_single_node = false;
    uint32_t node = 0;
    for (size_t pos = start; pos < size; ++pos) {
      const int32_t next = child(node, static_cast<unsigned char>(sentence[pos]));
      if (next < 0) break;
      node = static_cast<uint32_t>(next);
      const int32_t id = node_id_[node];
      if (id < 0) continue;
      const size_t end = pos + 1;
      const double candidate = vocab_[id].second + here;
      Node& target = best[end];
      if (target.starts_at < 0 || candidate > target.score) {
        target = {id, candidate, static_cast<int64_t>(start)};
      }
      if (end - start == mblen) has_single_node = true;
    }
    if (!has_single_node) {
      Node& target = best[start + mblen];
      const double candidate = unk_score + here;
      if (target.starts_at < 0 || candidate > target.score) {
        if (unk_id_ < 0) {
          fail(
              "{}: the text has a char the Unigram vocab lacks, and the model has no unk_id; "
              "expected an unknown token. Set model.unk_id in the tokenizer.",
              source_);
        }
        target = {unk_id_, candidate, static_cast<int64_t>(start)};
      }
    }
    start += mblen;
  }
  // Walk back; consecutive unknown nodes fuse into one string (fuse_unk is always on).
  thread_local std::vector<std::pair<size_t, size_t>> path;  // (start, end), last first
  thread_local std::vector<int32_t> path_ids;
  path.clear();
  path_ids.clear();
  for (size_t end = size; end > 0;) {
    const Node& n = best[end];
    const auto start = static_cast<size_t>(n.starts_at);
    if (n.id == unk_id_ && !path.empty() && path_ids.back() == unk_id_) {
      path.back().first = start;  // extend the fused unknown to the left
    } else {
      path.emplace_back(start, end);
      path_ids.push_back(n.id);
    }
    end = start;
  }
  for (size_t k = path.size(); k-- > 0;) {
    if (path_ids[k] == unk_id_) {
      append_unknown(sentence.substr(path[k].first, path[k].second - path[k].first), ids);
    } else {
      ids.push_back(path_ids[k]);
    }
  }
}

}  // namespace embedtune
