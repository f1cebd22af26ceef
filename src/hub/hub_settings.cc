// The Hub's environment variables, as huggingface_hub's constants.py and utils/_auth.py read them.
#include "hub/hub_settings.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "io/error.h"

namespace embedtune::hub {
namespace fs = std::filesystem;
namespace {

std::string env(const char* name) {
  const char* value = std::getenv(name);
  return value ? std::string(value) : std::string();
}

bool env_true(const char* name) {
  std::string value = env(name);
  for (char& c : value) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return value == "1" || value == "ON" || value == "YES" || value == "TRUE";
}

std::string trim(std::string text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

}  // namespace

std::string_view repo_type_name(RepoType type) {
  switch (type) {
    case RepoType::kModel:
      return "model";
    case RepoType::kDataset:
      return "dataset";
    case RepoType::kSpace:
      return "space";
  }
  return "model";
}

RepoType parse_repo_type(std::string_view text, std::string_view what) {
  if (text == "model") return RepoType::kModel;
  if (text == "dataset") return RepoType::kDataset;
  if (text == "space") return RepoType::kSpace;
  fail("{}: expected model, dataset or space, found '{}'", what, text);
}

std::string_view url_prefix(RepoType type) {
  switch (type) {
    case RepoType::kModel:
      return "";
    case RepoType::kDataset:
      return "datasets/";
    case RepoType::kSpace:
      return "spaces/";
  }
  return "";
}

HubSettings HubSettings::from_environment() {
  HubSettings settings;
  settings.endpoint = env("HF_ENDPOINT");
  if (settings.endpoint.empty()) settings.endpoint = "https://huggingface.co";
  while (settings.endpoint.ends_with('/')) settings.endpoint.pop_back();

  fs::path home;
  if (const std::string value = env("HF_HOME"); !value.empty()) {
    home = value;
  } else if (const std::string xdg = env("XDG_CACHE_HOME"); !xdg.empty()) {
    home = fs::path(xdg) / "huggingface";
  } else {
    const std::string user = env("HOME");
    home = fs::path(user.empty() ? "/" : user) / ".cache" / "huggingface";
  }
  if (const std::string value = env("HF_HUB_CACHE"); !value.empty()) {
    settings.cache = value;
  } else if (const std::string old = env("HUGGINGFACE_HUB_CACHE"); !old.empty()) {
    settings.cache = old;
  } else {
    settings.cache = home / "hub";
  }

  const std::string token_path = env("HF_TOKEN_PATH");
  settings.token_file = token_path.empty() ? home / "token" : fs::path(token_path);
  if (std::string token = trim(env("HF_TOKEN")); !token.empty()) {
    settings.token = token, settings.token_source = "HF_TOKEN";
  } else if (std::string old = trim(env("HUGGING_FACE_HUB_TOKEN")); !old.empty()) {
    settings.token = old, settings.token_source = "HUGGING_FACE_HUB_TOKEN";
  } else if (std::ifstream in(settings.token_file); in) {
    std::stringstream text;
    text << in.rdbuf();
    settings.token = trim(text.str());
    if (!settings.token.empty()) settings.token_source = settings.token_file.string();
  }
  settings.offline = env_true("HF_HUB_OFFLINE") || env_true("TRANSFORMERS_OFFLINE");
  return settings;
}

std::string HubSettings::token_hint() const {
  if (token.empty()) {
    return fmt::format(
        "no token is set: set HF_TOKEN, or log in with 'hf auth login' (it writes {})",
        token_file.string());
  }
  return fmt::format(
      "the token from {} was refused or lacks access: check it, and that it may read (or write) "
      "this repository",
      token_source);
}

void check_repo_id(const std::string& repo_id, std::string_view what) {
  const auto slash = repo_id.find('/');
  const bool two_parts = slash != std::string::npos;
  std::string problem;
  if (repo_id.empty()) {
    problem = "it is empty";
  } else if (repo_id.size() > 96) {
    problem = "it is longer than 96 characters";
  } else if (two_parts && repo_id.find('/', slash + 1) != std::string::npos) {
    problem = "it has more than one '/'";
  } else if (repo_id.find("--") != std::string::npos || repo_id.find("..") != std::string::npos) {
    problem = "it contains '--' or '..'";
  } else {
    const auto part_ok = [](std::string_view part) {
      if (part.empty() || part.front() == '-' || part.front() == '.' || part.back() == '-' ||
          part.back() == '.')
        return false;
      for (const char c : part) {
        const auto u = static_cast<unsigned char>(c);
        const bool ok = (u >= '0' && u <= '9') || (u >= 'a' && u <= 'z') ||
                        (u >= 'A' && u <= 'Z') || c == '-' || c == '_' || c == '.';
        if (!ok) return false;
      }
      return true;
    };
    const std::string_view id(repo_id);
    if (!part_ok(two_parts ? id.substr(0, slash) : id) ||
        (two_parts && !part_ok(id.substr(slash + 1)))) {
      problem =
          "each part must be letters, digits, '-', '_' or '.', not starting or ending "
          "with '-' or '.'";
    }
  }
  if (!problem.empty()) {
    fail("{}: '{}' is not a Hugging Face repository id ({}); expected 'org/name'", what, repo_id,
         problem);
  }
}

bool looks_like_repo_id(const std::string& name) {
  const auto slash = name.find('/');
  return slash != std::string::npos && slash > 0 && slash + 1 < name.size() &&
         name.find('/', slash + 1) == std::string::npos && name.front() != '.' &&
         name.front() != '~';
}

fs::path repo_cache_folder(const HubSettings& settings, RepoType type, const std::string& repo_id) {
  std::string folder = std::string(repo_type_name(type)) + "s--" + repo_id;
  for (auto pos = folder.find('/'); pos != std::string::npos; pos = folder.find('/', pos)) {
    folder.replace(pos, 1, "--");
  }
  return settings.cache / folder;
}

bool is_commit_hash(std::string_view revision) {
  if (revision.size() != 40) return false;
  for (const char c : revision) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace embedtune::hub
