// What every fuzz target shares: the input written to a scratch file for a path-taking reader,
// and the rule that a reader either returns or throws one embedtune::Error that is one line and
// names the file it was given. Anything else is a finding, and aborts so that libFuzzer (or the
// replay driver) reports it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

#include "io/error.h"

namespace embedtune::fuzz {

// Separates the files of a multi-file input (BEIR: corpus, queries, qrels; a vocab folder:
// vocab.txt, tokenizer_config.json). The seeds and dictionaries use it too.
inline constexpr std::string_view kFileSeparator = "\n~~~~\n";

inline std::string_view as_text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// This process's scratch folder: /dev/shm/embedtune-fuzz-PID (the temp folder when there is no
// /dev/shm), created on first use and removed at exit.
const std::filesystem::path& scratch_dir();

// Writes `bytes` to scratch_dir()/name, replacing what was there, and returns its path.
// `name` may contain a folder ("beir/corpus.jsonl"), created as needed.
std::filesystem::path write_input(const std::string& name, std::string_view bytes);

// Removes scratch_dir()/name if it exists (a file a reader treats as optional).
void remove_input(const std::string& name);

// `input` cut at the first `max_parts - 1` kFileSeparators: 1..max_parts parts, the last one
// keeping any further separators.
std::vector<std::string_view> split_input(std::string_view input, size_t max_parts);

// Prints "fuzz finding: WHAT" and aborts.
[[noreturn]] void finding(const std::string& what);

// A finding unless `message` is one line (no '\n' or '\r') naming one of `files` (a folder
// counts for the files inside it, since its path is a prefix of theirs).
void check_message(std::string_view message, std::initializer_list<std::filesystem::path> files);

// Runs `body` on a thread with a 512 KiB stack and waits for it. Readers run there, so that
// recursion that deepens with the input (a stack overflow with the usual 8 MiB on a file nested
// 100,000 deep) overflows already on inputs of a few KB, which the fuzzer and the committed
// regression inputs can hold. `body` must not throw.
void run_on_small_stack(const std::function<void()>& body);

// Aborts with `what` when `condition` is false: a broken promise of a reader's contract.
inline void require(bool condition, const char* what) {
  if (!condition) finding(std::string("contract violated: ") + what);
}

// Runs `read()` on a small stack (see run_on_small_stack). Returns true when it returned, false
// when it threw an embedtune::Error that passes check_message; any other exception is a finding.
template <typename Read>
bool run_reader(Read&& read, std::initializer_list<std::filesystem::path> files) {
  std::exception_ptr thrown;
  run_on_small_stack([&] {
    try {
      read();
    } catch (...) {
      thrown = std::current_exception();
    }
  });
  if (!thrown) return true;
  try {
    std::rethrow_exception(thrown);
  } catch (const Error& e) {
    check_message(e.what(), files);
    return false;
  } catch (const std::exception& e) {
    finding(std::string("an exception other than embedtune::Error escaped: ") + typeid(e).name() +
            ": " + e.what());
  } catch (...) {
    finding("an exception of unknown type escaped");
  }
}

}  // namespace embedtune::fuzz
