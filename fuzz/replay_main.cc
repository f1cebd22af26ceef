// The replay driver: runs a fuzz target's LLVMFuzzerTestOneInput once on every file of the
// folders (or files) named on the command line, without libFuzzer, so `make test` can replay the
// seed corpus and the regression inputs with gcc's ASan + UBSan. A crash, a sanitizer report or a
// fuzz finding aborts (the test fails, naming the input). A folder that does not exist is skipped
// (a target without findings has no regressions/ folder); no input at all is a failure.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

// A huge allocation is a finding here as under libFuzzer (-malloc_limit_mb): ASan reports
// allocation-size-too-big and aborts instead of returning memory.
extern "C" const char* __asan_default_options() {
  return "max_allocation_size_mb=1024:allocator_may_return_null=0";
}

int main(int argc, char** argv) {
  std::vector<std::filesystem::path> inputs;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path arg = argv[i];
    if (std::filesystem::is_directory(arg)) {
      std::vector<std::filesystem::path> files;
      for (const auto& entry : std::filesystem::directory_iterator(arg)) {
        if (entry.is_regular_file()) files.push_back(entry.path());
      }
      std::sort(files.begin(), files.end());
      inputs.insert(inputs.end(), files.begin(), files.end());
    } else if (std::filesystem::is_regular_file(arg)) {
      inputs.push_back(arg);
    } else {
      std::fprintf(stderr, "replay: %s: absent, skipped\n", arg.c_str());
    }
  }
  if (inputs.empty()) {
    std::fprintf(stderr,
                 "replay: no input files in the folders given; add seed files to the "
                 "target's fuzz/corpus/<name>/\n");
    return 2;
  }
  for (const auto& path : inputs) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "replay: %s: cannot read\n", path.c_str());
      return 2;
    }
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // Printed first, so that a crash is followed by the name of the input that caused it.
    std::fprintf(stderr, "replay: %s\n", path.c_str());
    LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  }
  std::printf("replay: %zu inputs, no finding\n", inputs.size());
  return 0;
}
