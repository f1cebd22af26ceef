// Scratch files and the one-line, names-its-file check for the fuzz targets (see fuzz_support.h).
#include "fuzz_support.h"

#include <pthread.h>
#include <unistd.h>

#include <fstream>
#include <system_error>

namespace embedtune::fuzz {

const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    std::error_code ec;
    const std::filesystem::path shm = "/dev/shm";
    const std::filesystem::path base =
        std::filesystem::is_directory(shm, ec) ? shm : std::filesystem::temp_directory_path();
    std::filesystem::path path = base / ("embedtune-fuzz-" + std::to_string(::getpid()));
    std::filesystem::remove_all(path, ec);
    std::filesystem::create_directories(path);
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(scratch_dir(), ignored);
    });
    return path;
  }();
  return dir;
}

std::filesystem::path write_input(const std::string& name, std::string_view bytes) {
  const std::filesystem::path path = scratch_dir() / name;
  if (name.find('/') != std::string::npos) std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  // Not a finding about the reader: the harness itself cannot work.
  if (!out) {
    std::fprintf(stderr, "fuzz harness: cannot write %s\n", path.c_str());
    std::exit(2);
  }
  return path;
}

void remove_input(const std::string& name) {
  std::error_code ignored;
  std::filesystem::remove(scratch_dir() / name, ignored);
}

std::vector<std::string_view> split_input(std::string_view input, size_t max_parts) {
  std::vector<std::string_view> parts;
  while (parts.size() + 1 < max_parts) {
    const size_t cut = input.find(kFileSeparator);
    if (cut == std::string_view::npos) break;
    parts.push_back(input.substr(0, cut));
    input.remove_prefix(cut + kFileSeparator.size());
  }
  parts.push_back(input);
  return parts;
}

void run_on_small_stack(const std::function<void()>& body) {
  constexpr size_t kStackBytes = 512 * 1024;
  pthread_attr_t attributes;
  pthread_attr_init(&attributes);
  pthread_attr_setstacksize(&attributes, kStackBytes);
  pthread_t thread;
  auto start = [](void* argument) -> void* {
    (*static_cast<const std::function<void()>*>(argument))();
    return nullptr;
  };
  const int failed =
      pthread_create(&thread, &attributes, start, const_cast<std::function<void()>*>(&body));
  pthread_attr_destroy(&attributes);
  if (failed != 0) {
    std::fprintf(stderr, "fuzz harness: cannot start a thread (error %d)\n", failed);
    std::exit(2);
  }
  pthread_join(thread, nullptr);
}

void finding(const std::string& what) {
  std::fprintf(stderr, "fuzz finding: %s\n", what.c_str());
  std::fflush(stderr);
  std::abort();
}

void check_message(std::string_view message, std::initializer_list<std::filesystem::path> files) {
  if (message.find_first_of("\n\r") != std::string_view::npos) {
    finding("an Error message spans several lines: " + std::string(message));
  }
  for (const std::filesystem::path& file : files) {
    if (message.find(file.string()) != std::string_view::npos) return;
  }
  finding("an Error message names none of the input files: " + std::string(message));
}

}  // namespace embedtune::fuzz
