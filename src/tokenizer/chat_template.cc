// A model's chat template applied to single texts as sentence-transformers 6.2 applies it.
#include "tokenizer/chat_template.h"

#include <algorithm>

#include "io/error.h"
#include "io/file.h"
#include "io/json.h"

namespace embedtune {
namespace fs = std::filesystem;

namespace {

// transformers' special_tokens_map: the named special tokens that are set, as strings.
constexpr const char* kSpecialTokenKeys[] = {"bos_token", "eos_token", "unk_token", "sep_token",
                                             "pad_token", "cls_token", "mask_token"};

void take_special_tokens(const nlohmann::json& config, nlohmann::ordered_json& out) {
  if (!config.is_object()) return;
  for (const char* key : kSpecialTokenKeys) {
    const auto it = config.find(key);
    if (it == config.end()) continue;
    if (it->is_string()) {
      out[key] = it->get<std::string>();
    } else if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) {
      out[key] = (*it)["content"].get<std::string>();
    }
  }
}

}  // namespace

std::optional<ChatTemplate> ChatTemplate::from_folder(const fs::path& dir) {
  const fs::path jinja_file = dir / "chat_template.jinja";
  const fs::path config_file = dir / "tokenizer_config.json";
  nlohmann::json config;
  if (fs::exists(config_file)) config = io::read_json_file(config_file);

  std::string source, origin;
  if (fs::exists(jinja_file)) {
    source = io::read_file(jinja_file);
    origin = jinja_file.string();
  } else if (config.is_object() && config.contains("chat_template") &&
             !config["chat_template"].is_null()) {
    const auto& value = config["chat_template"];
    origin = config_file.string() + ": chat_template";
    if (value.is_string()) {
      source = value.get<std::string>();
    } else if (value.is_array()) {
      for (const auto& entry : value) {
        if (entry.is_object() && entry.value("name", "") == "default" &&
            entry.contains("template") && entry["template"].is_string()) {
          source = entry["template"].get<std::string>();
        }
      }
      if (source.empty()) {
        fail(
            "{}: chat_template is a list without a \"default\" entry; expected a string or a list "
            "of "
            "{{\"name\", \"template\"}} objects with one named \"default\"",
            config_file.string());
      }
    } else {
      fail(
          "{}: chat_template must be a string or a list of {{\"name\", \"template\"}} objects, "
          "found {}",
          config_file.string(), value.dump());
    }
  } else {
    return std::nullopt;
  }

  nlohmann::ordered_json special = nlohmann::ordered_json::object();
  const fs::path map_file = dir / "special_tokens_map.json";
  if (fs::exists(map_file)) take_special_tokens(io::read_json_file(map_file), special);
  take_special_tokens(config, special);
  return ChatTemplate(std::move(source), std::move(origin), std::move(special));
}

ChatTemplate::ChatTemplate(std::string source, std::string origin,
                           nlohmann::ordered_json special_tokens)
    : source_(std::move(source)),
      origin_(std::move(origin)),
      special_tokens_(std::move(special_tokens)),
      template_(std::make_shared<const jinja::Template>(source_, origin_)) {}

ChatTemplate::MessageFormat ChatTemplate::infer_format(std::string_view model_type) const {
  // sentence_transformers.base.modality.KNOWN_MODEL_TYPES_MESSAGE_FORMATS, then _infer_format's
  // patterns.
  for (const char* flat : {"apertus", "deepseek_v3", "gpt_oss", "seed_oss"})
    if (model_type == flat) return MessageFormat::kFlat;
  if (source_.empty()) return MessageFormat::kStructured;
  for (const char* pattern :
       {"content[0]", ".type", "'type'", "\"type\"", "item.type", "message.content["})
    if (source_.find(pattern) != std::string::npos) return MessageFormat::kStructured;
  return MessageFormat::kFlat;
}

nlohmann::ordered_json ChatTemplate::conversation(std::string_view text,
                                                  std::string_view prompt) const {
  const auto content = [&](std::string_view s) {
    if (format_ == MessageFormat::kFlat) return nlohmann::ordered_json(std::string(s));
    nlohmann::ordered_json part = nlohmann::ordered_json::object();
    part["type"] = "text";
    part["text"] = std::string(s);
    return nlohmann::ordered_json::array({part});
  };
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  const auto message = [&](const char* role, std::string_view s) {
    nlohmann::ordered_json m = nlohmann::ordered_json::object();
    m["role"] = role;
    m["content"] = content(s);
    messages.push_back(std::move(m));
  };
  if (!prompt.empty()) message("system", prompt);
  message("user", text);
  return messages;
}

std::string ChatTemplate::render(const nlohmann::ordered_json& messages,
                                 std::string_view task) const {
  // apply_chat_template's variables: the special tokens, then messages, tools, documents and
  // add_generation_prompt (render_jinja_template passes those last, so they win).
  nlohmann::ordered_json context = special_tokens_;
  context["messages"] = messages;
  context["tools"] = nullptr;
  context["documents"] = nullptr;
  context["add_generation_prompt"] = false;
  // sentence-transformers passes task= only to a template that reads it
  // (Transformer._chat_template_declares_task).
  if (!task.empty() && template_->reads_variable("task")) context["task"] = std::string(task);
  return template_->render(context);
}

std::vector<int32_t> ChatTemplate::suffix_ids(const Tokenizer& tokenizer, std::string_view prompt,
                                              std::string_view task) const {
  std::string key(task);
  key.push_back('\0');
  key.append(prompt);
  {
    std::lock_guard<std::mutex> lock(suffix_cache_->mutex);
    const auto it = suffix_cache_->by_key.find(key);
    if (it != suffix_cache_->by_key.end()) return it->second;
  }
  std::vector<int32_t> suffix;
  try {
    const std::vector<int32_t> first =
        tokenizer.encode(render(conversation("0", prompt), task), 0, false);
    const std::vector<int32_t> second =
        tokenizer.encode(render(conversation("1 2 3 4", prompt), task), 0, false);
    size_t count = 0;
    while (count < first.size() && count < second.size() &&
           first[first.size() - 1 - count] == second[second.size() - 1 - count]) {
      ++count;
    }
    // No divergence at all means the renders carry no content: nothing to trust.
    if (count > 0 && count < std::min(first.size(), second.size()))
      suffix.assign(first.end() - static_cast<std::ptrdiff_t>(count), first.end());
  } catch (const Error&) {
    // As sentence-transformers, a failed derivation restores nothing.
    suffix.clear();
  }
  std::lock_guard<std::mutex> lock(suffix_cache_->mutex);
  suffix_cache_->by_key.emplace(std::move(key), suffix);
  return suffix;
}

std::vector<int32_t> ChatTemplate::encode(const Tokenizer& tokenizer, std::string_view text,
                                          std::string_view prompt, size_t max_length,
                                          std::string_view task) const {
  std::vector<int32_t> ids =
      tokenizer.encode(render(conversation(text, prompt), task), max_length, false);
  if (max_length == 0 || ids.size() < max_length) return ids;
  const std::vector<int32_t> suffix = suffix_ids(tokenizer, prompt, task);
  const size_t keep = std::min(suffix.size(), ids.size());
  std::copy(suffix.end() - static_cast<std::ptrdiff_t>(keep), suffix.end(),
            ids.end() - static_cast<std::ptrdiff_t>(keep));
  return ids;
}

}  // namespace embedtune
