// FlatMap64: an insert-only open-addressing map from a 64-bit key to a 64-bit value, for the hot
// lookups of the Unigram trie and the BPE merges.
#pragma once

#include <cstdint>
#include <vector>

namespace embedtune {

class FlatMap64 {
 public:
  // Sets the value of `key` (replacing an earlier one). `key` must not be kEmpty.
  void insert(uint64_t key, uint64_t value) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    size_t k = mix(key) & (slots_.size() - 1);
    while (slots_[k].key != kEmpty && slots_[k].key != key) k = (k + 1) & (slots_.size() - 1);
    if (slots_[k].key == kEmpty) ++size_;
    slots_[k] = {key, value};
  }
  // The value of `key`, or nullptr.
  const uint64_t* find(uint64_t key) const {
    if (slots_.empty()) return nullptr;
    for (size_t k = mix(key) & (slots_.size() - 1);; k = (k + 1) & (slots_.size() - 1)) {
      if (slots_[k].key == key) return &slots_[k].value;
      if (slots_[k].key == kEmpty) return nullptr;
    }
  }
  size_t size() const { return size_; }
  static constexpr uint64_t kEmpty = ~uint64_t{0};

 private:
  struct Slot {
    uint64_t key = kEmpty;
    uint64_t value = 0;
  };
  static uint64_t mix(uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
  }
  void grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(old.empty() ? 64 : old.size() * 2, Slot{});
    size_ = 0;
    for (const Slot& s : old) {
      if (s.key != kEmpty) insert(s.key, s.value);
    }
  }
  std::vector<Slot> slots_;
  size_t size_ = 0;
};

}  // namespace embedtune
