// read_tokenizer_json: a Hugging Face tokenizer.json into a TokenizerSpec: the BERT fast path's
// fields, or the components of any other pipeline (chosen by their "type", as `tokenizers`).
#include <fmt/format.h>

#include "tokenizer/bpe.h"
#include "tokenizer/normalizers.h"
#include "tokenizer/pre_tokenizers.h"
#include "tokenizer/tokenizer_json_reader.h"
#include "tokenizer/transformers_classes.h"
#include "tokenizer/unigram.h"

namespace embedtune {
namespace tokenizer_json {

void unsupported(const Node& node, const std::string& found, const char* expected) {
  fail(
      "{}: key {:?} is {:?}; embedtune supports {}. Use a tokenizer made of supported components "
      "(README, Tokenizers) or ask for this one to be added.",
      node.file(), node.path(), found, expected);
}

std::string decode_base64(const Node& n) {
  const std::string text = n.as_string();
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    if (c == '=') break;
    const int v = value(c);
    if (v < 0) n.wrong("base64 text");
    buffer = (buffer << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  return out;
}

namespace {

constexpr const char* kNormalizers =
    "BertNormalizer, NFC, NFD, NFKC, NFKD, Lowercase, StripAccents, Strip, Replace, Prepend, "
    "Precompiled or Sequence";
constexpr const char* kPreTokenizers =
    "BertPreTokenizer, Whitespace, WhitespaceSplit, Metaspace, ByteLevel, Split, Digits, "
    "Punctuation or Sequence";

BertNormalizerOptions bert_normalizer_options(const Node& n) {
  BertNormalizerOptions options;
  if (n.has("clean_text")) options.clean_text = n.at("clean_text").as_bool();
  if (n.has("handle_chinese_chars"))
    options.handle_chinese_chars = n.at("handle_chinese_chars").as_bool();
  if (n.value().contains("strip_accents"))
    options.strip_accents = n.at("strip_accents").as_optional_bool();
  if (n.has("lowercase")) options.lowercase = n.at("lowercase").as_bool();
  return options;
}

// A Replace / Split "pattern": {"String": "..."} or {"Regex": "..."}.
std::pair<std::string, bool> read_pattern(const Node& p) {
  if (p.has("String")) return {p.at("String").as_string(), false};
  if (p.has("Regex")) return {p.at("Regex").as_string(), true};
  p.wrong("{\"String\": ...} or {\"Regex\": ...}");
}

SplitBehavior read_behavior(const Node& b) {
  const std::string name = b.as_string();
  if (name == "Removed") return SplitBehavior::kRemoved;
  if (name == "Isolated") return SplitBehavior::kIsolated;
  if (name == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (name == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (name == "Contiguous") return SplitBehavior::kContiguous;
  unsupported(b, name, "Removed, Isolated, MergedWithPrevious, MergedWithNext or Contiguous");
}

std::string where(const Node& n) { return fmt::format("{}: key {:?}", n.file(), n.path()); }

}  // namespace

std::unique_ptr<Normalizer> read_normalizer_component(const Node& n) {
  const std::string type = n.at("type").as_string();
  if (type == "BertNormalizer") return make_bert_normalizer(bert_normalizer_options(n));
  if (type == "NFC" || type == "NFD" || type == "NFKC" || type == "NFKD") {
    return make_unicode_normalizer(type);
  }
  if (type == "Lowercase") return make_lowercase();
  if (type == "StripAccents") return make_strip_accents();
  if (type == "Strip") return make_strip(n.flag("strip_left", true), n.flag("strip_right", true));
  if (type == "Replace") {
    const auto [pattern, is_regex] = read_pattern(n.at("pattern"));
    return make_replace(pattern, is_regex, n.at("content").as_string(), where(n.at("pattern")));
  }
  if (type == "Prepend") return make_prepend(n.at("prepend").as_string());
  if (type == "Precompiled") {
    if (!n.has("precompiled_charsmap")) return make_normalizer_sequence({});  // no rules
    const Node c = n.at("precompiled_charsmap");
    std::string charsmap = decode_base64(c);
    if (charsmap.empty()) return make_normalizer_sequence({});
    return make_precompiled(std::move(charsmap), where(c));
  }
  if (type == "Sequence") {
    const Node list = n.at("normalizers");
    if (!list.value().is_array()) list.wrong("a list of normalizers");
    std::vector<std::unique_ptr<Normalizer>> parts;
    for (size_t i = 0; i < list.value().size(); ++i) {
      parts.push_back(read_normalizer_component(list.at(i)));
    }
    return make_normalizer_sequence(std::move(parts));
  }
  unsupported(n.at("type"), type, kNormalizers);
}

std::unique_ptr<PreTokenizer> read_pre_tokenizer_component(const Node& n) {
  const std::string type = n.at("type").as_string();
  if (type == "BertPreTokenizer") return make_bert_pre_tokenizer();
  if (type == "Whitespace") return make_whitespace();
  if (type == "WhitespaceSplit") return make_whitespace_split();
  if (type == "Metaspace") {
    const std::string replacement = n.at("replacement").as_string();
    // As tokenizers' deserializer: prepend_scheme defaults to "always"; the legacy
    // add_prefix_space=false means "never".
    std::string scheme = n.has("prepend_scheme") ? n.at("prepend_scheme").as_string() : "always";
    if (scheme != "always" && scheme != "first" && scheme != "never") {
      unsupported(n.at("prepend_scheme"), scheme, "always, first or never");
    }
    if (n.has("add_prefix_space") && !n.at("add_prefix_space").as_bool()) {
      if (n.has("prepend_scheme") && scheme != "never") {
        n.at("add_prefix_space").wrong("consistent with prepend_scheme");
      }
      scheme = "never";
    }
    return make_metaspace(replacement, scheme, n.flag("split", true));
  }
  if (type == "ByteLevel") {
    return make_byte_level(n.flag("add_prefix_space", true), n.flag("use_regex", true));
  }
  if (type == "Split") {
    const auto [pattern, is_regex] = read_pattern(n.at("pattern"));
    return make_split(pattern, is_regex, read_behavior(n.at("behavior")), n.at("invert").as_bool(),
                      where(n.at("pattern")));
  }
  if (type == "Digits") return make_digits(n.flag("individual_digits", false));
  if (type == "Punctuation") {
    return make_punctuation(n.has("behavior") ? read_behavior(n.at("behavior"))
                                              : SplitBehavior::kIsolated);
  }
  if (type == "Sequence") {
    const Node list = n.at("pretokenizers");
    if (!list.value().is_array()) list.wrong("a list of pre-tokenizers");
    std::vector<std::unique_ptr<PreTokenizer>> parts;
    for (size_t i = 0; i < list.value().size(); ++i) {
      parts.push_back(read_pre_tokenizer_component(list.at(i)));
    }
    return make_pre_tokenizer_sequence(std::move(parts));
  }
  unsupported(n.at("type"), type, kPreTokenizers);
}

namespace {

// tokenizers accepts a model without "type" and tells them apart by their fields.
std::string model_type(const Node& m) {
  if (m.has("type")) return m.at("type").as_string();
  if (m.has("merges")) return "BPE";
  if (m.has("vocab") && m.at("vocab").value().is_array()) return "Unigram";
  if (m.has("continuing_subword_prefix") || m.has("max_input_chars_per_word")) return "WordPiece";
  return "(none)";
}

std::vector<std::pair<std::string, int32_t>> read_vocab_map(const Node& m) {
  const Node vocab = m.at("vocab");
  if (!vocab.value().is_object()) vocab.wrong("an object {token: id}");
  std::vector<std::pair<std::string, int32_t>> out;
  out.reserve(vocab.value().size());
  for (const auto& [token, id] : vocab.value().items()) {
    out.emplace_back(token, static_cast<int32_t>(
                                Node(id, vocab.path() + "." + token, m.file()).as_int(0, kMaxId)));
  }
  return out;
}

WordPieceOptions wordpiece_options(const Node& m) {
  WordPieceOptions options;
  if (m.has("unk_token")) options.unk_token = m.at("unk_token").as_string();
  if (m.has("continuing_subword_prefix")) {
    options.continuing_subword_prefix = m.at("continuing_subword_prefix").as_string();
  }
  if (m.has("max_input_chars_per_word")) {
    options.max_input_chars_per_word = m.at("max_input_chars_per_word").as_int(0, kMaxId);
  }
  return options;
}

}  // namespace

std::shared_ptr<const Model> read_model_component(const Node& m) {
  const std::string type = model_type(m);
  if (type == "WordPiece") {
    return std::make_shared<WordPiece>(read_vocab_map(m), wordpiece_options(m), m.file());
  }
  if (type == "Unigram") {
    const Node vocab = m.at("vocab");
    if (!vocab.value().is_array()) vocab.wrong("a list of [piece, score] pairs");
    std::vector<std::pair<std::string, double>> pieces;
    pieces.reserve(vocab.value().size());
    for (size_t i = 0; i < vocab.value().size(); ++i) {
      const Node entry = vocab.at(i);
      pieces.emplace_back(entry.at(size_t{0}).as_string(), entry.at(size_t{1}).as_double());
    }
    std::optional<int32_t> unk_id;
    if (m.has("unk_id")) unk_id = static_cast<int32_t>(m.at("unk_id").as_int(0, kMaxId));
    return std::make_shared<Unigram>(std::move(pieces), unk_id, m.flag("byte_fallback", false),
                                     m.file());
  }
  if (type == "BPE") {
    if (m.has("dropout") && m.at("dropout").as_double() != 0.0) {
      unsupported(m.at("dropout"), m.at("dropout").value().dump(),
                  "null or 0 (dropout makes ids random; embedtune encodes deterministically)");
    }
    BpeOptions options;
    if (m.has("unk_token")) options.unk_token = m.at("unk_token").as_string();
    if (m.has("continuing_subword_prefix")) {
      options.continuing_subword_prefix = m.at("continuing_subword_prefix").as_string();
    }
    if (m.has("end_of_word_suffix")) {
      options.end_of_word_suffix = m.at("end_of_word_suffix").as_string();
    }
    options.fuse_unk = m.flag("fuse_unk", false);
    options.byte_fallback = m.flag("byte_fallback", false);
    options.ignore_merges = m.flag("ignore_merges", false);
    std::vector<std::pair<std::string, std::string>> merges;
    const Node list = m.at("merges");
    if (!list.value().is_array()) list.wrong("a list of merges");
    merges.reserve(list.value().size());
    for (size_t i = 0; i < list.value().size(); ++i) {
      const Node merge = list.at(i);
      if (merge.value().is_string()) {  // the older "a b" form
        const std::string text = merge.as_string();
        const size_t space = text.find(' ');
        if (space == std::string::npos || text.find(' ', space + 1) != std::string::npos) {
          merge.wrong("\"left right\" (two tokens and one space) or [left, right]");
        }
        merges.emplace_back(text.substr(0, space), text.substr(space + 1));
      } else {
        merges.emplace_back(merge.at(size_t{0}).as_string(), merge.at(size_t{1}).as_string());
      }
    }
    return std::make_shared<Bpe>(read_vocab_map(m), merges, std::move(options), m.file());
  }
  unsupported(m.has("type") ? m.at("type") : m, type, "WordPiece, Unigram or BPE");
}

namespace {

bool is_bert_normalizer(const Node& root) {
  return !root.has("normalizer") ||
         (root.at("normalizer").has("type") &&
          root.at("normalizer").at("type").as_string() == "BertNormalizer");
}
bool is_bert_pre_tokenizer(const Node& root) {
  return !root.has("pre_tokenizer") ||
         (root.at("pre_tokenizer").has("type") &&
          root.at("pre_tokenizer").at("type").as_string() == "BertPreTokenizer");
}

void read_added_tokens(const Node& root, TokenizerSpec& spec) {
  if (!root.has("added_tokens")) return;
  const Node list = root.at("added_tokens");
  if (!list.value().is_array()) list.wrong("a list of added tokens");
  for (size_t i = 0; i < list.value().size(); ++i) {
    const Node t = list.at(i);
    AddedToken token;
    token.id = static_cast<int32_t>(t.at("id").as_int(0, kMaxId));
    token.content = t.at("content").as_string();
    if (t.has("special")) token.special = t.at("special").as_bool();
    if (t.has("single_word")) token.single_word = t.at("single_word").as_bool();
    if (t.has("lstrip")) token.lstrip = t.at("lstrip").as_bool();
    if (t.has("rstrip")) token.rstrip = t.at("rstrip").as_bool();
    if (t.has("normalized")) token.normalized = t.at("normalized").as_bool();
    if (!token.content.empty()) spec.added_tokens.push_back(std::move(token));
  }
}

// Ids of a post-processor special token: TemplateProcessing's "special_tokens" map.
std::vector<int32_t> special_ids(const Node& processor, const std::string& name) {
  const Node specials = processor.at("special_tokens");
  if (!specials.value().contains(name)) {
    fail(
        "{}: key '{}.special_tokens' has no {:?}, which the template uses. Fix the "
        "post_processor.",
        processor.file(), processor.path(), name);
  }
  const Node ids = specials.at(name.c_str()).at("ids");
  if (!ids.value().is_array()) ids.wrong("a list of ids");
  std::vector<int32_t> out;
  for (size_t i = 0; i < ids.value().size(); ++i)
    out.push_back(static_cast<int32_t>(ids.at(i).as_int(0, kMaxId)));
  return out;
}

struct Specials {
  std::vector<int32_t> prefix, suffix;
  std::string text;  // for info
};

// A ["token", id] pair of BertProcessing / RobertaProcessing.
int32_t pair_id(const Node& p) { return static_cast<int32_t>(p.at(size_t{1}).as_int(0, kMaxId)); }

// What the post-processor adds around one sequence (the ids are all embedtune needs).
Specials read_post_processor(const Node& p) {
  const std::string type = p.at("type").as_string();
  Specials s;
  if (type == "BertProcessing" || type == "RobertaProcessing") {
    s.prefix = {pair_id(p.at("cls"))};
    s.suffix = {pair_id(p.at("sep"))};
    s.text = fmt::format("{}({} $A {})", type, p.at("cls").at(size_t{0}).as_string(),
                         p.at("sep").at(size_t{0}).as_string());
    return s;
  }
  if (type == "ByteLevel") {  // trim_offsets changes offsets only
    s.text = "ByteLevel";
    return s;
  }
  if (type == "Sequence") {
    const Node list = p.at("processors");
    if (!list.value().is_array()) list.wrong("a list of post-processors");
    std::vector<std::string> names;
    for (size_t i = 0; i < list.value().size(); ++i) {
      Specials inner = read_post_processor(list.at(i));
      // Each processor wraps what the previous ones produced.
      inner.prefix.insert(inner.prefix.end(), s.prefix.begin(), s.prefix.end());
      s.prefix = std::move(inner.prefix);
      s.suffix.insert(s.suffix.end(), inner.suffix.begin(), inner.suffix.end());
      names.push_back(inner.text);
    }
    s.text = "Sequence[" + fmt::format("{}", fmt::join(names, ", ")) + "]";
    return s;
  }
  if (type != "TemplateProcessing") {
    unsupported(p.at("type"), type,
                "TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel, Sequence or "
                "null");
  }
  const Node single = p.at("single");
  if (!single.value().is_array()) single.wrong("a list of template pieces");
  bool seen_sequence = false;
  std::string text;
  for (size_t i = 0; i < single.value().size(); ++i) {
    const Node piece = single.at(i);
    if (piece.value().contains("Sequence")) {
      if (seen_sequence) piece.wrong("one Sequence in the single template");
      seen_sequence = true;
      text += (text.empty() ? "" : " ") + std::string("$A");
    } else if (piece.value().contains("SpecialToken")) {
      const std::string name = piece.at("SpecialToken").at("id").as_string();
      auto ids = special_ids(p, name);
      auto& target = seen_sequence ? s.suffix : s.prefix;
      target.insert(target.end(), ids.begin(), ids.end());
      text += (text.empty() ? "" : " ") + name;
    } else {
      piece.wrong("{\"Sequence\": ...} or {\"SpecialToken\": ...}");
    }
  }
  if (!seen_sequence) single.wrong("a template with a Sequence");
  s.text = "TemplateProcessing(" + text + ")";
  return s;
}

void read_truncation_and_padding(const Node& root, TokenizerSpec& spec) {
  if (root.has("truncation")) {
    const Node t = root.at("truncation");
    TruncationSpec truncation;
    truncation.max_length = t.at("max_length").as_int(0, kMaxId);
    if (t.has("strategy")) truncation.strategy = t.at("strategy").as_string();
    if (t.has("stride")) truncation.stride = t.at("stride").as_int(0, kMaxId);
    if (t.has("direction")) truncation.direction = t.at("direction").as_string();
    spec.truncation = truncation;
  }
  if (root.has("padding")) {
    const Node p = root.at("padding");
    if (p.has("pad_id")) spec.pad_id = static_cast<int32_t>(p.at("pad_id").as_int(0, kMaxId));
  }
}

}  // namespace
}  // namespace tokenizer_json

using tokenizer_json::Node;

TokenizerSpec read_tokenizer_json(const std::filesystem::path& file,
                                  const std::filesystem::path& config_file) {
  const tokenizer_json::json document = io::read_json_file(file);
  TokenizerSpec spec;
  spec.source = file.string();
  const Node root(document, "", spec.source);
  if (!document.is_object()) {
    fail("{}: the top level is not an object; expected a Hugging Face tokenizer.json.",
         spec.source);
  }
  const Node model = root.at("model");
  const bool bert = tokenizer_json::is_bert_normalizer(root) &&
                    tokenizer_json::is_bert_pre_tokenizer(root) &&
                    tokenizer_json::model_type(model) == "WordPiece";
  if (bert) {
    if (root.has("normalizer")) {
      spec.normalizer = tokenizer_json::bert_normalizer_options(root.at("normalizer"));
    }
    spec.bert_pre_tokenizer = root.has("pre_tokenizer");
    spec.wordpiece = tokenizer_json::wordpiece_options(model);
    spec.vocab = tokenizer_json::read_vocab_map(model);
  } else {
    if (root.has("normalizer")) {
      spec.normalizer_component = tokenizer_json::read_normalizer_component(root.at("normalizer"));
    }
    if (root.has("pre_tokenizer")) {
      spec.pre_tokenizer = tokenizer_json::read_pre_tokenizer_component(root.at("pre_tokenizer"));
    }
    spec.model = tokenizer_json::read_model_component(model);
  }
  tokenizer_json::read_added_tokens(root, spec);
  if (root.has("post_processor")) {
    auto specials = tokenizer_json::read_post_processor(root.at("post_processor"));
    spec.prefix_ids = std::move(specials.prefix);
    spec.suffix_ids = std::move(specials.suffix);
    spec.post_processor = std::move(specials.text);
  }
  tokenizer_json::read_truncation_and_padding(root, spec);
  if (!config_file.empty() && std::filesystem::exists(config_file)) {
    apply_transformers_class(root, config_file, spec);
  }
  return spec;
}

}  // namespace embedtune
