// hf://datasets/... names resolved to files in the Hugging Face cache.
#include "data/hub_input.h"

#include <fmt/ranges.h>

#include <algorithm>
#include <vector>

#include "hub/download.h"
#include "io/error.h"

namespace embedtune::data {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view kScheme = "hf://";
const std::vector<std::string> kDataExtensions = {".parquet", ".jsonl", ".json", ".csv"};
// JSON files of a dataset repository that describe it rather than hold rows.
const std::vector<std::string> kMetadataFiles = {"dataset_info.json", "dataset_infos.json",
                                                 "dataset_dict.json", "state.json"};

bool is_data_file(const fs::path& path) {
  const std::string name = path.filename().string();
  if (std::find(kMetadataFiles.begin(), kMetadataFiles.end(), name) != kMetadataFiles.end())
    return false;
  return std::find(kDataExtensions.begin(), kDataExtensions.end(), path.extension().string()) !=
         kDataExtensions.end();
}

// True when a path component of `relative` is the split: "train", "train-00000-of-00002",
// "train_part", "my-train" (extensions removed).
bool names_split(const fs::path& relative, const std::string& split) {
  for (const fs::path& part : relative) {
    std::string stem = part.string();
    if (const auto dot = stem.find('.'); dot != std::string::npos) stem.resize(dot);
    if (stem == split) return true;
    for (const char sep : {'-', '_'}) {
      if (stem.starts_with(split + sep) || stem.ends_with(sep + split)) return true;
    }
  }
  return false;
}

}  // namespace

bool is_hub_url(std::string_view name) { return name.starts_with(kScheme); }

fs::path local_dataset_file(const std::string& name) {
  if (!is_hub_url(name)) return name;
  std::string rest = name.substr(kScheme.size());
  if (!rest.starts_with("datasets/")) {
    fail(
        "{}: expected hf://datasets/org/name[@revision][/file or split]; only dataset "
        "repositories hold data files",
        name);
  }
  rest.erase(0, std::string_view("datasets/").size());
  // org/name[@revision] is the first two components; the rest is the path in the repository.
  const auto first = rest.find('/');
  const auto second = first == std::string::npos ? std::string::npos : rest.find('/', first + 1);
  std::string repo_id = rest.substr(0, second);
  std::string path = second == std::string::npos ? "" : rest.substr(second + 1);
  while (path.ends_with('/')) path.pop_back();
  hub::DownloadOptions options;
  if (const auto at = repo_id.find('@'); at != std::string::npos) {
    options.revision = repo_id.substr(at + 1);
    repo_id.resize(at);
  }
  hub::check_repo_id(repo_id, name);
  const hub::HubSettings settings = hub::HubSettings::from_environment();
  const hub::RepoRef repo{hub::RepoType::kDataset, repo_id};

  if (!path.empty() && is_data_file(path)) {
    return hub::download_file(settings, repo, path, options.revision);
  }
  for (const std::string& extension : kDataExtensions) options.include.push_back("*" + extension);
  const fs::path snapshot = hub::download_snapshot(settings, repo, options);

  std::vector<fs::path> files;  // relative to the snapshot, sorted
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(snapshot, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const fs::path relative = it->path().lexically_relative(snapshot);
    if (it->is_regular_file(ec) && is_data_file(relative)) files.push_back(relative);
  }
  std::sort(files.begin(), files.end());
  std::vector<fs::path> chosen;
  std::string looked_for;
  if (!path.empty() && fs::is_directory(snapshot / path, ec)) {
    looked_for = fmt::format("below the folder '{}'", path);
    for (const fs::path& file : files) {
      if (file.string().starts_with(path + "/")) chosen.push_back(file);
    }
  } else {
    const std::string split = path.empty() ? "train" : path;
    looked_for = fmt::format("for the split '{}'", split);
    for (const fs::path& file : files) {
      if (names_split(file, split)) chosen.push_back(file);
    }
    if (chosen.empty() && path.empty()) chosen = files, looked_for = "in the repository";
  }
  if (chosen.size() == 1) return snapshot / chosen.front();
  std::vector<std::string> names;
  for (const fs::path& file : (chosen.empty() ? files : chosen)) names.push_back(file.string());
  if (names.size() > 6) names.resize(6), names.push_back("...");
  if (chosen.empty()) {
    fail(
        "{}: no data file (.parquet, .jsonl, .json, .csv) {}; the repository has: {}; name a "
        "file, e.g. hf://datasets/{}/FILE",
        name, looked_for,
        names.empty() ? "no data files" : fmt::format("{}", fmt::join(names, ", ")), repo_id);
  }
  fail(
      "{}: {} data files {} ({}); embedtune reads one file: name it, e.g. "
      "hf://datasets/{}/{}",
      name, chosen.size(), looked_for, fmt::join(names, ", "), repo_id, chosen.front().string());
}

}  // namespace embedtune::data
