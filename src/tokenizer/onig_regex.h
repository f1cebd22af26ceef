// OnigRegex: a compiled Oniguruma pattern, matched as Hugging Face `tokenizers` matches its
// SysRegex (the `onig` crate over the same Oniguruma 6.9 that Debian ships as libonig).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace embedtune {

class OnigRegex {
 public:
  // Compiles `pattern` (Oniguruma syntax, UTF-8). Throws embedtune::Error with `where` (file and
  // key) and Oniguruma's message when it does not compile.
  OnigRegex(std::string_view pattern, std::string_view where);
  ~OnigRegex();
  OnigRegex(const OnigRegex&) = delete;
  OnigRegex& operator=(const OnigRegex&) = delete;

  // Appends the byte ranges [start, end) of the successive non-overlapping matches in `text`, as
  // the onig crate's find_iter yields them (an empty match right after the previous match is
  // skipped by one char). Thread-safe.
  void find_all(std::string_view text, std::vector<std::pair<size_t, size_t>>& out) const;

  // The index of the first capture group that took part in the leftmost match in `text` (0 when
  // none did), or -1 when nothing matches. Thread-safe.
  int matched_group(std::string_view text) const;

  // `text` with every match replaced by `content`.
  std::string replace_all(std::string_view text, std::string_view content) const;

  // The pattern matching `literal` exactly (as regex::escape then compiled).
  static std::string escape(std::string_view literal);

 private:
  void* regex_ = nullptr;  // regex_t*; void keeps oniguruma.h out of this header
};

}  // namespace embedtune
