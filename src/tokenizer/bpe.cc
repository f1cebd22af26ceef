// BPE: merge_word + Word::merge_all of tokenizers' models/bpe, over a flat symbol list.
#include "tokenizer/bpe.h"

#include <fmt/format.h>

#include <atomic>
#include <queue>

#include "io/error.h"
#include "tokenizer/unicode_classes.h"

namespace embedtune {
namespace {

uint64_t pair_key(int32_t a, int32_t b) {
  return uint64_t{static_cast<uint32_t>(a)} << 32 | static_cast<uint32_t>(b);
}

// Words longer than this are not cached (tokenizers' MAX_LENGTH); the cache is capped per thread.
constexpr size_t kMaxCachedWordBytes = 256;
constexpr size_t kCacheCapacity = 10000;

}  // namespace

Bpe::Bpe(const std::vector<std::pair<std::string, int32_t>>& vocab,
         const std::vector<std::pair<std::string, std::string>>& merges, BpeOptions options,
         std::string_view source)
    : options_(std::move(options)), source_(source) {
  static std::atomic<uint64_t> next_serial{0};
  serial_ = next_serial++;
  for (const auto& [token, id] : vocab) {
    vocab_.insert(token, id);
    id_to_token_[id] = token;
    max_id_ = std::max(max_id_, id);
  }
  const size_t prefix_len =
      options_.continuing_subword_prefix ? options_.continuing_subword_prefix->size() : 0;
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [a, b] = merges[rank];
    const int32_t a_id = vocab_.find(a);
    const int32_t b_id = vocab_.find(b);
    const std::string merged = a + (b.size() >= prefix_len ? b.substr(prefix_len) : b);
    const int32_t new_id = vocab_.find(merged);
    if (a_id < 0 || b_id < 0 || new_id < 0) {
      fail(
          "{}: key 'model.merges[{}]' is ({:?}, {:?}); expected both tokens and their merge "
          "{:?} in model.vocab. Re-save the tokenizer.",
          source_, rank, a, b, merged);
    }
    merges_.insert(pair_key(a_id, b_id), uint64_t{rank} << 32 | static_cast<uint32_t>(new_id));
  }
}

std::string_view Bpe::id_to_token(int32_t id) const {
  const auto it = id_to_token_.find(id);
  return it == id_to_token_.end() ? std::string_view() : std::string_view(it->second);
}

int32_t Bpe::unk_id() const { return options_.unk_token ? vocab_.find(*options_.unk_token) : -1; }

std::string Bpe::describe() const {
  return fmt::format(
      "BPE({} tokens, {} merges, unk_token={}, continuing_subword_prefix={:?}, "
      "end_of_word_suffix={:?}, fuse_unk={}, byte_fallback={}, ignore_merges={})",
      vocab_.size(), merges_.size(), options_.unk_token ? *options_.unk_token : "none",
      options_.continuing_subword_prefix.value_or(""), options_.end_of_word_suffix.value_or(""),
      options_.fuse_unk, options_.byte_fallback, options_.ignore_merges);
}

void Bpe::merge_word(std::string_view word, std::vector<int32_t>& ids) const {
  struct Symbol {
    int32_t id;
    int32_t prev, next;
    bool gone;
  };
  thread_local std::vector<Symbol> symbols;
  symbols.clear();
  auto add = [&](int32_t id) {
    const auto n = static_cast<int32_t>(symbols.size());
    symbols.push_back({id, n - 1, n + 1, false});
  };
  int32_t unk = -1;  // a pending unknown token (its id), or -1
  std::string s;
  for (size_t i = 0; i < word.size();) {
    const size_t len = unicode::utf8_length(static_cast<unsigned char>(word[i]));
    const bool is_first = i == 0;
    const bool is_last = i + len >= word.size();
    s.clear();
    if (!is_first && options_.continuing_subword_prefix) s += *options_.continuing_subword_prefix;
    s.append(word.substr(i, len));
    if (is_last && options_.end_of_word_suffix) s += *options_.end_of_word_suffix;
    i += len;
    if (const int32_t id = vocab_.find(s); id >= 0) {
      if (unk >= 0) add(unk);
      unk = -1;
      add(id);
      continue;
    }
    if (options_.byte_fallback) {
      std::vector<int32_t> bytes;
      for (unsigned char b : s) {
        const int32_t id = vocab_.find(fmt::format("<0x{:02X}>", b));
        if (id < 0) break;
        bytes.push_back(id);
      }
      if (bytes.size() == s.size()) {
        // As tokenizers: a pending unknown token stays pending across byte-fallback chars.
        for (int32_t id : bytes) add(id);
        continue;
      }
    }
    if (options_.unk_token) {
      const int32_t unk_id = vocab_.find(*options_.unk_token);
      if (unk_id < 0) {
        fail(
            "{}: key 'model.unk_token' is {:?}, which is not in model.vocab; expected a token "
            "of the vocab. Fix the file.",
            source_, *options_.unk_token);
      }
      if (unk >= 0 && !options_.fuse_unk) add(unk);
      if (unk < 0 || !options_.fuse_unk) unk = unk_id;
    }
  }
  if (unk >= 0) add(unk);
  if (symbols.empty()) return;
  symbols.back().next = -1;

  struct Merge {
    uint32_t rank;
    int32_t pos;
    int32_t new_id;
    bool operator>(const Merge& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  thread_local std::vector<Merge> heap_storage;
  heap_storage.clear();
  std::priority_queue<Merge, std::vector<Merge>, std::greater<Merge>> queue(
      std::greater<Merge>(), std::move(heap_storage));
  auto push_pair = [&](int32_t pos) {
    const int32_t next = symbols[pos].next;
    if (next < 0) return;
    if (const uint64_t* m = merges_.find(pair_key(symbols[pos].id, symbols[next].id))) {
      queue.push({static_cast<uint32_t>(*m >> 32), pos, static_cast<int32_t>(*m & 0xFFFFFFFF)});
    }
  };
  for (int32_t pos = 0; pos + 1 < static_cast<int32_t>(symbols.size()); ++pos) push_pair(pos);
  while (!queue.empty()) {
    const Merge top = queue.top();
    queue.pop();
    Symbol& left = symbols[top.pos];
    if (left.gone || left.next < 0) continue;
    const Symbol right = symbols[left.next];
    const uint64_t* m = merges_.find(pair_key(left.id, right.id));
    if (!m || static_cast<int32_t>(*m & 0xFFFFFFFF) != top.new_id) continue;  // stale entry
    symbols[left.next].gone = true;
    left.id = top.new_id;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = top.pos;
    if (left.prev >= 0) push_pair(left.prev);
    push_pair(top.pos);
  }
  for (const Symbol& sym : symbols) {
    if (!sym.gone) ids.push_back(sym.id);
  }
}

void Bpe::tokenize(std::string_view word, std::vector<int32_t>& ids) const {
  if (word.empty()) return;
  if (options_.ignore_merges) {
    if (const int32_t id = vocab_.find(word); id >= 0) {
      ids.push_back(id);
      return;
    }
  }
  if (word.size() > kMaxCachedWordBytes) {
    merge_word(word, ids);
    return;
  }
  // Cached per thread and per model, as tokenizers' BPE_LOCAL_CACHE: word -> index k, whose ids
  // are ids[start[k], start[k + 1]).
  struct WordCache {
    TokenTable words;
    std::vector<uint32_t> start{0};
    std::vector<int32_t> ids;
  };
  thread_local std::unordered_map<uint64_t, WordCache> caches;
  thread_local uint64_t last_serial = ~uint64_t{0};
  thread_local WordCache* last = nullptr;
  if (last_serial != serial_) {
    last = &caches[serial_];
    last_serial = serial_;
  }
  WordCache& cache = *last;
  if (const int32_t k = cache.words.find(word); k >= 0) {
    ids.insert(ids.end(), cache.ids.begin() + cache.start[k],
               cache.ids.begin() + cache.start[k + 1]);
    return;
  }
  const size_t mark = ids.size();
  merge_word(word, ids);
  if (cache.words.size() < kCacheCapacity) {
    cache.words.insert(word, static_cast<int32_t>(cache.start.size() - 1));
    cache.ids.insert(cache.ids.end(), ids.begin() + mark, ids.end());
    cache.start.push_back(static_cast<uint32_t>(cache.ids.size()));
  }
}

}  // namespace embedtune
