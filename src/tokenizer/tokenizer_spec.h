// TokenizerSpec: everything a BERT tokenizer is made of, read from tokenizer.json or from a
// vocab.txt + tokenizer_config.json folder; Tokenizer builds itself from one.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/added_vocabulary.h"
#include "tokenizer/bert_normalizer.h"
#include "tokenizer/wordpiece.h"

namespace embedtune {

// tokenizer.json "truncation" (kept for callers that want the file's default length).
struct TruncationSpec {
  size_t max_length = 0;
  std::string strategy = "LongestFirst";
  size_t stride = 0;
  std::string direction = "Right";
};

struct TokenizerSpec {
  std::string source;  // file or folder it came from, for error messages
  std::optional<BertNormalizerOptions> normalizer;  // nullopt: "normalizer": null
  bool bert_pre_tokenizer = true;  // false: "pre_tokenizer": null (the text is one word)
  std::vector<std::pair<std::string, int32_t>> vocab;
  WordPieceOptions wordpiece;
  std::vector<int32_t> prefix_ids;  // post-processor ids before the sequence ([CLS])
  std::vector<int32_t> suffix_ids;  // ... and after it ([SEP])
  std::vector<AddedToken> added_tokens;
  std::optional<TruncationSpec> truncation;
  std::optional<int32_t> pad_id;  // "padding": {"pad_id"}
};

// Reads a Hugging Face tokenizer.json with a BertNormalizer (or none), BertPreTokenizer (or none),
// WordPiece model and TemplateProcessing / BertProcessing (or no) post-processor. Throws
// embedtune::Error naming the file and the key for a missing file, bad JSON, a missing key, a
// wrong type, or an unsupported component type.
TokenizerSpec read_tokenizer_json(const std::filesystem::path& file);

// Builds the spec transformers' BertTokenizerFast builds from <dir>/vocab.txt (one token a line,
// id = line number) and <dir>/tokenizer_config.json (optional: do_lower_case, strip_accents,
// tokenize_chinese_chars, unk/sep/pad/cls/mask tokens, added_tokens_decoder). Throws
// embedtune::Error naming the file on a missing vocab.txt or a bad config.
TokenizerSpec read_bert_vocab_folder(const std::filesystem::path& dir);

}  // namespace embedtune
