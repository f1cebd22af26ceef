// AddedVocabulary: the tokens of tokenizer.json's "added_tokens" ([CLS], [SEP], ...) found in the
// text and mapped straight to their ids, as tokenizers' tokenizer/added_vocabulary.rs.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace embedtune {

// Field names and defaults as tokenizers' AddedToken.
struct AddedToken {
  std::string content;
  int32_t id = -1;
  bool special = false;
  bool single_word = false;  // match only when not inside a word (alphanumeric or '_')
  bool lstrip = false;       // the match swallows whitespace on its left
  bool rstrip = false;       // ... and on its right
  bool normalized = true;    // match in the normalised text instead of the raw input
};

// A piece of text: an added token (id >= 0) or text still to tokenise (id == -1).
struct TextSegment {
  std::string_view text;
  int32_t id = -1;
};

// One set of patterns (all normalized=false tokens, or all normalized=true ones), matched
// leftmost-longest like the aho-corasick automaton tokenizers builds.
class AddedTokenMatcher {
 public:
  AddedTokenMatcher() = default;
  // `patterns[i]` is what to look for (the content, or for normalized tokens its normalised form).
  AddedTokenMatcher(std::vector<AddedToken> tokens, std::vector<std::string> patterns);

  // Splits `text` into segments covering it in order; empty when `text` is empty. Thread-safe.
  void split(std::string_view text, std::vector<TextSegment>& out) const;
  bool empty() const { return tokens_.empty(); }

 private:
  std::vector<AddedToken> tokens_;
  std::vector<std::string> patterns_;
  bool first_byte_[256] = {};
};

}  // namespace embedtune
