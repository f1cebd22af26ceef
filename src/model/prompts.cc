// Prompts: reading a model's saved prompts and choosing one, as sentence-transformers 6.2.
#include "model/prompts.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "io/error.h"

namespace embedtune {

// As SentenceTransformer._default_prompts: the names encode_query and encode_document look for
// first, filled from the saved config or left "" (an empty prompt, which also keeps
// default_prompt_name from applying to queries and documents).
Prompts::Prompts() : by_name_{{"query", ""}, {"document", ""}} {}

Prompts Prompts::from_config(const nlohmann::json& config, const std::filesystem::path& path) {
  Prompts out;
  if (!config.is_object()) {
    fail("{}: expected a JSON object of settings, found a JSON {}; fix the file or remove it",
         path.string(), config.type_name());
  }
  if (const auto it = config.find("prompts"); it != config.end()) {
    if (!it->is_object()) {
      fail(
          "{}: \"prompts\" must be an object of prompt names to texts (e.g. {{\"query\": "
          "\"query: \"}}), found a JSON {}; fix it or remove the key",
          path.string(), it->type_name());
    }
    for (const auto& [name, text] : it->items()) {
      if (!text.is_string() && !text.is_null()) {
        fail(
            "{}: \"prompts\": the prompt \"{}\" must be a string (or null for none), found a "
            "JSON {}; write the prompt text in quotes",
            path.string(), name, text.type_name());
      }
      out.by_name_[name] = text.is_string() ? text.get<std::string>() : std::string();
    }
  }
  if (const auto it = config.find("default_prompt_name"); it != config.end() && !it->is_null()) {
    if (!it->is_string() || !out.by_name_.count(it->get<std::string>())) {
      fail(
          "{}: \"default_prompt_name\" must be null or the name of one of the prompts ({}), "
          "found {}; name one of them or set it to null",
          path.string(), fmt::join(out.names(), ", "), it->dump());
    }
    out.default_name_ = it->get<std::string>();
  }
  return out;
}

std::vector<std::string> Prompts::names() const {
  std::vector<std::string> out;
  for (const auto& [name, text] : by_name_) out.push_back(name);
  return out;
}

std::string Prompts::resolve(const std::optional<std::string>& prompt,
                             const std::optional<std::string>& name, EncodeTask task) const {
  if (prompt) return *prompt;
  std::optional<std::string> chosen = name;
  // encode_query and encode_document pick a name only when the caller named none.
  if (!chosen && task == EncodeTask::kQuery && by_name_.count("query")) chosen = "query";
  if (!chosen && task == EncodeTask::kDocument) {
    for (const char* candidate : {"document", "passage", "corpus"}) {
      if (by_name_.count(candidate)) {
        chosen = candidate;
        break;
      }
    }
  }
  if (chosen) {
    const auto it = by_name_.find(*chosen);
    if (it == by_name_.end()) {
      fail(
          "prompt name '{}' is not one of the model's prompts ({}); name one of them, or give "
          "the prompt text itself",
          *chosen, fmt::join(names(), ", "));
    }
    return it->second;
  }
  if (default_name_) return by_name_.at(*default_name_);
  return {};
}

}  // namespace embedtune
