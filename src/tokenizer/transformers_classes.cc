// transformers 5.24's tokenizer classes rebuild their backend from the file's vocab (and merges)
// in __init__, with a pipeline of their own. Each function below mirrors one such __init__
// (transformers/models/<name>/tokenization_<name>.py) and notes what differs from the file.
#include "tokenizer/transformers_classes.h"

#include "tokenizer/bpe.h"
#include "tokenizer/normalizers.h"
#include "tokenizer/pre_tokenizers.h"
#include "tokenizer/unigram.h"

namespace embedtune {
namespace {

using tokenizer_json::json;
using tokenizer_json::kMaxId;
using tokenizer_json::Node;

// A special token's text in tokenizer_config.json: a string or an AddedToken object.
std::string token_text(const Node& config, const char* key, const char* fallback) {
  if (!config.has(key)) return fallback;
  const Node v = config.at(key);
  if (v.value().is_string()) return v.as_string();
  if (v.value().is_object()) return v.at("content").as_string();
  v.wrong("a token string or {\"content\": ...}");
}

// convert_tokens_to_ids: added tokens first, then the model's vocab.
int32_t token_id(const TokenizerSpec& spec, const Model& model, const Node& config, const char* key,
                 const char* fallback) {
  const std::string token = token_text(config, key, fallback);
  for (const AddedToken& t : spec.added_tokens) {
    if (t.content == token) return t.id;
  }
  const int32_t id = model.token_to_id(token);
  if (id < 0) {
    fail(
        "{}: key {:?} is {:?}, which is neither an added token nor in the vocab of {}; expected "
        "a token of the tokenizer. Fix tokenizer_config.json.",
        config.file(), key, token, spec.source);
  }
  return id;
}

// The first Precompiled normalizer of the file (top level or in a Sequence), as
// convert_to_native_format extracts _spm_precompiled_charsmap.
std::unique_ptr<Normalizer> file_precompiled(const Node& root) {
  if (!root.has("normalizer")) return nullptr;
  const Node n = root.at("normalizer");
  auto is_precompiled = [](const Node& x) {
    return x.has("type") && x.at("type").value() == "Precompiled" && x.has("precompiled_charsmap");
  };
  if (is_precompiled(n)) return tokenizer_json::read_normalizer_component(n);
  if (n.has("type") && n.at("type").value() == "Sequence" && n.has("normalizers")) {
    const Node list = n.at("normalizers");
    for (size_t i = 0; i < list.value().size(); ++i) {
      if (is_precompiled(list.at(i))) return tokenizer_json::read_normalizer_component(list.at(i));
    }
  }
  return nullptr;
}

// The file's BPE vocab and merges with the options the class's __init__ passes.
std::shared_ptr<const Model> rebuilt_bpe(const Node& root, const char* class_name) {
  const Node m = root.at("model");
  if (!m.has("merges")) {
    fail(
        "{}: key 'model' has no merges, but tokenizer_config.json names {}, which builds a BPE "
        "from them; expected a BPE tokenizer.json. Fix tokenizer_class or the file.",
        m.file(), class_name);
  }
  // Same vocab and merges, read as the file has them; then the class's options.
  json patched = m.value();
  patched["type"] = "BPE";
  patched["dropout"] = nullptr;
  patched["unk_token"] = nullptr;
  patched["continuing_subword_prefix"] = "";
  patched["end_of_word_suffix"] = "";
  patched["fuse_unk"] = false;
  patched["byte_fallback"] = false;
  patched["ignore_merges"] = false;
  return tokenizer_json::read_model_component(Node(patched, "model", m.file()));
}

void xlm_roberta(const Node& root, const Node& config, TokenizerSpec& spec) {
  const Node m = root.at("model");
  if (!m.has("vocab") || !m.at("vocab").value().is_array()) {
    fail(
        "{}: key 'model.vocab' is not a Unigram vocab, but tokenizer_config.json names "
        "XLMRobertaTokenizer, which builds a Unigram from it. Fix tokenizer_class or the file.",
        m.file());
  }
  // XLMRobertaTokenizer.__init__: Unigram(vocab, unk_id=3, byte_fallback=False), whatever the
  // file's unk_id and byte_fallback.
  json patched = m.value();
  patched["type"] = "Unigram";
  patched["unk_id"] = 3;
  patched["byte_fallback"] = false;
  spec.model = tokenizer_json::read_model_component(Node(patched, "model", m.file()));
  // Only the file's Precompiled normalizer is kept (its Replace / Strip steps are dropped).
  spec.normalizer_component = file_precompiled(root);
  // The file's pre-tokenizer (Metaspace alone in most hub files) becomes WhitespaceSplit then
  // Metaspace: runs of whitespace (not only spaces) separate words, and no word is empty.
  const bool add_prefix_space = config.flag("add_prefix_space", true);
  std::vector<std::unique_ptr<PreTokenizer>> parts;
  parts.push_back(make_whitespace_split());
  parts.push_back(make_metaspace("\xE2\x96\x81", add_prefix_space ? "always" : "never", true));
  spec.pre_tokenizer = make_pre_tokenizer_sequence(std::move(parts));
  spec.prefix_ids = {token_id(spec, *spec.model, config, "bos_token", "<s>")};
  spec.suffix_ids = {token_id(spec, *spec.model, config, "eos_token", "</s>")};
  spec.post_processor = "TemplateProcessing(<s> $A </s>)";
  spec.deviations.push_back(
      "transformers XLMRobertaTokenizer: normalizer = the file's Precompiled only; pre_tokenizer "
      "= WhitespaceSplit + Metaspace; Unigram unk_id 3, no byte_fallback; <s> $A </s>");
}

void roberta(const Node& root, const Node& config, TokenizerSpec& spec) {
  // RobertaTokenizer.__init__: BPE(vocab, merges), no normalizer, ByteLevel pre-tokenizer,
  // RobertaProcessing(sep, cls).
  spec.model = rebuilt_bpe(root, "RobertaTokenizer");
  spec.normalizer_component = nullptr;
  spec.pre_tokenizer = make_byte_level(config.flag("add_prefix_space", false), true);
  spec.prefix_ids = {token_id(spec, *spec.model, config, "cls_token", "<s>")};
  spec.suffix_ids = {token_id(spec, *spec.model, config, "sep_token", "</s>")};
  spec.post_processor = "RobertaProcessing(<s> $A </s>)";
  spec.deviations.push_back(
      "transformers RobertaTokenizer: no normalizer; pre_tokenizer = ByteLevel(add_prefix_space "
      "from tokenizer_config.json); BPE without unk/dropout; RobertaProcessing");
}

void qwen2(const Node& root, const Node& config, TokenizerSpec& spec) {
  // Qwen2Tokenizer.__init__: BPE(vocab, merges), NFC, Split(PRETOKENIZE_REGEX, isolated) then
  // ByteLevel(use_regex=False); the file's post-processor is kept.
  static const char* kPretokenizeRegex =
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  spec.model = rebuilt_bpe(root, "Qwen2Tokenizer");
  spec.normalizer_component = make_unicode_normalizer("NFC");
  std::vector<std::unique_ptr<PreTokenizer>> parts;
  parts.push_back(make_split(kPretokenizeRegex, true, SplitBehavior::kIsolated, false,
                             "Qwen2Tokenizer PRETOKENIZE_REGEX"));
  parts.push_back(make_byte_level(config.flag("add_prefix_space", false), false));
  spec.pre_tokenizer = make_pre_tokenizer_sequence(std::move(parts));
  spec.deviations.push_back(
      "transformers Qwen2Tokenizer: normalizer = NFC; pre_tokenizer = Split(Qwen2 regex, "
      "isolated) + ByteLevel(use_regex=false); BPE without unk/byte_fallback");
}

void mpnet(const Node& root, const Node& config, TokenizerSpec& spec) {
  // MPNetTokenizer.__init__: WordPiece(vocab, unk_token), BertNormalizer from the config's
  // do_lower_case / tokenize_chinese_chars / strip_accents, BertPreTokenizer,
  // RobertaProcessing(sep, cls): the BERT fast path with <s> ... </s>.
  const Node m = root.at("model");
  const std::string unk = token_text(config, "unk_token", "[UNK]");
  spec.wordpiece = WordPieceOptions{};
  spec.wordpiece.unk_token = unk;
  spec.vocab.clear();
  for (const auto& [token, id] : m.at("vocab").value().items()) {
    spec.vocab.emplace_back(
        token, static_cast<int32_t>(Node(id, "model.vocab." + token, m.file()).as_int(0, kMaxId)));
  }
  BertNormalizerOptions options;
  options.lowercase = config.flag("do_lower_case", true);
  options.handle_chinese_chars = config.flag("tokenize_chinese_chars", true);
  if (config.has("strip_accents")) options.strip_accents = config.at("strip_accents").as_bool();
  spec.normalizer = options;
  spec.bert_pre_tokenizer = true;
  spec.normalizer_component = nullptr;
  spec.pre_tokenizer = nullptr;
  spec.model = nullptr;
  const WordPiece model(spec.vocab, spec.wordpiece, spec.source);
  spec.prefix_ids = {token_id(spec, model, config, "cls_token", "<s>")};
  spec.suffix_ids = {token_id(spec, model, config, "sep_token", "</s>")};
  spec.post_processor = "RobertaProcessing(<s> $A </s>)";
  spec.deviations.push_back(
      "transformers MPNetTokenizer: BertNormalizer from tokenizer_config.json; BertPreTokenizer; "
      "WordPiece; RobertaProcessing");
}

}  // namespace

void apply_transformers_class(const Node& root, const std::filesystem::path& config_file,
                              TokenizerSpec& spec) {
  const json document = io::read_json_file(config_file);
  const std::string file = config_file.string();
  const Node config(document, "", file);
  if (!document.is_object() || !config.has("tokenizer_class")) return;
  std::string name = config.at("tokenizer_class").as_string();
  if (name.ends_with("Fast")) name.resize(name.size() - 4);
  if (name == "XLMRobertaTokenizer") {
    xlm_roberta(root, config, spec);
  } else if (name == "RobertaTokenizer") {
    roberta(root, config, spec);
  } else if (name == "Qwen2Tokenizer") {
    qwen2(root, config, spec);
  } else if (name == "MPNetTokenizer") {
    mpnet(root, config, spec);
  }
}

}  // namespace embedtune
