// The Hub client's pure parts against published values: SHA-256 (FIPS 180-2's "abc" vector), git
// blob SHA-1s (what `git hash-object` prints), Python's urllib.parse.quote and fnmatch.fnmatch,
// huggingface_hub's repo id rules, cache folder names and environment variables.
#include "hub/hub_settings.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "hub/digest.h"
#include "hub/download.h"
#include "hub/http.h"
#include "io/error.h"
#include "test_support.h"

namespace embedtune::hub {
namespace {

using ::testing::HasSubstr;
using testing::ScratchDir;

TEST(Digest, Sha256AndGitBlobSha1MatchPublishedValues) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  ScratchDir dir;
  const auto hello = dir.path() / "hello.txt";
  std::ofstream(hello, std::ios::binary) << "hello\n";
  const FileDigests digests = file_digests(hello);
  EXPECT_EQ(digests.git_sha1, "ce013625030ba8dba906f756967f9e9ca394464a");  // git hash-object
  EXPECT_EQ(digests.sha256, "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03");
  EXPECT_EQ(digests.size, 6u);
  const auto empty = dir.path() / "empty";
  std::ofstream(empty, std::ios::binary).flush();
  EXPECT_EQ(file_digests(empty).git_sha1, "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
  EXPECT_THROW(file_digests(dir.path() / "absent"), Error);
}

TEST(UrlQuote, AsPythonsQuote) {
  EXPECT_EQ(url_quote("a b/\xc3\xbc.json"), "a%20b/%C3%BC.json");  // quote("a b/ü.json")
  EXPECT_EQ(url_quote("refs/pr/1", ""), "refs%2Fpr%2F1");          // quote(..., safe="")
  EXPECT_EQ(url_quote("v1.0-rc_2~x"), "v1.0-rc_2~x");
  EXPECT_EQ(url_quote("a+b&c=d?#"), "a%2Bb%26c%3Dd%3F%23");
  EXPECT_EQ(url_origin("http://127.0.0.1:8080/api/x?y"), "http://127.0.0.1:8080");
  EXPECT_EQ(url_origin("https://cdn.example/x"), "https://cdn.example");
  EXPECT_EQ(url_origin("/relative/path"), "");
}

TEST(Fnmatch, AsPythonsFnmatch) {
  // Each expectation is what fnmatch.fnmatch(text, pattern) returns on POSIX.
  EXPECT_TRUE(fnmatch("*.json", "a/b.json"));  // '*' crosses '/'
  EXPECT_TRUE(fnmatch("onnx/*", "onnx/x/model.onnx"));
  EXPECT_FALSE(fnmatch("onnx/*", "sub/onnx/model.onnx"));
  EXPECT_TRUE(fnmatch("*", ""));
  EXPECT_FALSE(fnmatch("?", "ab"));
  EXPECT_TRUE(fnmatch("??", "ab"));
  EXPECT_FALSE(fnmatch("*.bin", "x.binx"));
  EXPECT_TRUE(fnmatch("[a-c]x", "bx"));
  EXPECT_FALSE(fnmatch("[!a-c]x", "bx"));
  EXPECT_TRUE(fnmatch("[!a-c]x", "dx"));
  EXPECT_TRUE(fnmatch("tf_model*", "tf_model.h5"));
  EXPECT_TRUE(fnmatch("[", "["));  // an unterminated class is a literal '['
  EXPECT_TRUE(fnmatch("*a*b*c", "xaybzc"));
  EXPECT_FALSE(fnmatch("*a*b*c", "xaybzcd"));
}

TEST(RepoId, FollowsHuggingFaceHubRules) {
  for (const char* ok : {"org/name", "name", "BAAI/bge-base-en-v1.5", "a_b/c.d"}) {
    EXPECT_NO_THROW(check_repo_id(ok, "--model")) << ok;
  }
  for (const char* bad : {"", "a/b/c", "a--b/c", "a/..b", "-a/b", "a/b-", "a b/c", "org/näme"}) {
    try {
      check_repo_id(bad, "--model");
      ADD_FAILURE() << "accepted " << bad;
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), HasSubstr("--model")) << bad;
      EXPECT_THAT(e.what(), HasSubstr("'org/name'")) << bad;
    }
  }
  EXPECT_TRUE(looks_like_repo_id("org/name"));
  EXPECT_FALSE(looks_like_repo_id("./org/name"));
  EXPECT_FALSE(looks_like_repo_id("/abs"));
  EXPECT_FALSE(looks_like_repo_id("a/b/c"));
  EXPECT_TRUE(is_commit_hash("0123456789abcdef0123456789abcdef01234567"));
  EXPECT_FALSE(is_commit_hash("main"));
  EXPECT_FALSE(is_commit_hash("0123456789ABCDEF0123456789abcdef01234567"));
}

class Environment {
 public:
  explicit Environment(std::initializer_list<std::pair<const char*, const char*>> values) {
    for (const char* name : {"HF_ENDPOINT", "HF_HOME", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE",
                             "XDG_CACHE_HOME", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN",
                             "HF_TOKEN_PATH", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"}) {
      if (const char* old = std::getenv(name)) saved_.emplace_back(name, old);
      ::unsetenv(name);
      names_.push_back(name);
    }
    for (const auto& [name, value] : values) ::setenv(name, value, 1);
  }
  ~Environment() {
    for (const char* name : names_) ::unsetenv(name);
    for (const auto& [name, value] : saved_) ::setenv(name.c_str(), value.c_str(), 1);
  }

 private:
  std::vector<const char*> names_;
  std::vector<std::pair<std::string, std::string>> saved_;
};

TEST(HubSettings, ReadsTheVariablesAsHuggingFaceHub) {
  ScratchDir dir;
  const std::string home = (dir.path() / "hf").string();
  std::filesystem::create_directories(home);
  std::ofstream(dir.path() / "hf" / "token") << "  hf_from_file\n";
  {
    Environment env({{"HF_HOME", home.c_str()},
                     {"HF_ENDPOINT", "http://hub.local:9/"},
                     {"HF_HUB_OFFLINE", "yes"}});
    const HubSettings settings = HubSettings::from_environment();
    EXPECT_EQ(settings.endpoint, "http://hub.local:9");
    EXPECT_EQ(settings.cache, dir.path() / "hf" / "hub");
    EXPECT_EQ(settings.token, "hf_from_file");
    EXPECT_EQ(settings.bearer(), "Bearer hf_from_file");
    EXPECT_TRUE(settings.offline);
    EXPECT_EQ(repo_cache_folder(settings, RepoType::kDataset, "org/name"),
              dir.path() / "hf" / "hub" / "datasets--org--name");
  }
  {
    Environment env({{"HF_HOME", home.c_str()},
                     {"HF_TOKEN", "hf_env"},
                     {"HF_HUB_CACHE", "/elsewhere"},
                     {"TRANSFORMERS_OFFLINE", "0"}});
    const HubSettings settings = HubSettings::from_environment();
    EXPECT_EQ(settings.endpoint, "https://huggingface.co");
    EXPECT_EQ(settings.cache, "/elsewhere");
    EXPECT_EQ(settings.token, "hf_env");
    EXPECT_EQ(settings.token_source, "HF_TOKEN");
    EXPECT_FALSE(settings.offline);
  }
  {
    Environment env({{"XDG_CACHE_HOME", home.c_str()}, {"HF_TOKEN_PATH", "/no/such/token"}});
    const HubSettings settings = HubSettings::from_environment();
    EXPECT_EQ(settings.cache, dir.path() / "hf" / "huggingface" / "hub");
    EXPECT_EQ(settings.token, "");
    EXPECT_THAT(settings.token_hint(), HasSubstr("/no/such/token"));
  }
}

}  // namespace
}  // namespace embedtune::hub
