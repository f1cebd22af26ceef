// Resolving model names to folders: local paths and the Hugging Face cache layout.
#include "model/model_path.h"

#include <fmt/ranges.h>

#include <cstdlib>
#include <fstream>
#include <vector>

#include "io/error.h"
#include "io/file.h"

namespace embedtune {
namespace fs = std::filesystem;
namespace {

fs::path hub_cache() {
  if (const char* cache = std::getenv("HF_HUB_CACHE"); cache && *cache) return cache;
  if (const char* home = std::getenv("HF_HOME"); home && *home) return fs::path(home) / "hub";
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg) {
    return fs::path(xdg) / "huggingface" / "hub";
  }
  const char* user_home = std::getenv("HOME");
  return fs::path(user_home ? user_home : "/") / ".cache" / "huggingface" / "hub";
}

}  // namespace

fs::path resolve_model_path(const std::string& name_or_path) {
  std::error_code ec;
  if (fs::is_directory(name_or_path, ec)) return fs::path(name_or_path);
  if (fs::exists(name_or_path, ec)) {
    fail(
        "model '{}' is a file; expected a model folder (config.json, model.safetensors, "
        "tokenizer files) or a Hugging Face model id",
        name_or_path);
  }
  std::vector<std::string> looked{fs::absolute(name_or_path, ec).string()};
  const auto slash = name_or_path.find('/');
  const bool looks_like_id = slash != std::string::npos && slash > 0 &&
                             name_or_path.find('/', slash + 1) == std::string::npos &&
                             name_or_path.front() != '.' && slash + 1 < name_or_path.size();
  if (looks_like_id) {
    std::string folder = "models--" + name_or_path;
    folder.replace(folder.find('/'), 1, "--");
    const fs::path repo = hub_cache() / folder;
    const fs::path snapshots = repo / "snapshots";
    std::string revision;
    if (fs::is_regular_file(repo / "refs" / "main", ec))
      revision = io::read_file(repo / "refs" / "main");
    revision = revision.substr(0, revision.find_first_of("\r\n"));
    if (!revision.empty()) {
      // A revision is a commit hash: one folder name under snapshots/, never a path.
      const bool plain =
          revision.find_first_of("/\\") == std::string::npos && revision != "." && revision != "..";
      if (!plain) {
        fail(
            "{}: names '{}', which is not a commit hash; a revision must name a folder in {} "
            "(download the model again)",
            (repo / "refs" / "main").string(), revision, snapshots.string());
      }
      if (fs::is_directory(snapshots / revision, ec)) return snapshots / revision;
    }
    if (fs::is_directory(snapshots, ec)) {
      // No refs/main: take the newest snapshot.
      fs::path newest;
      fs::file_time_type newest_time{};
      for (const auto& entry : fs::directory_iterator(snapshots, ec)) {
        if (!entry.is_directory()) continue;
        auto time = entry.last_write_time(ec);
        if (newest.empty() || time > newest_time) newest = entry.path(), newest_time = time;
      }
      if (!newest.empty()) return newest;
    }
    looked.push_back(snapshots.string());
  }
  fail(
      "model '{}' not found: looked in {}; pass a model folder, or put the model in the Hugging "
      "Face cache (HF_HOME / HF_HUB_CACHE) first, since embedtune never downloads",
      name_or_path, fmt::join(looked, " and "));
}

}  // namespace embedtune
