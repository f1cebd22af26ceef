// Downloading Hub repositories into the Hugging Face cache, laid out exactly as huggingface_hub
// lays it out, so that its own snapshot_download(local_files_only=True), transformers and
// sentence-transformers find the files:
//   CACHE/models--org--name/blobs/<etag>          the file, named by its git SHA-1 or LFS SHA-256
//   CACHE/models--org--name/snapshots/<commit>/P  a relative link to ../../blobs/<etag>
//   CACHE/models--org--name/refs/<revision>       the commit a branch or tag pointed to
//   CACHE/models--org--name/trees/<commit>.json   the file listing at that commit
//   CACHE/models--org--name/.no_exist/<commit>/P  an empty file: P is not in the repository
// A file is downloaded into blobs/<etag>.incomplete, resumed from there (Range) after a cut or
// on the next run, checked against its SHA-256 or git SHA-1, then renamed into place; a file that
// fails the check never reaches snapshots/.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "hub/hub_api.h"
#include "hub/hub_settings.h"

namespace embedtune::hub {

struct DownloadOptions {
  std::string revision = "main";
  // fnmatch-style patterns on paths in the repository ('*' matches '/' too, as in
  // huggingface_hub's filter_repo_objects). Empty include: every file.
  std::vector<std::string> include, exclude;
  bool quiet = false;  // no per-file lines on stderr
  // When the repository has .safetensors files, skip PyTorch pickles (*.bin, *.pt, *.pth).
  bool prefer_safetensors = false;
};

// snapshot_download: resolves the revision to a commit (GET /api/{type}s/{id}/revision/{rev}),
// lists its files (tree API, paginated), downloads the missing ones that pass the patterns and
// returns CACHE/{type}s--org--name/snapshots/<commit>. Offline (settings.offline), or when the Hub
// cannot be reached, returns the cached snapshot if it holds every wanted file. Throws Error for
// HTTP errors (see check_response), a checksum mismatch, a network failure with no cached copy,
// or offline mode with the files missing (naming them).
std::filesystem::path download_snapshot(const HubSettings& settings, const RepoRef& repo,
                                        const DownloadOptions& options);

// hf_hub_download: one file; returns its path in the snapshot. A file the repository lacks is
// recorded in .no_exist/ and reported as an Error naming it.
std::filesystem::path download_file(const HubSettings& settings, const RepoRef& repo,
                                    const std::string& path_in_repo, const std::string& revision);

// fnmatch as Python's fnmatch.fnmatch on POSIX: '*', '?', '[...]', '[!...]'.
bool fnmatch(std::string_view pattern, std::string_view text);

}  // namespace embedtune::hub
