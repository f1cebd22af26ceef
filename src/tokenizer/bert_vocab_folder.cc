// read_bert_vocab_folder: the tokenizer transformers' BertTokenizerFast builds from vocab.txt.
#include <fmt/format.h>

#include <fstream>
#include <sstream>
#include <unordered_map>

#include "io/error.h"
#include "io/file.h"
#include "io/json.h"
#include "io/utf8.h"
#include "tokenizer/tokenizer_spec.h"
#include "tokenizer/unicode_classes.h"

namespace embedtune {
namespace {

using nlohmann::json;

// transformers' load_vocab: Python text-mode readlines() (universal newlines: \r\n and \r become
// \n) then rstrip("\n"); the token's id is its line number.
std::vector<std::pair<std::string, int32_t>> read_vocab_txt(const std::filesystem::path& file) {
  const std::string text = io::read_file(file);
  std::vector<std::pair<std::string, int32_t>> vocab;
  // transformers opens vocab.txt with encoding="utf-8", so ill-formed bytes fail there too.
  auto add = [&](std::string&& token) {
    if (const std::optional<size_t> bad = io::find_invalid_utf8(token)) {
      fail("{}:{}: expected UTF-8 text, found byte 0x{:02X}; save the vocab file as UTF-8.",
           file.string(), vocab.size() + 1, static_cast<unsigned char>(token[*bad]));
    }
    vocab.emplace_back(std::move(token), static_cast<int32_t>(vocab.size()));
  };
  std::string line;
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i++];
    if (c == '\n' || c == '\r') {
      if (c == '\r' && i < text.size() && text[i] == '\n') ++i;
      add(std::move(line));
      line.clear();
    } else {
      line.push_back(c);
    }
  }
  if (!line.empty()) add(std::move(line));
  return vocab;
}

// A special token in tokenizer_config.json: "[CLS]" or {"content": "[CLS]", ...}.
std::string token_text(const json& config, const char* key, const char* fallback,
                       const std::filesystem::path& file) {
  if (!config.contains(key) || config.at(key).is_null()) return fallback;
  const json& v = config.at(key);
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v.at("content").is_string()) {
    return v.at("content").get<std::string>();
  }
  fail("{}: key '{}' is {}; expected a token string. Fix the tokenizer config.", file.string(), key,
       io::json_preview(v));
}

bool flag(const json& v, const char* key, bool fallback, const std::filesystem::path& file,
          const std::string& where) {
  if (!v.contains(key) || v.at(key).is_null()) return fallback;
  if (!v.at(key).is_boolean()) {
    fail("{}: key {:?} is {}; expected true or false. Fix the tokenizer config.", file.string(),
         where + key, io::json_preview(v.at(key)));
  }
  return v.at(key).get<bool>();
}

}  // namespace

TokenizerSpec read_bert_vocab_folder(const std::filesystem::path& dir) {
  TokenizerSpec spec;
  spec.source = dir.string();
  spec.vocab = read_vocab_txt(dir / "vocab.txt");
  const std::filesystem::path config_file = dir / "tokenizer_config.json";
  const json config =
      std::filesystem::exists(config_file) ? io::read_json_file(config_file) : json::object();
  if (!config.is_object()) {
    fail("{}: the top level is not an object; expected a transformers tokenizer config.",
         config_file.string());
  }

  BertNormalizerOptions normalizer;  // BertTokenizer.__init__ defaults
  normalizer.clean_text = true;
  normalizer.lowercase = flag(config, "do_lower_case", true, config_file, "");
  normalizer.handle_chinese_chars = flag(config, "tokenize_chinese_chars", true, config_file, "");
  if (config.contains("strip_accents") && !config.at("strip_accents").is_null()) {
    normalizer.strip_accents = flag(config, "strip_accents", false, config_file, "");
  }
  spec.normalizer = normalizer;
  spec.bert_pre_tokenizer = true;
  spec.wordpiece.unk_token = token_text(config, "unk_token", "[UNK]", config_file);

  // Later duplicates win, as in the Python dict transformers builds.
  std::unordered_map<std::string, int32_t> ids;
  for (const auto& [token, id] : spec.vocab) ids[token] = id;
  int32_t next_id = static_cast<int32_t>(spec.vocab.size());
  auto id_of = [&](const std::string& token) {
    auto it = ids.find(token);
    if (it != ids.end()) return it->second;
    ids[token] = next_id;  // as tokenizers' add_special_tokens: appended after the vocab
    return next_id++;
  };

  // added_tokens_decoder (newer configs) carries each token's matching flags.
  if (config.contains("added_tokens_decoder") && config.at("added_tokens_decoder").is_object()) {
    for (const auto& [key, value] : config.at("added_tokens_decoder").items()) {
      const std::string where = "added_tokens_decoder." + key + ".";
      AddedToken token;
      token.content =
          value.is_object() && value.contains("content") && value.at("content").is_string()
              ? value.at("content").get<std::string>()
              : std::string();
      if (token.content.empty()) {
        fail("{}: key {:?} is missing or not a string; expected the token text.",
             config_file.string(), where + "content");
      }
      token.id = id_of(token.content);
      token.special = flag(value, "special", false, config_file, where);
      token.single_word = flag(value, "single_word", false, config_file, where);
      token.lstrip = flag(value, "lstrip", false, config_file, where);
      token.rstrip = flag(value, "rstrip", false, config_file, where);
      token.normalized = flag(value, "normalized", !token.special, config_file, where);
      spec.added_tokens.push_back(std::move(token));
    }
  }
  const std::pair<const char*, const char*> specials[] = {{"pad_token", "[PAD]"},
                                                          {"unk_token", "[UNK]"},
                                                          {"cls_token", "[CLS]"},
                                                          {"sep_token", "[SEP]"},
                                                          {"mask_token", "[MASK]"}};
  for (const auto& [key, fallback] : specials) {
    AddedToken token;
    token.content = token_text(config, key, fallback, config_file);
    bool known = false;
    for (const AddedToken& t : spec.added_tokens) known = known || t.content == token.content;
    if (known) continue;
    token.id = id_of(token.content);
    token.special = true;
    token.normalized = false;
    spec.added_tokens.push_back(std::move(token));
  }
  spec.prefix_ids = {id_of(token_text(config, "cls_token", "[CLS]", config_file))};
  spec.suffix_ids = {id_of(token_text(config, "sep_token", "[SEP]", config_file))};
  spec.pad_id = id_of(token_text(config, "pad_token", "[PAD]", config_file));
  return spec;
}

}  // namespace embedtune
