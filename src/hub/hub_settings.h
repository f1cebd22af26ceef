// Where the Hugging Face Hub is and how to talk to it, read from the environment as
// huggingface_hub reads it: endpoint, cache folder, token, offline mode; and repository names.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace embedtune::hub {

enum class RepoType { kModel, kDataset, kSpace };

// "model", "dataset", "space".
std::string_view repo_type_name(RepoType type);
// Parses "model", "dataset" or "space"; throws Error naming `what` (the flag or key) otherwise.
RepoType parse_repo_type(std::string_view text, std::string_view what);
// The URL prefix of a repository's files: "" for models, "datasets/", "spaces/".
std::string_view url_prefix(RepoType type);

struct HubSettings {
  std::string endpoint;         // HF_ENDPOINT, else https://huggingface.co; no trailing '/'
  std::filesystem::path cache;  // HF_HUB_CACHE, HUGGINGFACE_HUB_CACHE, else HF_HOME/hub
  std::string token;            // "" when there is none
  std::string token_source;     // where the token came from ("HF_TOKEN", the token file's path)
  std::filesystem::path token_file;  // HF_TOKEN_PATH, else HF_HOME/token
  bool offline = false;              // HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE set to 1/ON/YES/TRUE
  int retries = 5;                   // further attempts after a network failure, a 429 or a 5xx

  // Reads the variables above (HF_HOME: else $XDG_CACHE_HOME/huggingface, else
  // ~/.cache/huggingface). Never throws.
  static HubSettings from_environment();

  // The authorization header value, "" without a token.
  std::string bearer() const { return token.empty() ? "" : "Bearer " + token; }
  // What to do about a missing or refused token, for error messages.
  std::string token_hint() const;
};

// Checks a repository id as huggingface_hub's validate_repo_id does: "name" or "org/name", each
// part letters, digits, '-', '_' and '.', no "--" or "..", at most 96 characters. Throws Error
// naming `what` with the fix.
void check_repo_id(const std::string& repo_id, std::string_view what);

// True when `name` could be a Hub id ("org/name") rather than a local path: exactly one '/',
// neither part empty, not starting with '.', '/' or '~'.
bool looks_like_repo_id(const std::string& name);

// The repository's folder in the cache: CACHE/{type}s--{org}--{name}.
std::filesystem::path repo_cache_folder(const HubSettings& settings, RepoType type,
                                        const std::string& repo_id);

// True for a full commit hash (40 lower-case hex digits).
bool is_commit_hash(std::string_view revision);

}  // namespace embedtune::hub
