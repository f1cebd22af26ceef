// The body shared by the tokenizer fuzz targets: build a Tokenizer from what a reader returned and
// encode fixed texts, and text made of the spec's own tokens, with and without truncation.
#pragma once

#include <string>
#include <vector>

#include "fuzz_support.h"
#include "tokenizer/tokenizer.h"

namespace embedtune::fuzz {

inline void tokenize_with(const TokenizerSpec& spec) {
  const Tokenizer tokenizer(spec);
  std::vector<std::string> texts = {
      "Hello, world! How are you?",
      "",
      " \t\n\r ",
      "Caf\u00e9 na\u00efve r\u00e9sum\u00e9 \u00c5NGSTR\u00d6M \u0130stanbul a\u0301\u0327",
      "\u4e2d\u6587\u5b57\u7b26\u548c\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8",
      "emoji \U0001F600\U0001F389 and \u2122 symbols \u200b\x01\x7f",
      "digits 1234567890 3.14 -42",
      std::string(150, 'a') + " pneumonoultramicroscopicsilicovolcanoconiosis",
      "[CLS] [SEP] [PAD] [MASK] [UNK] hello[MASK]world",
  };
  // The spec's own added tokens and vocab, so that the matcher and WordPiece see what the input
  // controls: separated by spaces, then run together.
  std::string spaced, joined;
  for (size_t i = 0; i < spec.added_tokens.size() && i < 16; ++i) {
    spaced += spec.added_tokens[i].content + " x ";
    joined += spec.added_tokens[i].content;
  }
  for (size_t i = 0; i < spec.vocab.size() && i < 16; ++i) {
    spaced += spec.vocab[i].first + " ";
    joined += spec.vocab[i].first;
  }
  texts.push_back(spaced);
  texts.push_back(joined);

  const size_t n_special = tokenizer.encode("").size();
  for (const std::string& text : texts) {
    for (const size_t max_length : {size_t{0}, size_t{1}, size_t{8}}) {
      const auto ids = tokenizer.encode(text, max_length);
      require(max_length == 0 || max_length < n_special || ids.size() <= max_length,
              "encode() truncates to max_length");
      for (int32_t id : ids) require(id >= 0, "ids are >= 0");
    }
    (void)tokenizer.encode(text, 5, /*add_special_tokens=*/false);
  }
  for (int32_t id = 0; id < 8; ++id) (void)tokenizer.id_to_token(id);
}

}  // namespace embedtune::fuzz
