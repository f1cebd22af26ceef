// Resolving model names to folders: local paths and the Hugging Face cache layout.
#include "model/model_path.h"

#include <fmt/ranges.h>

#include <cstdlib>
#include <fstream>
#include <vector>

#include "hub/download.h"
#include "io/error.h"
#include "io/file.h"

namespace embedtune {
namespace fs = std::filesystem;
namespace {

// What a model download skips: weights in formats embedtune does not read (ONNX, OpenVINO, TF,
// Flax, Core ML, GGUF). PyTorch .bin weights are skipped too when .safetensors ones exist.
hub::DownloadOptions model_download_options() {
  hub::DownloadOptions options;
  options.exclude = {"onnx/*",      "openvino/*", "coreml/*", "*.onnx",    "*.onnx_data",
                     "*.h5",        "*.msgpack",  "*.ot",     "tf_model*", "flax_model*",
                     "rust_model*", "*.gguf",     "*.tflite", "*.mlmodel"};
  options.prefer_safetensors = true;
  return options;
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
    const hub::HubSettings settings = hub::HubSettings::from_environment();
    const fs::path repo = settings.cache / folder;
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
    // Not in the cache: download it, unless offline.
    if (!settings.offline) {
      return hub::download_snapshot(settings, {hub::RepoType::kModel, name_or_path},
                                    model_download_options());
    }
    fail(
        "model '{}' not found: looked in {}; HF_HUB_OFFLINE is set, so nothing is downloaded: "
        "unset it, or pass a model folder",
        name_or_path, fmt::join(looked, " and "));
  }
  fail(
      "model '{}' not found: looked in {}; pass a model folder or a Hugging Face model id "
      "(org/name)",
      name_or_path, fmt::join(looked, " and "));
}

}  // namespace embedtune
