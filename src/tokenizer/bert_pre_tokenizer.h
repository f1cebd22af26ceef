// BertPreTokenizer: split normalised text into words on whitespace (removed) and around every
// punctuation char (kept as a word of its own), as tokenizers' pre_tokenizers/bert.rs.
#pragma once

#include <string_view>
#include <vector>

namespace embedtune {

// Appends the words of `text` (valid UTF-8) to `words`, as views into `text`, in order; never
// appends an empty word. Whitespace is Rust's char::is_whitespace; punctuation is ASCII 33-47,
// 58-64, 91-96, 123-126 or Unicode P* (in the tables tokenizers uses). Thread-safe.
void bert_pre_tokenize(std::string_view text, std::vector<std::string_view>& words);

}  // namespace embedtune
