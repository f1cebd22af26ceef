// Tokenizer: loading, and encode() as tokenizers' encode_single_sequence + post_process.
#include "tokenizer/tokenizer.h"

#include <fmt/format.h>

#include <algorithm>

#include "io/error.h"
#include "io/utf8.h"
#include "tokenizer/bert_pre_tokenizer.h"
#include "tokenizer/normalizers.h"
#include "tokenizer/pre_tokenizers.h"
#include "tokenizer/unicode_classes.h"

namespace embedtune {
namespace {

int32_t find_special(const TokenizerSpec& spec, const Model& model, std::string_view content) {
  for (const AddedToken& t : spec.added_tokens) {
    if (t.content == content) return t.id;
  }
  return model.token_to_id(content);
}

// Per-thread scratch buffers, so encode() allocates little besides its result.
struct Scratch {
  std::string normalized;
  std::vector<std::string_view> words;
  std::vector<TextSegment> raw_segments;
  std::vector<TextSegment> normalized_segments;
  std::vector<PreToken> pieces;
};

Scratch& scratch() {
  thread_local Scratch s;
  return s;
}

}  // namespace

Tokenizer Tokenizer::from_folder(const std::filesystem::path& dir) {
  const auto json_file = dir / "tokenizer.json";
  if (std::filesystem::exists(json_file)) {
    return Tokenizer(read_tokenizer_json(json_file, dir / "tokenizer_config.json"));
  }
  if (std::filesystem::exists(dir / "vocab.txt")) return Tokenizer(read_bert_vocab_folder(dir));
  fail(
      "{}: no tokenizer found; looked for tokenizer.json, or vocab.txt (with an optional "
      "tokenizer_config.json). Point to a Hugging Face model folder.",
      dir.string());
}

Tokenizer Tokenizer::from_tokenizer_json(const std::filesystem::path& file) {
  return Tokenizer(read_tokenizer_json(file));
}

Tokenizer::Tokenizer(const TokenizerSpec& spec)
    : source_(spec.source),
      bert_pre_tokenizer_(spec.bert_pre_tokenizer),
      generic_normalizer_(spec.normalizer_component),
      pre_tokenizer_(spec.pre_tokenizer),
      generic_model_(spec.model),
      added_tokens_(spec.added_tokens),
      prefix_ids_(spec.prefix_ids),
      suffix_ids_(spec.suffix_ids),
      truncation_(spec.truncation),
      post_processor_(spec.post_processor),
      deviations_(spec.deviations) {
  if (generic_model_) {
    model_ = generic_model_.get();
  } else {
    wordpiece_ = std::make_shared<const WordPiece>(spec.vocab, spec.wordpiece, spec.source);
    model_ = wordpiece_.get();
    if (spec.normalizer) normalizer_.emplace(*spec.normalizer);
  }
  auto normalize = [&](const std::string& text) {
    if (normalizer_) return normalizer_->normalize(text);
    std::string out;
    if (generic_normalizer_) {
      generic_normalizer_->normalize(text, out);
    } else {
      out = text;
    }
    return out;
  };
  // As tokenizers' refresh_added_tokens: two matchers; normalized tokens are looked for in their
  // normalised form.
  std::vector<AddedToken> raw, normalized;
  std::vector<std::string> raw_patterns, normalized_patterns;
  for (const AddedToken& t : added_tokens_) {
    if (t.normalized) {
      normalized.push_back(t);
      normalized_patterns.push_back(normalize(t.content));
    } else {
      raw.push_back(t);
      raw_patterns.push_back(t.content);
    }
  }
  raw_matcher_ = AddedTokenMatcher(std::move(raw), std::move(raw_patterns));
  normalized_matcher_ = AddedTokenMatcher(std::move(normalized), std::move(normalized_patterns));

  cls_id_ = find_special(spec, *model_, "[CLS]");
  sep_id_ = find_special(spec, *model_, "[SEP]");
  if (!prefix_ids_.empty()) cls_id_ = prefix_ids_.front();
  if (!suffix_ids_.empty()) sep_id_ = suffix_ids_.back();
  if (spec.pad_id) {
    pad_id_ = *spec.pad_id;
  } else {
    // The pad token's id, by its usual names ([PAD] for BERT, <pad> for RoBERTa / XLM-R).
    pad_id_ = 0;
    for (const char* name : {"[PAD]", "<pad>"}) {
      if (const int32_t id = find_special(spec, *model_, name); id >= 0) {
        pad_id_ = id;
        break;
      }
    }
  }

  int32_t max_id = model_->max_id();
  for (const AddedToken& t : added_tokens_) max_id = std::max(max_id, t.id);
  // In size_t: max_id may be INT32_MAX.
  vocab_size_ = max_id < 0 ? 0 : static_cast<size_t>(max_id) + 1;
}

bool Tokenizer::is_special(int32_t id) const {
  for (const auto& token : added_tokens_) {
    if (token.id == id && token.special) return true;
  }
  return std::find(prefix_ids_.begin(), prefix_ids_.end(), id) != prefix_ids_.end() ||
         std::find(suffix_ids_.begin(), suffix_ids_.end(), id) != suffix_ids_.end();
}

std::string_view Tokenizer::id_to_token(int32_t id) const {
  for (const AddedToken& t : added_tokens_) {
    if (t.id == id) return t.content;
  }
  return model_->id_to_token(id);
}

std::vector<std::string> Tokenizer::describe() const {
  std::vector<std::string> lines;
  if (wordpiece_) {
    lines.push_back(
        "normalizer: " +
        (normalizer_ ? fmt::format("BertNormalizer(lowercase={}, strip_accents={})",
                                   normalizer_->options().lowercase, normalizer_->strips_accents())
                     : std::string("none")));
    lines.push_back(std::string("pre_tokenizer: ") +
                    (bert_pre_tokenizer_ ? "BertPreTokenizer" : "none"));
  } else {
    lines.push_back("normalizer: " +
                    (generic_normalizer_ ? generic_normalizer_->describe() : "none"));
    lines.push_back("pre_tokenizer: " + (pre_tokenizer_ ? pre_tokenizer_->describe() : "none"));
  }
  lines.push_back("model: " + model_->describe());
  lines.push_back("post_processor: " + (post_processor_.empty() ? "none" : post_processor_));
  lines.push_back(fmt::format("added tokens: {}", added_tokens_.size()));
  for (const std::string& d : deviations_) lines.push_back("follows " + d);
  return lines;
}

void Tokenizer::encode_segment(std::string_view text, bool at_start,
                               std::vector<int32_t>& ids) const {
  Scratch& s = scratch();
  s.normalized.clear();
  std::string_view normalized = text;
  if (normalizer_) {
    normalizer_->normalize(text, s.normalized);
    normalized = s.normalized;
  } else if (generic_normalizer_) {
    generic_normalizer_->normalize(text, s.normalized);
    normalized = s.normalized;
  }
  s.normalized_segments.clear();
  if (normalized_matcher_.empty()) {
    s.normalized_segments.push_back({normalized, -1});
  } else {
    normalized_matcher_.split(normalized, s.normalized_segments);
  }
  for (const TextSegment& piece : s.normalized_segments) {
    if (piece.id >= 0) {
      ids.push_back(piece.id);
      continue;
    }
    if (wordpiece_) {  // the BERT fast path: words are views, no copies
      s.words.clear();
      if (bert_pre_tokenizer_) {
        bert_pre_tokenize(piece.text, s.words);
      } else if (!piece.text.empty()) {
        s.words.push_back(piece.text);
      }
      for (std::string_view word : s.words) wordpiece_->tokenize(word, ids);
      continue;
    }
    if (piece.text.empty()) continue;
    // at_start (Metaspace prepend_scheme "first"): the piece begins the input. tokenizers asks
    // the original offset of the piece's first char, so it differs when a normalizer removed the
    // input's first chars (Strip, Replace): there it says "not at the start", here "at the start".
    s.pieces.clear();
    s.pieces.push_back(
        {std::string(piece.text), at_start && piece.text.data() == normalized.data()});
    if (pre_tokenizer_) pre_tokenizer_->pre_tokenize(s.pieces);
    for (const PreToken& p : s.pieces) model_->tokenize(p.text, ids);
  }
}

std::vector<int32_t> Tokenizer::encode(std::string_view utf8, size_t max_length,
                                       bool add_special_tokens) const {
  if (const std::optional<size_t> found = io::find_invalid_utf8(utf8)) {
    const size_t bad = *found;
    fail(
        "text is not valid UTF-8: byte 0x{:02X} at byte offset {} does not start a well-formed "
        "sequence (text length {} bytes). Decode the input as UTF-8 before tokenizing.",
        static_cast<unsigned char>(utf8[bad]), bad, utf8.size());
  }
  std::vector<int32_t> ids;
  ids.reserve(utf8.size() / 3 + prefix_ids_.size() + suffix_ids_.size() + 4);
  if (add_special_tokens) ids.insert(ids.end(), prefix_ids_.begin(), prefix_ids_.end());
  const size_t body_start = ids.size();

  if (raw_matcher_.empty()) {
    encode_segment(utf8, true, ids);
  } else {
    // encode_segment uses the other scratch buffers, never this one.
    std::vector<TextSegment>& segments = scratch().raw_segments;
    segments.clear();
    raw_matcher_.split(utf8, segments);
    for (const TextSegment& segment : segments) {
      if (segment.id >= 0) {
        ids.push_back(segment.id);
      } else {
        encode_segment(segment.text, segment.text.data() == utf8.data(), ids);
      }
    }
  }

  // tokenizers truncates the sequence to max_length minus the special tokens; with fewer than
  // that (max_length - n underflows usize) it does not truncate at all.
  if (max_length > 0) {
    const size_t n_special = add_special_tokens ? prefix_ids_.size() + suffix_ids_.size() : 0;
    if (max_length >= n_special) {
      const size_t keep = max_length - n_special;
      if (ids.size() - body_start > keep) ids.resize(body_start + keep);
    }
  }
  if (add_special_tokens) ids.insert(ids.end(), suffix_ids_.begin(), suffix_ids_.end());
  return ids;
}

}  // namespace embedtune
