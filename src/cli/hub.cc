// `embedtune download` and `embedtune push`: a repository from the Hugging Face Hub into its
// cache, and a folder (a saved model) to the Hub.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "cli/command.h"
#include "hub/download.h"
#include "hub/upload.h"
#include "io/plural.h"

namespace embedtune::cli {
namespace {

struct DownloadArgs {
  std::string repo_id, repo_type = "model";
  hub::DownloadOptions options;
};

struct PushArgs {
  std::string folder, repo_id, repo_type = "model";
  hub::PushOptions options;
  bool include_checkpoints = false;
};

// A training output_dir's checkpoint-N folders (weights, optimizer state: several times the
// model's size) stay out of a push unless asked for, as the trainer's push_to_hub leaves them out.
void leave_out_checkpoints(PushArgs& args) {
  if (args.include_checkpoints) return;
  std::vector<std::string> found;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(args.folder, ec)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_directory(ec) && name.starts_with("checkpoint-")) found.push_back(name + "/");
  }
  if (found.empty()) return;
  std::sort(found.begin(), found.end());
  args.options.exclude.push_back("checkpoint-*/");
  fmt::print(stderr,
             "push: leaving out {} (training checkpoints, as the trainer's push_to_hub does); "
             "--include-checkpoints uploads them\n",
             fmt::join(found, ", "));
}

const Register kDownload("download", [](CLI::App& app) {
  auto args = std::make_shared<DownloadArgs>();
  CLI::App* cmd = app.add_subcommand(
      "download",
      "Download a model or dataset repository from the Hugging Face Hub into its cache "
      "(HF_HUB_CACHE, as huggingface_hub lays it out) and print the snapshot folder");
  cmd->add_option("repo_id", args->repo_id, "Repository id, e.g. BAAI/bge-base-en-v1.5")
      ->required();
  cmd->add_option("--revision", args->options.revision, "Branch, tag or commit")
      ->capture_default_str();
  cmd->add_option("--repo-type", args->repo_type, "model, dataset or space")
      ->check(CLI::IsMember({"model", "dataset", "space"}))
      ->capture_default_str();
  cmd->add_option("--include", args->options.include,
                  "Only files matching these patterns (fnmatch, e.g. '*.json')");
  cmd->add_option("--exclude", args->options.exclude, "Skip files matching these patterns");
  cmd->add_flag("--quiet", args->options.quiet, "No line per downloaded file");
  cmd->callback([args] {
    const hub::HubSettings settings = hub::HubSettings::from_environment();
    const hub::RepoRef repo{hub::parse_repo_type(args->repo_type, "--repo-type"), args->repo_id};
    const auto snapshot = hub::download_snapshot(settings, repo, args->options);
    fmt::print("{}\n", snapshot.string());
  });
});

const Register kPush("push", [](CLI::App& app) {
  auto args = std::make_shared<PushArgs>();
  CLI::App* cmd = app.add_subcommand(
      "push",
      "Upload a folder (e.g. a trained model) to a Hugging Face Hub repository in one commit, "
      "creating the repository if needed; needs a token (HF_TOKEN or `hf auth login`)");
  cmd->add_option("folder", args->folder, "Folder to upload")->required();
  cmd->add_option("repo_id", args->repo_id, "Repository id, e.g. your-name/bge-base-financial")
      ->required();
  cmd->add_flag("--private", args->options.private_repo,
                "Create the repository private (an existing one keeps its visibility)");
  cmd->add_option("--revision", args->options.revision, "Branch to commit to")
      ->capture_default_str();
  cmd->add_option("--commit-message", args->options.commit_message,
                  "Commit summary (default: \"Upload folder using embedtune\")");
  cmd->add_option("--repo-type", args->repo_type, "model, dataset or space")
      ->check(CLI::IsMember({"model", "dataset", "space"}))
      ->capture_default_str();
  cmd->add_option("--exclude", args->options.exclude,
                  "Leave out files matching these patterns (fnmatch on paths in the folder; "
                  "'logs/' leaves out a folder)");
  cmd->add_flag("--include-checkpoints", args->include_checkpoints,
                "Upload the folder's checkpoint-N folders too (left out by default)");
  cmd->add_flag("--quiet", args->options.quiet, "No line per uploaded LFS file");
  cmd->callback([args] {
    const hub::HubSettings settings = hub::HubSettings::from_environment();
    const hub::RepoRef repo{hub::parse_repo_type(args->repo_type, "--repo-type"), args->repo_id};
    leave_out_checkpoints(*args);
    const hub::PushResult result = hub::upload_folder(settings, args->folder, repo, args->options);
    fmt::print(stderr, "push: {} ({} LFS, {} uploaded) -> {}\n", io::counted(result.files, "file"),
               result.lfs_files, result.lfs_uploaded, repo.id);
    fmt::print("{}\n", result.commit_url.empty() ? result.commit_oid : result.commit_url);
  });
});

}  // namespace
}  // namespace embedtune::cli
