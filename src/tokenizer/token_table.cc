// TokenTable: linear probing over a power-of-two slot array, kept at most half full.
#include "tokenizer/token_table.h"

#include <cstring>

namespace embedtune {

// 64-bit FNV-1a over 8-byte words then a finaliser: short tokens hash in a few cycles.
uint64_t TokenTable::hash_of(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ull ^ s.size();
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = (h ^ w) * 0x100000001b3ull;
    h ^= h >> 29;
  }
  uint64_t tail = 0;
  if (s.size() > i) std::memcpy(&tail, s.data() + i, s.size() - i);
  h = (h ^ tail) * 0x9E3779B97F4A7C15ull;
  h ^= h >> 32;
  h *= 0xD6E8FEB86659FD93ull;
  h ^= h >> 32;
  return h;
}

void TokenTable::grow() {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(old.empty() ? 64 : old.size() * 2, Slot{});
  const size_t mask = slots_.size() - 1;
  for (const Slot& s : old) {
    if (s.id < 0) continue;
    size_t k = s.hash & mask;
    while (slots_[k].id >= 0) k = (k + 1) & mask;
    slots_[k] = s;
  }
}

void TokenTable::insert(std::string_view token, int32_t id) {
  if ((size_ + 1) * 2 > slots_.size()) grow();
  const uint64_t h = hash_of(token);
  const size_t mask = slots_.size() - 1;
  size_t k = h & mask;
  while (slots_[k].id >= 0) {
    const Slot& s = slots_[k];
    if (s.hash == h && std::string_view(arena_).substr(s.offset, s.length) == token) {
      slots_[k].id = id;
      return;
    }
    k = (k + 1) & mask;
  }
  slots_[k] =
      Slot{h, static_cast<uint32_t>(arena_.size()), static_cast<uint32_t>(token.size()), id};
  arena_.append(token);
  ++size_;
}

int32_t TokenTable::find(std::string_view token) const {
  if (slots_.empty()) return -1;
  const uint64_t h = hash_of(token);
  const size_t mask = slots_.size() - 1;
  for (size_t k = h & mask;; k = (k + 1) & mask) {
    const Slot& s = slots_[k];
    if (s.id < 0) return -1;
    if (s.hash == h && s.length == token.size() &&
        std::memcmp(arena_.data() + s.offset, token.data(), token.size()) == 0) {
      return s.id;
    }
  }
}

}  // namespace embedtune
