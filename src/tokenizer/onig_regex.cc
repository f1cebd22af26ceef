// OnigRegex: compile once, search with a per-thread match region.
#include "tokenizer/onig_regex.h"

#include <oniguruma.h>

#include <mutex>

#include "io/error.h"
#include "tokenizer/unicode_classes.h"

namespace embedtune {
namespace {

void initialise_oniguruma() {
  static std::once_flag once;
  std::call_once(once, [] {
    OnigEncoding encodings[] = {ONIG_ENCODING_UTF8};
    onig_initialize(encodings, 1);
  });
}

struct RegionDeleter {
  void operator()(OnigRegion* r) const { onig_region_free(r, 1); }
};

OnigRegion* thread_region() {
  thread_local std::unique_ptr<OnigRegion, RegionDeleter> region(onig_region_new());
  return region.get();
}

}  // namespace

OnigRegex::OnigRegex(std::string_view pattern, std::string_view where) {
  initialise_oniguruma();
  regex_t* regex = nullptr;
  OnigErrorInfo info;
  const auto* begin = reinterpret_cast<const OnigUChar*>(pattern.data());
  // The onig crate's Regex::new: no options, the default (Oniguruma) syntax.
  const int rc = onig_new(&regex, begin, begin + pattern.size(), ONIG_OPTION_NONE,
                          ONIG_ENCODING_UTF8, ONIG_SYNTAX_ONIGURUMA, &info);
  if (rc != ONIG_NORMAL) {
    OnigUChar message[ONIG_MAX_ERROR_MESSAGE_LEN];
    onig_error_code_to_str(message, rc, &info);
    fail("{}: the regex {:?} does not compile with Oniguruma: {}. Fix the pattern.", where,
         std::string(pattern), reinterpret_cast<const char*>(message));
  }
  regex_ = regex;
}

OnigRegex::~OnigRegex() {
  if (regex_) onig_free(static_cast<regex_t*>(regex_));
}

void OnigRegex::find_all(std::string_view text, std::vector<std::pair<size_t, size_t>>& out) const {
  auto* regex = static_cast<regex_t*>(regex_);
  OnigRegion* region = thread_region();
  const auto* begin = reinterpret_cast<const OnigUChar*>(text.data());
  const auto* end = begin + text.size();
  size_t position = 0;
  bool have_last = false;
  size_t last_match_end = 0;
  while (position <= text.size()) {
    const int r = onig_search(regex, begin, end, begin + position, end, region, ONIG_OPTION_NONE);
    if (r < 0) break;  // ONIG_MISMATCH (or an error: treated as no further match, as the crate)
    const size_t start = static_cast<size_t>(region->beg[0]);
    const size_t stop = static_cast<size_t>(region->end[0]);
    if (start == stop && have_last && last_match_end == stop) {
      // As the onig crate: an empty match where the previous one ended moves on one char.
      if (position >= text.size()) break;
      position += unicode::utf8_length(static_cast<unsigned char>(text[position]));
      continue;
    }
    out.emplace_back(start, stop);
    have_last = true;
    last_match_end = stop;
    position = stop;
    if (start == stop) {
      if (position >= text.size()) break;
      position += unicode::utf8_length(static_cast<unsigned char>(text[position]));
    }
  }
}

int OnigRegex::matched_group(std::string_view text) const {
  auto* regex = static_cast<regex_t*>(regex_);
  OnigRegion* region = thread_region();
  const auto* begin = reinterpret_cast<const OnigUChar*>(text.data());
  const auto* end = begin + text.size();
  if (onig_search(regex, begin, end, begin, end, region, ONIG_OPTION_NONE) < 0) return -1;
  for (int g = 1; g < region->num_regs; ++g) {
    if (region->beg[g] >= 0) return g;
  }
  return 0;
}

std::string OnigRegex::replace_all(std::string_view text, std::string_view content) const {
  std::vector<std::pair<size_t, size_t>> matches;
  find_all(text, matches);
  if (matches.empty()) return std::string(text);
  std::string out;
  out.reserve(text.size());
  size_t done = 0;
  for (const auto& [start, stop] : matches) {
    out.append(text.substr(done, start - done));
    out.append(content);
    done = stop;
  }
  out.append(text.substr(done));
  return out;
}

std::string OnigRegex::escape(std::string_view literal) {
  std::string out;
  // regex::escape's set of meta characters.
  for (char c : literal) {
    if (std::string_view("\\.+*?()|[]{}^$#&-~").find(c) != std::string_view::npos) {
      out.push_back('\\');
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace embedtune
