// Tokenizer throughput: encodes every line of a text file N times on one thread (after one
// warm-up pass), prints JSON.
// Usage: embedtune_tokenizer_bench TOKENIZER_DIR LINES_FILE [REPEATS=1] [MAX_LENGTH=0]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "io/error.h"
#include "tokenizer/tokenizer.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s TOKENIZER_DIR LINES_FILE [REPEATS=1] [MAX_LENGTH=0]\n",
                 argv[0]);
    return 2;
  }
  try {
    const auto tokenizer = embedtune::Tokenizer::from_folder(argv[1]);
    std::ifstream in(argv[2], std::ios::binary);
    if (!in) embedtune::fail("{}: cannot open the lines file", argv[2]);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(std::move(line));
    const int repeats = argc > 3 ? std::atoi(argv[3]) : 1;
    const size_t max_length = argc > 4 ? std::strtoul(argv[4], nullptr, 10) : 0;

    size_t tokens = 0;
    // Warm up as the Python side does: one pass (fills the per-thread BPE word cache).
    for (const std::string& line : lines) tokens += tokenizer.encode(line, max_length).size();
    tokens = 0;
    const auto start = std::chrono::steady_clock::now();
    for (int r = 0; r < repeats; ++r) {
      for (const std::string& line : lines) tokens += tokenizer.encode(line, max_length).size();
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double texts = static_cast<double>(lines.size()) * repeats;
    std::printf("{\"texts\": %.0f, \"tokens\": %zu, \"seconds\": %.6f, \"texts_per_s\": %.1f}\n",
                texts, tokens, seconds, texts / seconds);
  } catch (const embedtune::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 0;
}
