// read_tokenizer_json: the sections of a Hugging Face tokenizer.json that a BERT tokenizer uses.
#include <fmt/format.h>

#include "io/error.h"
#include "io/json.h"
#include "tokenizer/tokenizer_spec.h"

namespace embedtune {
namespace {

using nlohmann::json;

// Reader of one object with its key path, so every error names file and key.
class Node {
 public:
  Node(const json& value, std::string path, const std::string& file)
      : value_(value), path_(std::move(path)), file_(file) {}

  const json& value() const { return value_; }
  const std::string& path() const { return path_; }
  bool has(const char* key) const { return value_.contains(key) && !value_.at(key).is_null(); }

  Node at(const char* key) const {
    if (!value_.is_object() || !value_.contains(key)) {
      fail(
          "{}: key {:?} is missing; expected it in a Hugging Face tokenizer.json. Re-save the "
          "tokenizer with tokenizers or transformers.",
          file_, join(key));
    }
    return Node(value_.at(key), join(key), file_);
  }
  Node at(size_t index) const {
    if (!value_.is_array() || index >= value_.size()) {
      wrong(fmt::format("a list with at least {} items", index + 1).c_str());
    }
    return Node(value_.at(index), fmt::format("{}[{}]", path_, index), file_);
  }

  [[noreturn]] void wrong(const char* expected) const {
    fail("{}: key {:?} is {}; expected {}. Fix the file or re-save the tokenizer.", file_, path_,
         io::json_preview(value_), expected);
  }
  bool as_bool() const {
    if (!value_.is_boolean()) wrong("true or false");
    return value_.get<bool>();
  }
  std::optional<bool> as_optional_bool() const {
    if (value_.is_null()) return std::nullopt;
    return as_bool();
  }
  std::string as_string() const {
    if (!value_.is_string()) wrong("a string");
    return value_.get<std::string>();
  }
  int64_t as_int(int64_t min, int64_t max) const {
    if (!value_.is_number_integer()) wrong("an integer");
    const int64_t v = value_.get<int64_t>();
    if (v < min || v > max) wrong(fmt::format("an integer in [{}, {}]", min, max).c_str());
    return v;
  }
  const std::string& file() const { return file_; }

 private:
  std::string join(const char* key) const { return path_.empty() ? key : path_ + "." + key; }

  const json& value_;
  std::string path_;
  const std::string& file_;
};

constexpr int64_t kMaxId = 0x7FFFFFFF;

std::optional<BertNormalizerOptions> read_normalizer(const Node& root) {
  if (!root.has("normalizer")) return std::nullopt;
  const Node n = root.at("normalizer");
  const std::string type = n.at("type").as_string();
  if (type != "BertNormalizer") {
    fail(
        "{}: key 'normalizer.type' is {:?}; embedtune supports only 'BertNormalizer' (or null). "
        "Use a BERT tokenizer.",
        root.file(), type);
  }
  BertNormalizerOptions options;
  if (n.has("clean_text")) options.clean_text = n.at("clean_text").as_bool();
  if (n.has("handle_chinese_chars"))
    options.handle_chinese_chars = n.at("handle_chinese_chars").as_bool();
  if (n.value().contains("strip_accents"))
    options.strip_accents = n.at("strip_accents").as_optional_bool();
  if (n.has("lowercase")) options.lowercase = n.at("lowercase").as_bool();
  return options;
}

bool read_pre_tokenizer(const Node& root) {
  if (!root.has("pre_tokenizer")) return false;
  const Node p = root.at("pre_tokenizer");
  const std::string type = p.at("type").as_string();
  if (type != "BertPreTokenizer") {
    fail(
        "{}: key 'pre_tokenizer.type' is {:?}; embedtune supports only 'BertPreTokenizer' (or "
        "null). Use a BERT tokenizer.",
        root.file(), type);
  }
  return true;
}

void read_model(const Node& root, TokenizerSpec& spec) {
  const Node m = root.at("model");
  const std::string type = m.has("type") ? m.at("type").as_string() : std::string("(none)");
  if (type != "WordPiece") {
    fail(
        "{}: key 'model.type' is {:?}; embedtune supports only 'WordPiece' (BERT) models. Use a "
        "BERT-family model.",
        root.file(), type);
  }
  if (m.has("unk_token")) spec.wordpiece.unk_token = m.at("unk_token").as_string();
  if (m.has("continuing_subword_prefix")) {
    spec.wordpiece.continuing_subword_prefix = m.at("continuing_subword_prefix").as_string();
  }
  if (m.has("max_input_chars_per_word")) {
    spec.wordpiece.max_input_chars_per_word = m.at("max_input_chars_per_word").as_int(0, kMaxId);
  }
  const Node vocab = m.at("vocab");
  if (!vocab.value().is_object()) vocab.wrong("an object {token: id}");
  spec.vocab.reserve(vocab.value().size());
  for (const auto& [token, id] : vocab.value().items()) {
    spec.vocab.emplace_back(token, Node(id, "model.vocab." + token, root.file()).as_int(0, kMaxId));
  }
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
        "{}: key 'post_processor.special_tokens' has no {:?}, which the template uses. Fix the "
        "post_processor.",
        processor.file(), name);
  }
  const Node ids = specials.at(name.c_str()).at("ids");
  if (!ids.value().is_array()) ids.wrong("a list of ids");
  std::vector<int32_t> out;
  for (size_t i = 0; i < ids.value().size(); ++i)
    out.push_back(static_cast<int32_t>(ids.at(i).as_int(0, kMaxId)));
  return out;
}

void read_post_processor(const Node& root, TokenizerSpec& spec) {
  if (!root.has("post_processor")) return;
  const Node p = root.at("post_processor");
  const std::string type = p.at("type").as_string();
  if (type == "BertProcessing") {  // "cls": ["[CLS]", 101], "sep": ["[SEP]", 102]
    spec.prefix_ids = {static_cast<int32_t>(p.at("cls").at(size_t{1}).as_int(0, kMaxId))};
    spec.suffix_ids = {static_cast<int32_t>(p.at("sep").at(size_t{1}).as_int(0, kMaxId))};
    return;
  }
  if (type != "TemplateProcessing") {
    fail(
        "{}: key 'post_processor.type' is {:?}; embedtune supports 'TemplateProcessing', "
        "'BertProcessing' or null. Use a BERT tokenizer.",
        root.file(), type);
  }
  const Node single = p.at("single");
  if (!single.value().is_array()) single.wrong("a list of template pieces");
  bool seen_sequence = false;
  for (size_t i = 0; i < single.value().size(); ++i) {
    const Node piece = single.at(i);
    if (piece.value().contains("Sequence")) {
      if (seen_sequence) piece.wrong("one Sequence in the single template");
      seen_sequence = true;
    } else if (piece.value().contains("SpecialToken")) {
      auto ids = special_ids(p, piece.at("SpecialToken").at("id").as_string());
      auto& target = seen_sequence ? spec.suffix_ids : spec.prefix_ids;
      target.insert(target.end(), ids.begin(), ids.end());
    } else {
      piece.wrong("{\"Sequence\": ...} or {\"SpecialToken\": ...}");
    }
  }
  if (!seen_sequence) single.wrong("a template with a Sequence");
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

TokenizerSpec read_tokenizer_json(const std::filesystem::path& file) {
  const json document = io::read_json_file(file);
  TokenizerSpec spec;
  spec.source = file.string();
  const Node root(document, "", spec.source);
  if (!document.is_object()) {
    fail("{}: the top level is not an object; expected a Hugging Face tokenizer.json.",
         spec.source);
  }
  spec.normalizer = read_normalizer(root);
  spec.bert_pre_tokenizer = read_pre_tokenizer(root);
  read_model(root, spec);
  read_added_tokens(root, spec);
  read_post_processor(root, spec);
  read_truncation_and_padding(root, spec);
  return spec;
}

}  // namespace embedtune
