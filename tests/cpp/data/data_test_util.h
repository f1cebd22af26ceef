// Helpers for the data tests: a fresh temporary folder per test and small file writers.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <string_view>

#include "io/error.h"

namespace embedtune::data::testing {

// A test fixture owning an empty folder under the system temp dir, removed afterwards.
class TempDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::random_device random;
    dir_ = std::filesystem::temp_directory_path() /
           (std::string("embedtune_data_") + info->test_suite_name() + "_" + info->name() + "_" +
            std::to_string(random()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // Writes `bytes` to dir/name exactly (binary) and returns its path.
  std::filesystem::path write(const std::string& name, std::string_view bytes) const {
    const std::filesystem::path path = dir_ / name;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::binary);
    out << bytes;
    return path;
  }

  std::string read(const std::filesystem::path& path) const {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    return bytes.str();
  }

  std::filesystem::path dir_;
};

// Runs `body` and returns the message of the embedtune::Error it throws ("" when none is thrown;
// the EXPECT below then fails with that).
template <typename F>
std::string error_of(F&& body) {
  try {
    body();
  } catch (const embedtune::Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected embedtune::Error, nothing was thrown";
  return "";
}

}  // namespace embedtune::data::testing
