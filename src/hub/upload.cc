// create_repo, preupload, LFS batch/basic/multipart, commit.
#include "hub/upload.h"

#include <openssl/evp.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <vector>

#include "hub/digest.h"
#include "hub/download.h"
#include "io/error.h"
#include "io/file.h"

namespace embedtune::hub {
namespace fs = std::filesystem;
using nlohmann::json;
namespace {

struct LocalFile {
  fs::path absolute;
  std::string path_in_repo;
  std::vector<std::string> parts;  // path_in_repo split at '/', the upload order's key
  FileDigests digests;
  std::string upload_mode = "regular";
  bool ignore = false;
};

std::string base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                      reinterpret_cast<const unsigned char*>(bytes.data()),
                                      static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(written));
  return out;
}

std::string read_range(const fs::path& path, uint64_t offset, uint64_t length) {
  std::ifstream in(path, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(offset));
  std::string bytes(length, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(length));
  if (static_cast<uint64_t>(in.gcount()) != length) {
    fail("{}: could not read bytes {}..{}; did the file change during the upload?", path.string(),
         offset, offset + length);
  }
  return bytes;
}

// As huggingface_hub's DEFAULT_IGNORE_PATTERNS: .git and .cache/huggingface at any depth.
bool ignored_by_default(const std::vector<std::string>& parts) {
  for (size_t i = 0; i < parts.size(); ++i) {
    if (parts[i] == ".git") return true;
    if (parts[i] == ".cache" && i + 1 < parts.size() && parts[i + 1] == "huggingface") return true;
  }
  return false;
}

bool excluded(const std::vector<std::string>& patterns, const std::string& path) {
  for (std::string pattern : patterns) {
    if (pattern.ends_with('/')) pattern += '*';
    if (fnmatch(pattern, path)) return true;
  }
  return false;
}

std::vector<LocalFile> list_folder(const fs::path& folder,
                                   const std::vector<std::string>& exclude) {
  std::error_code ec;
  if (!fs::is_directory(folder, ec)) {
    fail("{}: not a folder; push uploads a folder (a saved model, a dataset)", folder.string());
  }
  std::vector<LocalFile> files;
  for (auto it = fs::recursive_directory_iterator(
           folder, fs::directory_options::follow_directory_symlink, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;  // follows links to files, as Path.is_file
    LocalFile file;
    file.absolute = it->path();
    file.path_in_repo = it->path().lexically_relative(folder).generic_string();
    for (size_t start = 0; start <= file.path_in_repo.size();) {
      const size_t end = std::min(file.path_in_repo.find('/', start), file.path_in_repo.size());
      file.parts.push_back(file.path_in_repo.substr(start, end - start));
      start = end + 1;
    }
    if (ignored_by_default(file.parts) || excluded(exclude, file.path_in_repo)) continue;
    files.push_back(std::move(file));
  }
  if (ec) fail("{}: cannot list the folder: {}", folder.string(), ec.message());
  // sorted(folder.glob("**/*")) compares paths part by part.
  std::sort(files.begin(), files.end(),
            [](const LocalFile& a, const LocalFile& b) { return a.parts < b.parts; });
  if (files.empty()) fail("{}: the folder has no files to push", folder.string());
  return files;
}

json post_json(const HubSettings& settings, const RepoRef& repo, const std::string& url,
               const json& body, const std::string& what,
               const std::string& content_type = "application/json") {
  HttpRequest request;
  request.method = "POST";
  request.url = url;
  request.body = body.dump();
  request.headers = {{"content-type", content_type}};
  if (content_type != "application/json") request.headers.emplace_back("accept", content_type);
  const HttpResponse response = hub_request(settings, request, what);
  check_response(settings, response, repo, what);
  return json::parse(response.body, nullptr, false);
}

// As upload_folder: a README.md's metadata is checked by the Hub before anything is hashed or sent,
// so a broken model card fails the push at once.
void validate_readme(const HubSettings& settings, const RepoRef& repo,
                     const std::vector<LocalFile>& files) {
  for (const LocalFile& file : files) {
    if (file.path_in_repo != "README.md") continue;
    HttpRequest request;
    request.method = "POST";
    request.url = settings.endpoint + "/api/validate-yaml";
    request.body =
        json({{"content", io::read_file(file.absolute)}, {"repoType", repo_type_name(repo.type)}})
            .dump();
    request.headers = {{"content-type", "application/json"}};
    const std::string what = fmt::format("push: {}", file.absolute.string());
    const HttpResponse response = hub_request(settings, request, what);
    if (response.status == 400) {
      const json answer = json::parse(response.body, nullptr, false);
      std::string message;
      if (answer.is_object() && answer.contains("errors") && answer["errors"].is_array()) {
        for (const json& error : answer["errors"]) {
          if (!message.empty()) message += "; ";
          message += error.is_object() ? error.value("message", "") : error.dump();
        }
      }
      fail("{}: the Hub refuses its metadata (the YAML between the '---' lines): {}; fix it", what,
           message.empty() ? response_message(response) : message);
    }
    check_response(settings, response, repo, what);
  }
}

void create_repo(const HubSettings& settings, const RepoRef& repo, bool private_repo) {
  const auto slash = repo.id.find('/');
  json payload = {{"name", slash == std::string::npos ? repo.id : repo.id.substr(slash + 1)},
                  {"organization",
                   slash == std::string::npos ? json(nullptr) : json(repo.id.substr(0, slash))}};
  if (private_repo) payload["visibility"] = "private";
  if (repo.type != RepoType::kModel) payload["type"] = repo_type_name(repo.type);
  HttpRequest request;
  request.method = "POST";
  request.url = settings.endpoint + "/api/repos/create";
  request.body = payload.dump();
  request.headers = {{"content-type", "application/json"}};
  const std::string what = fmt::format("push: create {}", repo.describe());
  const HttpResponse response = hub_request(settings, request, what);
  if (response.status == 409) return;  // it exists
  check_response(settings, response, repo, what);
}

void fetch_upload_modes(const HubSettings& settings, const RepoRef& repo,
                        const std::string& revision, std::vector<LocalFile>& files) {
  const std::string url = fmt::format("{}/api/{}s/{}/preupload/{}", settings.endpoint,
                                      repo_type_name(repo.type), repo.id, url_quote(revision, ""));
  for (size_t begin = 0; begin < files.size(); begin += 256) {
    const size_t end = std::min(files.size(), begin + 256);
    json list = json::array();
    for (size_t i = begin; i < end; ++i) {
      const uint64_t sample_size = std::min<uint64_t>(512, files[i].digests.size);
      list.push_back({{"path", files[i].path_in_repo},
                      {"sample", base64(read_range(files[i].absolute, 0, sample_size))},
                      {"size", files[i].digests.size}});
    }
    const json answer = post_json(settings, repo, url, {{"files", list}}, "push: preupload");
    if (!answer.is_object() || !answer.contains("files") || !answer["files"].is_array()) {
      fail("push: preupload: the Hub's answer has no \"files\" list");
    }
    for (const json& item : answer["files"]) {
      const std::string path = item.value("path", "");
      for (size_t i = begin; i < end; ++i) {
        if (files[i].path_in_repo != path) continue;
        files[i].upload_mode = item.value("uploadMode", "regular");
        files[i].ignore = item.value("shouldIgnore", false);
      }
    }
  }
  for (LocalFile& file : files) {
    if (file.digests.size == 0) file.upload_mode = "regular";  // as huggingface_hub
  }
}

void put(const HubSettings& settings, const std::string& url, std::string body,
         const std::string& what, std::string* etag = nullptr) {
  HttpRequest request;
  request.method = "PUT";
  request.url = url;
  request.body = std::move(body);
  const HttpResponse response = hub_request(settings, request, what, /*follow_relative=*/false);
  if (response.status < 200 || response.status >= 300) {
    fail("{}: the storage server answered HTTP {}: {}", what, response.status,
         response_message(response));
  }
  if (etag) *etag = response.header("etag");
}

// Uploads the LFS objects the Hub lacks; returns how many were sent.
std::size_t upload_lfs(const HubSettings& settings, const RepoRef& repo,
                       const std::string& revision, const std::vector<LocalFile*>& lfs_files,
                       bool quiet) {
  std::size_t uploaded = 0;
  const std::string batch_url = fmt::format("{}/{}{}.git/info/lfs/objects/batch", settings.endpoint,
                                            url_prefix(repo.type), repo.id);
  for (size_t begin = 0; begin < lfs_files.size(); begin += 256) {
    const size_t end = std::min(lfs_files.size(), begin + 256);
    json objects = json::array();
    for (size_t i = begin; i < end; ++i) {
      objects.push_back(
          {{"oid", lfs_files[i]->digests.sha256}, {"size", lfs_files[i]->digests.size}});
    }
    json payload = {{"operation", "upload"},
                    {"transfers", {"basic", "multipart"}},
                    {"objects", objects},
                    {"hash_algo", "sha256"}};
    payload["ref"] = {{"name", revision}};
    const json answer = post_json(settings, repo, batch_url, payload, "push: LFS batch",
                                  "application/vnd.git-lfs+json");
    if (!answer.is_object() || !answer.contains("objects") || !answer["objects"].is_array()) {
      fail("push: LFS batch: the Hub's answer has no \"objects\" list");
    }
    for (const json& object : answer["objects"]) {
      const std::string oid = object.value("oid", "");
      const auto file_it = std::find_if(lfs_files.begin() + begin, lfs_files.begin() + end,
                                        [&](LocalFile* f) { return f->digests.sha256 == oid; });
      if (file_it == lfs_files.begin() + end) continue;
      const LocalFile& file = **file_it;
      const std::string what = fmt::format("push: upload {}", file.path_in_repo);
      if (object.contains("error")) {
        fail("{}: the Hub's LFS server refused it: {}", what, object["error"].dump());
      }
      if (!object.contains("actions") || !object["actions"].is_object()) continue;  // stored
      const json& actions = object["actions"];
      if (!quiet) {
        fmt::print(stderr, "push {}: {} ({:.1f} MB, LFS)\n", repo.id, file.path_in_repo,
                   static_cast<double>(file.digests.size) / 1e6);
      }
      const json& upload = actions.value("upload", json::object());
      const std::string href = upload.value("href", "");
      const json header = upload.value("header", json::object());
      if (header.contains("chunk_size")) {
        // Multipart: numbered part URLs, each PUT a chunk, then the completion POST.
        const uint64_t chunk = header["chunk_size"].is_string()
                                   ? std::stoull(header["chunk_size"].get<std::string>())
                                   : header["chunk_size"].get<uint64_t>();
        std::vector<std::pair<int, std::string>> parts;
        for (const auto& [key, value] : header.items()) {
          if (!key.empty() && std::all_of(key.begin(), key.end(), ::isdigit)) {
            parts.emplace_back(std::stoi(key), value.get<std::string>());
          }
        }
        std::sort(parts.begin(), parts.end());
        json done = json::array();
        for (size_t index = 0; index < parts.size(); ++index) {
          const uint64_t offset = index * chunk;
          const uint64_t length =
              std::min(chunk, file.digests.size - std::min(offset, file.digests.size));
          std::string etag;
          put(settings, parts[index].second, read_range(file.absolute, offset, length), what,
              &etag);
          done.push_back({{"partNumber", parts[index].first}, {"etag", etag}});
        }
        post_json(settings, repo, href, {{"oid", oid}, {"parts", done}}, what);
      } else {
        put(settings, href, read_range(file.absolute, 0, file.digests.size), what);
      }
      if (actions.contains("verify")) {
        const std::string verify = actions["verify"].value("href", "");
        post_json(settings, repo, verify, {{"oid", oid}, {"size", file.digests.size}},
                  what + " (verify)");
      }
      ++uploaded;
    }
  }
  return uploaded;
}

}  // namespace

std::string token_owner(const HubSettings& settings) {
  if (settings.token.empty()) fail("Hub: no Hugging Face token; {}", settings.token_hint());
  HttpRequest request;
  request.url = settings.endpoint + "/api/whoami-v2";
  const std::string what = "Hub: who owns the token (whoami)";
  const HttpResponse response = hub_request(settings, request, what);
  if (response.status == 401 || response.status == 403) {
    fail("{}: HTTP {} from {}; {}", what, response.status, settings.endpoint,
         settings.token_hint());
  }
  const json answer = json::parse(response.body, nullptr, false);
  if (response.status != 200 || !answer.is_object() || !answer.contains("name") ||
      !answer["name"].is_string()) {
    fail("{}: the Hub answered HTTP {} without a user name; name the repository as org/name", what,
         response.status);
  }
  return answer["name"].get<std::string>();
}

PushResult upload_folder(const HubSettings& settings, const fs::path& folder, const RepoRef& repo,
                         const PushOptions& options) {
  check_repo_id(repo.id, "push");
  std::vector<LocalFile> files = list_folder(folder, options.exclude);
  if (settings.token.empty()) {
    fail("push {}: no Hugging Face token; {}", repo.id, settings.token_hint());
  }
  if (settings.offline) {
    fail("push {}: offline (HF_HUB_OFFLINE is set); unset it to publish", repo.id);
  }
  validate_readme(settings, repo, files);
  // The commit names LFS files by SHA-256; regular files travel whole, so no git SHA-1 is needed.
  for (LocalFile& file : files) file.digests = file_digests(file.absolute, /*with_git_sha1=*/false);

  create_repo(settings, repo, options.private_repo);
  fetch_upload_modes(settings, repo, options.revision, files);
  std::vector<LocalFile*> lfs_files;
  for (LocalFile& file : files) {
    if (!file.ignore && file.upload_mode == "lfs") lfs_files.push_back(&file);
  }
  PushResult result;
  result.lfs_uploaded = upload_lfs(settings, repo, options.revision, lfs_files, options.quiet);

  // The NDJSON commit, lines as huggingface_hub's _prepare_commit_payload writes them.
  const std::string summary =
      options.commit_message.empty() ? "Upload folder using embedtune" : options.commit_message;
  std::string ndjson =
      json({{"key", "header"},
            {"value", {{"summary", summary}, {"description", options.commit_description}}}})
          .dump() +
      "\n";
  for (const LocalFile& file : files) {
    if (file.ignore) continue;
    ++result.files;
    if (file.upload_mode == "lfs") {
      ++result.lfs_files;
      ndjson += json({{"key", "lfsFile"},
                      {"value",
                       {{"path", file.path_in_repo},
                        {"algo", "sha256"},
                        {"oid", file.digests.sha256},
                        {"size", file.digests.size}}}})
                    .dump() +
                "\n";
    } else {
      ndjson += json({{"key", "file"},
                      {"value",
                       {{"content", base64(read_range(file.absolute, 0, file.digests.size))},
                        {"path", file.path_in_repo},
                        {"encoding", "base64"}}}})
                    .dump() +
                "\n";
    }
  }
  HttpRequest request;
  request.method = "POST";
  request.url = fmt::format("{}/api/{}s/{}/commit/{}", settings.endpoint, repo_type_name(repo.type),
                            repo.id, url_quote(options.revision, ""));
  request.body = std::move(ndjson);
  request.headers = {{"content-type", "application/x-ndjson"}};
  const std::string what = fmt::format("push: commit to {}", repo.describe());
  const HttpResponse response = hub_request(settings, request, what);
  check_response(settings, response, repo, what, options.revision);
  const json answer = json::parse(response.body, nullptr, false);
  if (answer.is_object()) {
    result.commit_url = answer.value("commitUrl", "");
    result.commit_oid = answer.value("commitOid", "");
  }
  return result;
}

}  // namespace embedtune::hub
