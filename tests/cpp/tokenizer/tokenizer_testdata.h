// The tokenizer tests' own helpers (the oracle's folder, its id files) on top of test_support.h.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "test_support.h"

namespace embedtune::testing {

// $EMBEDTUNE_TESTDATA/tokenizer (written by tests/python/oracle_tokenizer.py); "" with a failure
// when it is not there.
inline std::filesystem::path tokenizer_testdata() {
  try {
    return testdata_dir("tokenizer", "manifest.json");
  } catch (const std::exception& e) {
    ADD_FAILURE() << e.what();
    return {};
  }
}

inline std::string read_all(const std::filesystem::path& path) { return read_bytes(path); }

// Lines split on '\n' only (a '\r' inside a line is part of the text), without the last empty one.
inline std::vector<std::string> read_lines(const std::filesystem::path& path) {
  const std::string text = read_all(path);
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

// One line of space-separated ids per text.
inline std::vector<std::vector<int32_t>> read_expected_ids(const std::filesystem::path& path) {
  std::vector<std::vector<int32_t>> out;
  for (const std::string& line : read_lines(path)) {
    std::vector<int32_t> ids;
    const char* p = line.c_str();
    char* end = nullptr;
    for (long v = std::strtol(p, &end, 10); end != p; v = std::strtol(p, &end, 10)) {
      ids.push_back(static_cast<int32_t>(v));
      p = end;
    }
    out.push_back(std::move(ids));
  }
  return out;
}

}  // namespace embedtune::testing
