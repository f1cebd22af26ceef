// The evaluation tests' own helpers (the oracle's data, .npy -> tensor) on top of test_support.h.
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
#include "test_support.h"

namespace embedtune::evaluation::testing {

using embedtune::testing::ScratchDir;

// $EMBEDTUNE_TESTDATA/evaluation, written by tests/python/oracle_evaluation.py.
inline std::filesystem::path oracle_dir() {
  return embedtune::testing::testdata_dir("evaluation", "results.json");
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
  return embedtune::testing::read_bytes(path);
}

}  // namespace embedtune::evaluation::testing
