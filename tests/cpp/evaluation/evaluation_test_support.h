// Helpers for the evaluation tests: the oracle's data folder, .npy -> tensor, scratch folders.
#pragma once

#include <ATen/ATen.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "io/json.h"
#include "io/npy.h"

namespace embedtune::evaluation::testing {

// $EMBEDTUNE_TESTDATA/evaluation, written by tests/python/oracle_evaluation.py. Throws (failing
// the test with the reason) when the variable or the oracle's output is missing.
inline std::filesystem::path oracle_dir() {
  const char* root = std::getenv("EMBEDTUNE_TESTDATA");
  if (root == nullptr || *root == '\0') {
    throw std::runtime_error("EMBEDTUNE_TESTDATA is not set; run the tests through ctest");
  }
  std::filesystem::path dir = std::filesystem::path(root) / "evaluation";
  if (!std::filesystem::exists(dir / "results.json")) {
    throw std::runtime_error(dir.string() +
                             "/results.json is missing; the make_testdata fixture "
                             "(tests/python/oracle_evaluation.py) must run first");
  }
  return dir;
}

// A float32 .npy file as a (N, D) tensor, read with io::read_npy.
inline at::Tensor load_npy_f32(const std::filesystem::path& path) {
  const io::NpyArray a = io::read_npy(path);
  if (a.descr != "<f4")
    throw std::runtime_error(path.string() + ": expected <f4, found " + a.descr);
  at::Tensor t = at::empty(a.shape, at::kFloat);
  std::memcpy(t.data_ptr<float>(), a.bytes.data(), a.bytes.size());
  return t;
}

struct OracleData {
  at::Tensor queries, corpus;
  std::vector<std::string> query_ids, corpus_ids;
  std::map<std::string, std::set<std::string>> relevant;
  std::vector<int64_t> dims;
};

inline OracleData load_oracle_data() {
  const auto dir = oracle_dir();
  OracleData d;
  d.queries = load_npy_f32(dir / "queries.npy");
  d.corpus = load_npy_f32(dir / "corpus.npy");
  const nlohmann::json ids = io::read_json_file(dir / "ids.json");
  d.query_ids = ids.at("query_ids").get<std::vector<std::string>>();
  d.corpus_ids = ids.at("corpus_ids").get<std::vector<std::string>>();
  for (const auto& [q, docs] : ids.at("relevant_docs").items()) {
    d.relevant[q] = docs.get<std::set<std::string>>();
  }
  d.dims = ids.at("dims").get<std::vector<int64_t>>();
  return d;
}

// ST's results in file order (nlohmann::ordered_json keeps it).
inline std::vector<std::pair<std::string, double>> load_expected(
    const std::filesystem::path& path, nlohmann::ordered_json* whole = nullptr) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  const auto json = nlohmann::ordered_json::parse(in);
  std::vector<std::pair<std::string, double>> out;
  for (const auto& [k, v] : json.at("results").items()) out.emplace_back(k, v.get<double>());
  if (whole != nullptr) *whole = json;
  return out;
}

inline std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A fresh folder under the system temp folder, removed at scope exit.
class ScratchDir {
 public:
  ScratchDir() {
    static int counter = 0;
    path_ = std::filesystem::temp_directory_path() /
            ("embedtune_eval_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace embedtune::evaluation::testing
