// A model folder's chat template, applied to one text as sentence-transformers 6.2 does for a
// Transformer whose modality_config has "message": the text becomes a user message (after a
// system message holding the prompt, if any), the conversation is rendered by the template as
// transformers' apply_chat_template renders it, tokenized without special tokens, cut at
// max_length, and the template's fixed tail written back over the end of a cut sequence
// (Transformer._restore_chat_template_suffix).
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/jinja/template.h"
#include "tokenizer/tokenizer.h"

namespace embedtune {

class ChatTemplate {
 public:
  // How a message's content is laid out: a plain string ("flat") or a list of
  // {"type": "text", "text": ...} parts ("structured"), as sentence-transformers' InputFormatter.
  enum class MessageFormat { kFlat, kStructured };

  // The folder's template: chat_template.jinja, else tokenizer_config.json's "chat_template" (a
  // string, or a list of {name, template} from which "default" is taken), as transformers loads
  // it; nullopt when the folder has none. The special tokens (bos_token, eos_token, ...) come
  // from tokenizer_config.json, else special_tokens_map.json. Throws embedtune::Error naming the
  // file on a bad template.
  static std::optional<ChatTemplate> from_folder(const std::filesystem::path& dir);
  ChatTemplate(std::string source, std::string origin, nlohmann::ordered_json special_tokens);

  // InputFormatter._infer_format: flat for the model types sentence-transformers lists, else
  // structured when the template reads content parts (content[0], .type, ...), else flat.
  MessageFormat infer_format(std::string_view model_type) const;
  void set_format(MessageFormat format) { format_ = format; }
  MessageFormat format() const { return format_; }

  // The conversation for one text: [{"role": "system", "content": prompt}] when `prompt` is not
  // empty, then {"role": "user", "content": text}, with content laid out in format().
  nlohmann::ordered_json conversation(std::string_view text, std::string_view prompt) const;
  // apply_chat_template(messages, tokenize=False, add_generation_prompt=False[, task=task]): the
  // rendered text; `task` ("query", "document"), when not empty, is the template variable "task"
  // if the template reads it, as sentence-transformers passes encode_query's and
  // encode_document's task. Throws
  // embedtune::Error naming the template and line where jinja2 would raise.
  std::string render(const nlohmann::ordered_json& messages, std::string_view task = {}) const;

  // The ids sentence-transformers feeds the model for `text`: render(conversation(text, prompt),
  // task) tokenized without special tokens and cut to `max_length` (0: no limit); a sequence of
  // exactly max_length gets the template's tail tokens (rendered with the same task) written
  // over its last ones. Thread-safe.
  std::vector<int32_t> encode(const Tokenizer& tokenizer, std::string_view text,
                              std::string_view prompt, size_t max_length,
                              std::string_view task = {}) const;

  // Whether the template reads the variable `name` without setting it (sentence-transformers
  // passes task= only to templates that read "task").
  bool reads_variable(std::string_view name) const { return template_->reads_variable(name); }
  const std::string& source() const { return source_; }
  const std::string& origin() const { return origin_; }

 private:
  // The template's tail for conversations with this prompt and task: the longest common token
  // suffix of two renders whose user content differs ("0" and "1 2 3 4"), as
  // _chat_template_suffix_ids.
  std::vector<int32_t> suffix_ids(const Tokenizer& tokenizer, std::string_view prompt,
                                  std::string_view task) const;

  std::string source_;
  std::string origin_;
  nlohmann::ordered_json special_tokens_;
  std::shared_ptr<const jinja::Template> template_;
  MessageFormat format_ = MessageFormat::kFlat;
  struct SuffixCache {
    std::mutex mutex;
    // Keyed by task, a NUL, then the prompt.
    std::map<std::string, std::vector<int32_t>, std::less<>> by_key;
  };
  std::shared_ptr<SuffixCache> suffix_cache_ = std::make_shared<SuffixCache>();
};

}  // namespace embedtune
