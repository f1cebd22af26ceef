// Prompts: a model's named instruction prompts (config_sentence_transformers.json's "prompts"
// and "default_prompt_name"), and which one a text gets, as sentence-transformers 6.2 decides.
#pragma once

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace embedtune {

// Which sentence-transformers encode method a text goes through; it decides the prompt when the
// caller neither gives one nor names one.
enum class EncodeTask {
  kEncode,    // SentenceTransformer.encode: default_prompt_name, if set
  kQuery,     // encode_query: the "query" prompt
  kDocument,  // encode_document: the first of "document", "passage", "corpus"
};

class Prompts {
 public:
  // ST's defaults alone: {"query": "", "document": ""}, no default prompt name.
  Prompts();

  // config_sentence_transformers.json's content merged over the defaults, as ST's
  // _parse_model_config then _validate_prompts: each saved prompt replaces or adds its name, a
  // null value reads as "", and default_prompt_name (null or absent: none) must name one of
  // the merged prompts ("query" and "document" included). Throws embedtune::Error naming `path`
  // and the key when "prompts" is not an object of strings or nulls, or default_prompt_name is
  // not a string among them (ST raises for an unknown name and a non-object; it keeps a
  // non-string value and fails later, at encode: this fails at load).
  static Prompts from_config(const nlohmann::json& config, const std::filesystem::path& path);

  // The prompt text encode prepends, as ST's encode_query / encode_document then
  // _resolve_prompt: `prompt` when given (even ""; it wins over a name, as ST, which warns);
  // else the prompt `name`d; else, for kQuery and kDocument, the task's prompt (see EncodeTask)
  // when the model has it; else, the prompt default_prompt_name names; else "". Throws
  // embedtune::Error listing the known names when `name` is not one of them.
  std::string resolve(const std::optional<std::string>& prompt,
                      const std::optional<std::string>& name,
                      EncodeTask task = EncodeTask::kEncode) const;

  // Name -> text, "query" and "document" always among them.
  const std::map<std::string, std::string>& by_name() const { return by_name_; }
  const std::optional<std::string>& default_prompt_name() const { return default_name_; }
  std::vector<std::string> names() const;

 private:
  std::map<std::string, std::string> by_name_;
  std::optional<std::string> default_name_;
};

}  // namespace embedtune
