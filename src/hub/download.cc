// snapshot_download and hf_hub_download into the Hugging Face cache.
#include "hub/download.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "hub/digest.h"
#include "io/atomic_file.h"
#include "io/error.h"
#include "io/file.h"
#include "io/plural.h"

namespace embedtune::hub {
namespace fs = std::filesystem;
using nlohmann::json;
namespace {

// When the Hub cannot be reached (`failure`), as huggingface_hub: says that the cached `copy`
// stands in, and returns it.
fs::path use_cached_copy(const std::string& failure, const fs::path& copy) {
  fmt::print(stderr,
             "warning: {}; using the cached copy {} (HF_HUB_OFFLINE=1 uses it without trying the "
             "network)\n",
             failure, copy.string());
  return copy;
}

constexpr const char* kCacheDirTag =
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by huggingface_hub.\n"
    "# For information about cache directory tags, see:\n"
    "#\thttps://bford.info/cachedir/\n";

// One file of the tree listing at a commit.
struct TreeFile {
  std::string path;
  uint64_t size = 0;
  std::string blob_id;     // git SHA-1 of the file (or of its LFS pointer)
  std::string lfs_sha256;  // "" for a regular file
  uint64_t lfs_size = 0;

  // What the cache names its blob by: the LFS SHA-256, else the git SHA-1.
  const std::string& etag() const { return lfs_sha256.empty() ? blob_id : lfs_sha256; }
  uint64_t file_size() const { return lfs_sha256.empty() ? size : lfs_size; }
};

// A path inside a repository that is safe to join to a folder: relative, no "." or ".."
// component, no backslash.
void check_repo_path(const RepoRef& repo, const std::string& path) {
  bool ok = !path.empty() && path.front() != '/' && path.find('\\') == std::string::npos;
  for (size_t start = 0; ok && start <= path.size();) {
    const size_t end = std::min(path.find('/', start), path.size());
    const std::string_view part(path.data() + start, end - start);
    ok = !part.empty() && part != "." && part != "..";
    start = end + 1;
  }
  if (!ok) fail("{}: the Hub listed an unsafe file path '{}'; refusing it", repo.describe(), path);
}

std::string strip_etag(std::string etag) {
  if (etag.starts_with("W/")) etag.erase(0, 2);
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"')
    etag = etag.substr(1, etag.size() - 2);
  return etag;
}

std::string api_url(const HubSettings& settings, const RepoRef& repo) {
  return fmt::format("{}/api/{}s/{}", settings.endpoint, repo_type_name(repo.type), repo.id);
}

std::string resolve_url(const HubSettings& settings, const RepoRef& repo,
                        const std::string& revision, const std::string& path) {
  return fmt::format("{}/{}{}/resolve/{}/{}", settings.endpoint, url_prefix(repo.type), repo.id,
                     url_quote(revision, ""), url_quote(path));
}

// The next page of a paginated listing: the URL of the Link header's rel="next", or "".
std::string next_link(const std::string& link) {
  const auto rel = link.find("rel=\"next\"");
  if (rel == std::string::npos) return "";
  const auto open = link.rfind('<', rel);
  const auto close = link.find('>', open);
  if (open == std::string::npos || close == std::string::npos || close > rel) return "";
  return link.substr(open + 1, close - open - 1);
}

std::string resolve_commit(const HubSettings& settings, const RepoRef& repo,
                           const std::string& revision) {
  if (is_commit_hash(revision)) return revision;
  HttpRequest request;
  request.url = api_url(settings, repo) + "/revision/" + url_quote(revision, "");
  const std::string what = fmt::format("download {}", repo.describe());
  const HttpResponse response = hub_request(settings, request, what);
  check_response(settings, response, repo, what, revision);
  const json info = json::parse(response.body, nullptr, false);
  if (!info.is_object() || !info.contains("sha") || !info["sha"].is_string() ||
      !is_commit_hash(info["sha"].get<std::string>())) {
    fail(
        "{}: the Hub's repository information has no commit \"sha\"; is HF_ENDPOINT ({}) a "
        "Hugging Face Hub?",
        what, settings.endpoint);
  }
  return info["sha"].get<std::string>();
}

std::vector<TreeFile> list_tree(const HubSettings& settings, const RepoRef& repo,
                                const std::string& commit) {
  std::vector<TreeFile> files;
  std::string url = api_url(settings, repo) + "/tree/" + commit + "?recursive=true&expand=false";
  const std::string what = fmt::format("list the files of {}", repo.describe());
  for (int page = 0; !url.empty(); ++page) {
    HttpRequest request;
    request.url = url;
    const HttpResponse response = hub_request(settings, request, what);
    check_response(settings, response, repo, what, commit);
    const json items = json::parse(response.body, nullptr, false);
    if (!items.is_array()) fail("{}: the Hub's tree listing is not a JSON array", what);
    for (const json& item : items) {
      if (!item.is_object() || item.value("type", "") != "file") continue;
      TreeFile file;
      file.path = item.value("path", "");
      check_repo_path(repo, file.path);
      file.size = item.value("size", uint64_t{0});
      file.blob_id = item.value("oid", "");
      if (item.contains("lfs") && item["lfs"].is_object()) {
        file.lfs_sha256 = item["lfs"].value("oid", "");
        file.lfs_size = item["lfs"].value("size", file.size);
      }
      files.push_back(std::move(file));
    }
    url = next_link(response.header("link"));
  }
  return files;
}

// trees/<commit>.json as huggingface_hub's _tree_cache writes it.
void write_tree_cache(const fs::path& folder, const std::string& commit,
                      const std::vector<TreeFile>& files) {
  const fs::path path = folder / "trees" / (commit + ".json");
  if (fs::exists(path)) return;
  json listing = json::object();
  for (const TreeFile& file : files) {
    json entry = {{"size", file.size}, {"blob_id", file.blob_id}};
    if (!file.lfs_sha256.empty()) {
      entry["lfs_sha256"] = file.lfs_sha256;
      entry["lfs_size"] = file.lfs_size;
    }
    listing[file.path] = entry;
  }
  fs::create_directories(path.parent_path());
  io::write_file_atomic(path, json({{"format_version", 1}, {"files", listing}}).dump(1));
}

// The paths trees/<commit>.json lists, or nullopt when there is no readable listing.
std::optional<std::vector<std::string>> cached_tree(const fs::path& folder,
                                                    const std::string& commit) {
  const fs::path path = folder / "trees" / (commit + ".json");
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return std::nullopt;
  const json listing = json::parse(io::read_file(path), nullptr, false);
  if (!listing.is_object() || !listing.contains("files") || !listing["files"].is_object())
    return std::nullopt;
  std::vector<std::string> paths;
  for (const auto& [path_in_repo, _] : listing["files"].items()) paths.push_back(path_in_repo);
  return paths;
}

// As huggingface_hub's filter_repo_objects: a pattern ending in '/' matches the folder's files.
bool matches(std::string pattern, const std::string& path) {
  if (pattern.ends_with('/')) pattern += '*';
  return fnmatch(pattern, path);
}

// `options` with prefer_safetensors applied to a listing.
DownloadOptions for_listing(DownloadOptions options, const std::vector<std::string>& paths) {
  if (options.prefer_safetensors &&
      std::any_of(paths.begin(), paths.end(),
                  [](const std::string& p) { return p.ends_with(".safetensors"); })) {
    options.exclude.insert(options.exclude.end(), {"*.bin", "*.pt", "*.pth"});
  }
  return options;
}

bool wanted(const DownloadOptions& options, const std::string& path) {
  bool included = options.include.empty();
  for (const std::string& pattern : options.include) included = included || matches(pattern, path);
  if (!included) return false;
  for (const std::string& pattern : options.exclude) {
    if (matches(pattern, path)) return false;
  }
  return true;
}

// An exclusive flock on CACHE/.locks/<repo folder>/<etag>.lock, the lock huggingface_hub takes
// for the same blob, held for the object's life.
class BlobLock {
 public:
  BlobLock(const HubSettings& settings, const fs::path& folder, const std::string& etag) {
    const fs::path dir = settings.cache / ".locks" / folder.filename();
    fs::create_directories(dir);
    const fs::path path = dir / (etag + ".lock");
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) fail("{}: cannot open the download lock: {}", path.string(), std::strerror(errno));
    while (::flock(fd_, LOCK_EX) != 0 && errno == EINTR) {
    }
  }
  ~BlobLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  BlobLock(const BlobLock&) = delete;
  BlobLock& operator=(const BlobLock&) = delete;

 private:
  int fd_ = -1;
};

// snapshots/<commit>/<path> -> ../../blobs/<etag> (one more "../" per folder in `path`); a copy
// where the file system has no symbolic links.
void link_into_snapshot(const fs::path& folder, const std::string& commit, const std::string& path,
                        const std::string& etag) {
  const fs::path pointer = folder / "snapshots" / commit / path;
  fs::create_directories(pointer.parent_path());
  std::string target;
  for (char c : path) {
    if (c == '/') target += "../";
  }
  target = "../../" + target + "blobs/" + etag;
  std::error_code ec;
  if (fs::is_symlink(pointer, ec) && fs::read_symlink(pointer, ec) == target) return;
  fs::remove(pointer, ec);
  fs::create_symlink(target, pointer, ec);
  if (!ec) return;
  // Another process (a torchrun rank) may have made the same link meanwhile.
  std::error_code read_ec;
  if (fs::is_symlink(pointer, read_ec) && fs::read_symlink(pointer, read_ec) == target) return;
  fs::copy_file(folder / "blobs" / etag, pointer, fs::copy_options::overwrite_existing);
}

struct FileMeta {
  std::string commit, etag, location;
  std::optional<uint64_t> size;
};

// HEAD on the resolve URL, relative redirects followed, as huggingface_hub's get_hf_file_metadata.
// Returns nullopt for a file the repository lacks (recording it in .no_exist/).
std::optional<FileMeta> file_metadata(const HubSettings& settings, const RepoRef& repo,
                                      const fs::path& folder, const std::string& revision,
                                      const std::string& path) {
  HttpRequest request;
  request.method = "HEAD";
  request.url = resolve_url(settings, repo, revision, path);
  request.headers = {{"accept-encoding", "identity"}};
  const std::string what = fmt::format("download {}", path);
  const HttpResponse response = hub_request(settings, request, what);
  if (response.status == 404 && response.header("x-error-code") == "EntryNotFound") {
    const std::string commit = response.header("x-repo-commit");
    if (is_commit_hash(commit)) {
      const fs::path marker = folder / ".no_exist" / commit / path;
      fs::create_directories(marker.parent_path());
      std::ofstream(marker, std::ios::app);
    }
    return std::nullopt;
  }
  if (response.status < 200 || response.status >= 400) {
    check_response(settings, response, repo, what, revision);
  }
  FileMeta meta;
  meta.commit = response.header("x-repo-commit");
  meta.etag =
      strip_etag(response.header("x-linked-etag").empty() ? response.header("etag")
                                                          : response.header("x-linked-etag"));
  const std::string linked_size = response.header("x-linked-size");
  const std::string length = response.header("content-length");
  if (!linked_size.empty()) {
    meta.size = std::stoull(linked_size);
  } else if (response.status < 300 && !length.empty()) {
    meta.size = std::stoull(length);
  }
  std::string location = response.header("location");
  if (location.starts_with("/")) location = url_origin(request.url) + location;
  meta.location = location.empty() ? request.url : location;
  if (meta.etag.empty()) {
    fail("{}: the Hub sent no ETag for {} in {}; cannot verify or cache the file", what, path,
         repo.describe());
  }
  return meta;
}

// Downloads `url` into `incomplete`, resuming from its current size with Range, retrying
// network failures, 429 and 5xx; redirects followed, the token sent to the endpoint only.
void download_to(const HubSettings& settings, const RepoRef& repo, std::string url,
                 const fs::path& incomplete, std::optional<uint64_t> expected_size,
                 const std::string& what) {
  double wait_s = 0.25;
  std::string last_failure;
  for (int attempt = 0, redirects = 0;; ++attempt) {
    std::error_code ec;
    uint64_t offset = fs::exists(incomplete, ec) ? fs::file_size(incomplete, ec) : 0;
    if (ec) offset = 0;
    if (expected_size && offset > *expected_size) {
      fs::resize_file(incomplete, 0);
      offset = 0;
    }
    if (expected_size && offset == *expected_size && offset > 0) return;
    std::ofstream out;
    bool truncated = false;
    HttpRequest request;
    request.url = url;
    request.headers = {{"accept-encoding", "identity"}};
    if (offset > 0) request.headers.emplace_back("range", fmt::format("bytes={}-", offset));
    add_hub_headers(settings, request);
    request.on_body = [&](long status, std::string_view chunk) {
      if (!out.is_open()) {
        // A 200 to a Range request is the whole file: start again from byte 0.
        truncated = status == 200;
        out.open(incomplete, std::ios::binary | (truncated ? std::ios::trunc : std::ios::app));
        if (!out) return false;
      }
      out.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
      return static_cast<bool>(out);
    };
    HttpResponse response;
    bool failed = false;
    try {
      response = perform(request);
    } catch (const NetworkError& error) {
      failed = true;
      last_failure = error.what();
    }
    out.close();
    if (!failed && response.status >= 300 && response.status < 400 &&
        !response.header("location").empty() && ++redirects <= 10) {
      const std::string location = response.header("location");
      url = location.starts_with("/") ? url_origin(url) + location : location;
      --attempt;
      continue;
    }
    if (!failed && response.status == 416) {
      fs::resize_file(incomplete, 0, ec);  // the partial file is longer than the file now
      failed = true;
      last_failure = "HTTP 416 (range not satisfiable): the partial file was discarded";
    } else if (!failed && (response.status == 429 || response.status >= 500)) {
      failed = true;
      last_failure = fmt::format("HTTP {}", response.status);
    } else if (!failed && (response.status == 200 || response.status == 206)) {
      if (!out.is_open() && !fs::exists(incomplete)) std::ofstream(incomplete, std::ios::binary);
      const uint64_t now = fs::file_size(incomplete, ec);
      if (!expected_size || now == *expected_size) return;
      failed = true;
      last_failure = fmt::format("got {} of {} bytes", now, *expected_size);
    } else if (!failed) {
      check_response(settings, response, repo, what);
      fail("{}: unexpected HTTP {} from {}", what, response.status, url);
    }
    if (attempt >= settings.retries) {
      const uint64_t kept = fs::exists(incomplete, ec) ? fs::file_size(incomplete, ec) : 0;
      fail("{}: network failure after {} ({}); {} kept in {} and the next run resumes from there",
           what, io::counted(settings.retries, "retry", "retries"), last_failure,
           io::counted(kept, "byte"), incomplete.string());
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(wait_s));
    wait_s = std::min(wait_s * 2, 4.0);
  }
}

// Verifies `incomplete` against the etag (64 hex digits: SHA-256; 40: git SHA-1) and renames it
// to blobs/<etag>; removes it and throws Error on a mismatch.
void verify_and_store(const fs::path& incomplete, const fs::path& blob, const std::string& etag,
                      std::optional<uint64_t> size, const std::string& what) {
  const FileDigests digests = file_digests(incomplete);
  std::string got, kind;
  if (etag.size() == 64) {
    got = digests.sha256, kind = "SHA-256";
  } else if (etag.size() == 40) {
    got = digests.git_sha1, kind = "git SHA-1";
  }
  const bool size_ok = !size || digests.size == *size;
  if (!size_ok || (!kind.empty() && got != etag)) {
    std::error_code ec;
    fs::remove(incomplete, ec);
    fail(
        "{}: checksum mismatch: the Hub names the file {} ({}, {} bytes) but the {} bytes "
        "downloaded hash to {}; nothing was cached, run again",
        what, etag, kind.empty() ? "ETag" : kind, size ? std::to_string(*size) : "?", digests.size,
        got);
  }
  fs::rename(incomplete, blob);
}

void fetch_into_cache(const HubSettings& settings, const RepoRef& repo, const fs::path& folder,
                      const std::string& commit, const std::string& path,
                      const std::string& listed_etag, bool quiet) {
  const std::string what = fmt::format("download {} of {}", path, repo.describe());
  std::error_code ec;
  if (!listed_etag.empty() && fs::exists(folder / "blobs" / listed_etag, ec)) {
    link_into_snapshot(folder, commit, path, listed_etag);
    return;
  }
  const std::optional<FileMeta> meta = file_metadata(settings, repo, folder, commit, path);
  if (!meta) fail("{}: not found in {} at {}", what, repo.describe(), commit);
  fs::create_directories(folder / "blobs");
  const fs::path blob = folder / "blobs" / meta->etag;
  BlobLock lock(settings, folder, meta->etag);
  if (!fs::exists(blob, ec)) {
    if (!quiet) {
      const double size = meta->size ? static_cast<double>(*meta->size) : 0.0;
      fmt::print(stderr, "download {}: {} ({})\n", repo.id, path,
                 size >= 1e6 ? fmt::format("{:.1f} MB", size / 1e6)
                             : fmt::format("{:.1f} kB", size / 1e3));
    }
    const fs::path incomplete = folder / "blobs" / (meta->etag + ".incomplete");
    download_to(settings, repo, meta->location, incomplete, meta->size, what);
    verify_and_store(incomplete, blob, meta->etag, meta->size, what);
  }
  link_into_snapshot(folder, commit, path, meta->etag);
}

void prepare_cache(const HubSettings& settings, const fs::path& folder) {
  fs::create_directories(folder);
  std::error_code ec;
  if (!fs::exists(settings.cache / "CACHEDIR.TAG", ec)) {
    std::ofstream(settings.cache / "CACHEDIR.TAG") << kCacheDirTag;
  }
}

void write_ref(const fs::path& folder, const std::string& revision, const std::string& commit) {
  if (revision == commit) return;
  const fs::path ref = folder / "refs" / revision;
  fs::create_directories(ref.parent_path());
  std::error_code ec;
  if (fs::is_regular_file(ref, ec) && io::read_file(ref) == commit) return;
  io::write_file_atomic(ref, commit);
}

// The cached snapshot for `revision` when it holds every wanted file; otherwise nullopt with
// `why` saying what is missing.
std::optional<fs::path> cached_snapshot(const fs::path& folder, const std::string& revision,
                                        const DownloadOptions& options, std::string& why) {
  std::string commit = revision;
  std::error_code ec;
  if (!is_commit_hash(revision)) {
    const fs::path ref = folder / "refs" / revision;
    if (!fs::is_regular_file(ref, ec)) {
      why = fmt::format("no {} (never downloaded at '{}')", ref.string(), revision);
      return std::nullopt;
    }
    commit = io::read_file(ref);
    commit = commit.substr(0, commit.find_first_of("\r\n"));
  }
  const fs::path snapshot = folder / "snapshots" / commit;
  if (!is_commit_hash(commit) || !fs::is_directory(snapshot, ec)) {
    why = fmt::format("no folder {}", snapshot.string());
    return std::nullopt;
  }
  if (const auto listed = cached_tree(folder, commit)) {
    std::vector<std::string> missing;
    const DownloadOptions effective = for_listing(options, *listed);
    for (const std::string& path : *listed) {
      if (wanted(effective, path) && !fs::exists(snapshot / path, ec)) missing.push_back(path);
    }
    if (!missing.empty()) {
      why = fmt::format("{} of its files are missing from {} (first: {})", missing.size(),
                        snapshot.string(), missing.front());
      return std::nullopt;
    }
  }
  return snapshot;
}

}  // namespace

fs::path download_snapshot(const HubSettings& settings, const RepoRef& repo,
                           const DownloadOptions& options) {
  check_repo_id(repo.id, "repository");
  const fs::path folder = repo_cache_folder(settings, repo.type, repo.id);
  std::string why;
  if (settings.offline) {
    if (auto snapshot = cached_snapshot(folder, options.revision, options, why)) return *snapshot;
    fail(
        "{} at '{}': offline (HF_HUB_OFFLINE) and the cache {} has no complete copy: {}; "
        "download it with the network first (embedtune download {}{})",
        repo.describe(), options.revision, settings.cache.string(), why, repo.id,
        repo.type == RepoType::kModel ? ""
                                      : " --repo-type " + std::string(repo_type_name(repo.type)));
  }
  std::string commit;
  std::vector<TreeFile> files;
  try {
    commit = resolve_commit(settings, repo, options.revision);
    files = list_tree(settings, repo, commit);
  } catch (const UnreachableError& error) {
    // As snapshot_download: when the Hub cannot be reached, a complete cached copy will do.
    const std::string message = error.what();
    if (auto snapshot = cached_snapshot(folder, options.revision, options, why)) {
      return use_cached_copy(message, *snapshot);
    }
    fail("{}; the cache has no complete copy to use instead: {}", message, why);
  }
  prepare_cache(settings, folder);
  write_tree_cache(folder, commit, files);
  write_ref(folder, options.revision, commit);
  fs::create_directories(folder / "snapshots" / commit);
  std::size_t fetched = 0;
  std::vector<std::string> paths;
  for (const TreeFile& file : files) paths.push_back(file.path);
  const DownloadOptions effective = for_listing(options, paths);
  for (const TreeFile& file : files) {
    if (!wanted(effective, file.path)) continue;
    fetch_into_cache(settings, repo, folder, commit, file.path, file.etag(), options.quiet);
    ++fetched;
  }
  if (fetched == 0 && !files.empty()) {
    fail("{} at '{}': no file matches the patterns (include: {}; exclude: {})", repo.describe(),
         options.revision, options.include.empty() ? "*" : options.include.front(),
         options.exclude.empty() ? "none" : options.exclude.front());
  }
  return folder / "snapshots" / commit;
}

fs::path download_file(const HubSettings& settings, const RepoRef& repo,
                       const std::string& path_in_repo, const std::string& revision) {
  check_repo_id(repo.id, "repository");
  check_repo_path(repo, path_in_repo);
  const fs::path folder = repo_cache_folder(settings, repo.type, repo.id);
  std::string why;
  DownloadOptions one;
  one.revision = revision;
  one.include = {path_in_repo};
  if (settings.offline) {
    if (auto snapshot = cached_snapshot(folder, revision, one, why)) {
      std::error_code ec;
      if (fs::exists(*snapshot / path_in_repo, ec)) return *snapshot / path_in_repo;
      why = fmt::format("{} is not in {}", path_in_repo, snapshot->string());
    }
    fail("{} of {} at '{}': offline (HF_HUB_OFFLINE) and not in the cache {}: {}", path_in_repo,
         repo.describe(), revision, settings.cache.string(), why);
  }
  std::optional<FileMeta> meta;
  try {
    meta = file_metadata(settings, repo, folder, revision, path_in_repo);
  } catch (const UnreachableError& error) {
    // As hf_hub_download: when the Hub cannot be reached, the cached file will do.
    if (auto snapshot = cached_snapshot(folder, revision, one, why)) {
      std::error_code ec;
      if (fs::exists(*snapshot / path_in_repo, ec))
        return use_cached_copy(error.what(), *snapshot / path_in_repo);
      why = fmt::format("{} is not in {}", path_in_repo, snapshot->string());
    }
    fail("{}; the cache has no copy to use instead: {}", error.what(), why);
  }
  if (!meta) {
    fail("{}: not found in {} at revision '{}' on {}", path_in_repo, repo.describe(), revision,
         settings.endpoint);
  }
  if (!is_commit_hash(meta->commit)) {
    fail("download {} of {}: the Hub sent no X-Repo-Commit header", path_in_repo, repo.describe());
  }
  prepare_cache(settings, folder);
  write_ref(folder, revision, meta->commit);
  fetch_into_cache(settings, repo, folder, meta->commit, path_in_repo, meta->etag, false);
  return folder / "snapshots" / meta->commit / path_in_repo;
}

bool fnmatch(std::string_view pattern, std::string_view text) {
  // Iterative matching with one backtrack point for '*' (which also matches '/').
  size_t p = 0, t = 0, star_p = std::string_view::npos, star_t = 0;
  const auto match_class = [&](size_t& pos, char c) -> std::optional<bool> {
    // pattern[pos] == '['; returns nullopt for an unterminated class (then '[' is literal).
    size_t i = pos + 1;
    bool negate = false;
    if (i < pattern.size() && (pattern[i] == '!')) negate = true, ++i;
    bool matched = false;
    bool first = true;
    for (; i < pattern.size() && (first || pattern[i] != ']'); ++i, first = false) {
      if (i + 2 < pattern.size() && pattern[i + 1] == '-' && pattern[i + 2] != ']') {
        if (pattern[i] <= c && c <= pattern[i + 2]) matched = true;
        i += 2;
      } else if (pattern[i] == c) {
        matched = true;
      }
    }
    if (i >= pattern.size()) return std::nullopt;
    pos = i + 1;
    return matched != negate;
  };
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star_p = p++;
      star_t = t;
      continue;
    }
    if (p < pattern.size()) {
      if (pattern[p] == '?') {
        ++p, ++t;
        continue;
      }
      if (pattern[p] == '[') {
        size_t next = p;
        if (const auto hit = match_class(next, text[t])) {
          if (*hit) {
            p = next, ++t;
            continue;
          }
        } else if (text[t] == '[') {
          ++p, ++t;
          continue;
        }
      } else if (pattern[p] == text[t]) {
        ++p, ++t;
        continue;
      }
    }
    if (star_p == std::string_view::npos) return false;
    p = star_p + 1;
    t = ++star_t;
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace embedtune::hub
