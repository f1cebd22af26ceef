// Publishing a folder to the Hugging Face Hub with huggingface_hub's protocol (upload_folder
// without Xet): create the repository, preupload (which files are LFS), the LFS batch API with
// basic or multipart transfer, then one NDJSON commit.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "hub/hub_api.h"
#include "hub/hub_settings.h"

namespace embedtune::hub {

struct PushOptions {
  bool private_repo = false;  // create it private (ignored when it exists)
  std::string revision = "main";
  std::string commit_message;  // default: "Upload folder using embedtune"
  std::string commit_description;
  // Files to leave out: fnmatch patterns on paths in the folder ("checkpoint-*/" leaves out a
  // folder's files), as upload_folder's ignore_patterns.
  std::vector<std::string> exclude;
  bool quiet = false;
};

struct PushResult {
  std::string commit_url, commit_oid;
  std::size_t files = 0, lfs_files = 0, lfs_uploaded = 0;  // LFS objects the Hub lacked
};

// Uploads every file below `folder` (sorted by path parts, as upload_folder; .git/ and
// .cache/huggingface/ skipped) to `repo` in one commit, creating the repository first if needed
// (POST /api/repos/create; 409 means it exists). Throws Error: no token (before any request),
// the folder missing or empty, HTTP errors (see check_response), a network failure after the
// retries, or an LFS error the Hub reports.
PushResult upload_folder(const HubSettings& settings, const std::filesystem::path& folder,
                         const RepoRef& repo, const PushOptions& options);

// The name of the user the token belongs to (GET /api/whoami-v2), the namespace of a repository
// named without one. Throws Error without a token, or when the Hub refuses it.
std::string token_owner(const HubSettings& settings);

}  // namespace embedtune::hub
