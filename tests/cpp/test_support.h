// What every C++ test shares: where the generated test data and the default model are, scratch
// folders, reading and writing files, and capturing embedtune::Error messages. Plain C++ (no
// LibTorch), so the sanitizer build's tests use it too.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "io/error.h"

namespace embedtune::testing {

// The value of environment variable `name`; throws (failing the test with the reason) when it
// is unset or empty. ctest sets EMBEDTUNE_TESTDATA, EMBEDTUNE_SOURCE_DIR,
// EMBEDTUNE_DEFAULT_MODEL and EMBEDTUNE_PYTHON (tests/CMakeLists.txt).
inline std::string required_env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') {
    throw std::runtime_error(std::string(name) +
                             " is not set; run the tests through ctest (make test)");
  }
  return value;
}

// $EMBEDTUNE_TESTDATA/<part>, written by tests/python/oracle_<part>.py; throws when `marker`
// (a file the oracle writes) is missing there.
inline std::filesystem::path testdata_dir(std::string_view part, std::string_view marker) {
  const std::filesystem::path dir =
      std::filesystem::path(required_env("EMBEDTUNE_TESTDATA")) / std::string(part);
  if (!std::filesystem::exists(dir / std::string(marker))) {
    throw std::runtime_error((dir / std::string(marker)).string() +
                             " is missing; the make_testdata fixture (tests/python/oracle_" +
                             std::string(part) + ".py) must run first");
  }
  return dir;
}

// The repository's root ($EMBEDTUNE_SOURCE_DIR).
inline std::filesystem::path source_dir() { return required_env("EMBEDTUNE_SOURCE_DIR"); }

// The default model folder, all-MiniLM-L6-v2 ($EMBEDTUNE_DEFAULT_MODEL).
inline std::filesystem::path default_model_dir() {
  const std::filesystem::path dir = required_env("EMBEDTUNE_DEFAULT_MODEL");
  if (!std::filesystem::exists(dir / "model.safetensors"))
    throw std::runtime_error(dir.string() + " has no model.safetensors; run scripts/setup.sh");
  return dir;
}

inline std::string read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Writes `bytes` to `path` exactly, creating its folder.
inline void write_bytes(const std::filesystem::path& path, std::string_view bytes) {
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

// A fresh folder under the system temp folder, removed with everything in it at scope exit.
class ScratchDir {
 public:
  ScratchDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("embedtune_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
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
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

  // Writes `bytes` to path()/name and returns that path.
  std::filesystem::path write(const std::string& name, std::string_view bytes) const {
    write_bytes(path_ / name, bytes);
    return path_ / name;
  }

 private:
  std::filesystem::path path_;
};

// A fresh folder that lasts until the test program ends (removed then), for tests that hand a
// folder to helpers.
inline std::filesystem::path lasting_scratch_dir() {
  static std::vector<std::unique_ptr<ScratchDir>> dirs;
  dirs.push_back(std::make_unique<ScratchDir>());
  return dirs.back()->path();
}

// A test fixture owning a ScratchDir as `dir_`, with write() and read() into it.
class ScratchDirTest : public ::testing::Test {
 protected:
  std::filesystem::path write(const std::string& name, std::string_view bytes) const {
    return scratch_.write(name, bytes);
  }
  std::string read(const std::filesystem::path& path) const { return read_bytes(path); }

  ScratchDir scratch_;
  const std::filesystem::path& dir_ = scratch_.path();
};

// The message of the embedtune::Error `body` throws; "" with a test failure when it throws none.
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

}  // namespace embedtune::testing
