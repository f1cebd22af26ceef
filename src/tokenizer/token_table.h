// TokenTable: an open-addressing hash map from token text to id, for WordPiece's hot lookups.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace embedtune {

// Insert-only map string -> int32 with string_view lookup and no per-entry allocation: the keys
// live in one arena, slots hold (hash, offset, length, id). Lookups are thread-safe.
class TokenTable {
 public:
  // Sets the id of `token`, replacing an earlier one (as a later duplicate in a vocab wins).
  void insert(std::string_view token, int32_t id);
  // The id of `token`, or -1.
  int32_t find(std::string_view token) const;
  size_t size() const { return size_; }

 private:
  struct Slot {
    uint64_t hash = 0;
    uint32_t offset = 0;
    uint32_t length = 0;
    int32_t id = -1;  // -1: empty
  };
  static uint64_t hash_of(std::string_view s);
  void grow();

  std::vector<Slot> slots_;
  std::string arena_;
  size_t size_ = 0;
};

}  // namespace embedtune
