// TokenizerSpec: everything a tokenizer is made of, read from tokenizer.json (with the
// transformers class of tokenizer_config.json) or from a BERT vocab.txt + tokenizer_config.json
// folder; Tokenizer builds itself from one.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/added_vocabulary.h"
#include "tokenizer/bert_normalizer.h"
#include "tokenizer/wordpiece.h"

namespace embedtune {

class Normalizer;
class PreTokenizer;
class Model;

// tokenizer.json "truncation" (kept for callers that want the file's default length).
struct TruncationSpec {
  size_t max_length = 0;
  std::string strategy = "LongestFirst";
  size_t stride = 0;
  std::string direction = "Right";
};

struct TokenizerSpec {
  std::string source;  // file or folder it came from, for error messages
  // The BERT pipeline (BertNormalizer or none, BertPreTokenizer or none, WordPiece) is described
  // by the fields below and runs on a fast path; any other pipeline sets `model` (and the other
  // components it has), and the BERT fields are unused.
  std::optional<BertNormalizerOptions> normalizer;  // nullopt: "normalizer": null
  bool bert_pre_tokenizer = true;  // false: "pre_tokenizer": null (the text is one word)
  std::vector<std::pair<std::string, int32_t>> vocab;
  WordPieceOptions wordpiece;
  std::vector<int32_t> prefix_ids;  // post-processor ids before the sequence ([CLS])
  std::vector<int32_t> suffix_ids;  // ... and after it ([SEP])
  std::vector<AddedToken> added_tokens;
  std::optional<TruncationSpec> truncation;
  std::optional<int32_t> pad_id;  // "padding": {"pad_id"}

  std::shared_ptr<const Normalizer> normalizer_component;  // null: none
  std::shared_ptr<const PreTokenizer> pre_tokenizer;       // null: none
  std::shared_ptr<const Model> model;                      // null: the BERT fast path
  std::string post_processor;  // as `info` shows it, e.g. "TemplateProcessing(<s> $A </s>)"
  // Where the pipeline follows transformers' tokenizer class instead of the file, one line each.
  std::vector<std::string> deviations;
};

// Reads a Hugging Face tokenizer.json (components as `tokenizers` 0.23 defines them; see
// README "Tokenizers" for the list). When `config_file` names a tokenizer_config.json whose
// tokenizer_class transformers 5.24 rebuilds (XLMRobertaTokenizer, RobertaTokenizer,
// Qwen2Tokenizer, MPNetTokenizer), the pipeline is rebuilt the same way, as sentence-transformers
// (through AutoTokenizer) would run it. Throws embedtune::Error naming the file and the key for a
// missing file, bad JSON, a missing key, a wrong type, or an unsupported component or option.
TokenizerSpec read_tokenizer_json(const std::filesystem::path& file,
                                  const std::filesystem::path& config_file = {});

// Builds the spec transformers' BertTokenizerFast builds from <dir>/vocab.txt (one token a line,
// id = line number) and <dir>/tokenizer_config.json (optional: do_lower_case, strip_accents,
// tokenize_chinese_chars, unk/sep/pad/cls/mask tokens, added_tokens_decoder). Throws
// embedtune::Error naming the file on a missing vocab.txt or a bad config.
TokenizerSpec read_bert_vocab_folder(const std::filesystem::path& dir);

}  // namespace embedtune
