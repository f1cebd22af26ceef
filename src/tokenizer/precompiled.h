// Precompiled: the SentencePiece normaliser compiled into a model (`precompiled_charsmap`), read
// and applied as tokenizers' normalizers/precompiled.rs and the spm_precompiled crate do.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace embedtune {

class Precompiled {
 public:
  // `charsmap`: the decoded bytes: u32 little-endian trie size in bytes, the trie (darts-clone
  // double-array units), then the replacement strings, each NUL-terminated. Throws
  // embedtune::Error naming `where` when the blob is truncated or inconsistent.
  Precompiled(std::string charsmap, std::string_view where);

  // Appends the normalised form of `text` (valid UTF-8) to `out`: per extended grapheme cluster
  // shorter than 6 bytes, the replacement of its first trie match if any; otherwise per char.
  // Thread-safe.
  void normalize(std::string_view text, std::string& out) const;

 private:
  // The replacement for the shortest trie key that is a prefix of `chunk`, or false.
  bool transform(std::string_view chunk, std::string_view& replacement) const;

  std::vector<uint32_t> trie_;
  std::string normalized_;
  // Per ASCII byte: its replacement (ascii_[b]), when ascii_mapped_[b]; a run of ASCII text needs
  // neither graphemes nor trie walks.
  std::string ascii_[128];
  bool ascii_mapped_[128] = {};
};

}  // namespace embedtune
