// The pre-tokenizer components, each mirroring one `tokenizers` pre-tokenizer, on top of one
// split routine shaped like NormalizedString::split (pattern matches -> behaviour -> pieces).
#include "tokenizer/pre_tokenizers.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>

#include "tokenizer/bert_pre_tokenizer.h"
#include "tokenizer/onig_regex.h"
#include "tokenizer/unicode_classes.h"

namespace embedtune {
namespace {

struct Match {
  size_t start, end;
  bool flag;  // find_matches: is a match; after the behaviour: is removed
};

// tokenizers' Pattern for Fn(char) -> bool: each matching char is a match of its own.
template <typename Predicate>
void find_char_matches(std::string_view text, Predicate is_match, std::vector<Match>& out) {
  if (text.empty()) {
    out.push_back({0, 0, false});
    return;
  }
  size_t last = 0;
  for (size_t i = 0; i < text.size();) {
    const size_t start = i;
    const char32_t cp = unicode::decode_utf8(text, i);
    if (is_match(cp)) {
      if (last < start) out.push_back({last, start, false});
      out.push_back({start, i, true});
      last = i;
    }
  }
  if (last < text.size()) out.push_back({last, text.size(), false});
}

// tokenizers' Pattern for a regex.
void find_regex_matches(const OnigRegex& regex, std::string_view text, std::vector<Match>& out) {
  if (text.empty()) {
    out.push_back({0, 0, false});
    return;
  }
  thread_local std::vector<std::pair<size_t, size_t>> found;
  found.clear();
  regex.find_all(text, found);
  size_t previous = 0;
  for (const auto& [start, end] : found) {
    if (previous != start) out.push_back({previous, start, false});
    out.push_back({start, end, true});
    previous = end;
  }
  if (previous != text.size()) out.push_back({previous, text.size(), false});
}

// NormalizedString::split: applies `behavior` to `matches`, then appends the kept, non-empty
// pieces of `piece` to `out`.
void emit_split(const PreToken& piece, std::vector<Match>& matches, SplitBehavior behavior,
                std::vector<PreToken>& out) {
  std::vector<Match> splits;
  splits.reserve(matches.size());
  switch (behavior) {
    case SplitBehavior::kIsolated:
      for (Match m : matches) splits.push_back({m.start, m.end, false});
      break;
    case SplitBehavior::kRemoved:
      splits = matches;
      break;
    case SplitBehavior::kContiguous: {
      bool previous = false;
      for (const Match& m : matches) {
        if (m.flag == previous && !splits.empty()) {
          splits.back().end = m.end;
        } else {
          splits.push_back({m.start, m.end, false});
        }
        previous = m.flag;
      }
      break;
    }
    case SplitBehavior::kMergedWithPrevious: {
      bool previous = false;
      for (const Match& m : matches) {
        if (m.flag && !previous && !splits.empty()) {
          splits.back().end = m.end;
        } else {
          splits.push_back({m.start, m.end, false});
        }
        previous = m.flag;
      }
      break;
    }
    case SplitBehavior::kMergedWithNext: {
      bool previous = false;
      for (size_t k = matches.size(); k-- > 0;) {
        const Match& m = matches[k];
        if (m.flag && !previous && !splits.empty()) {
          splits.back().start = m.start;
        } else {
          splits.push_back({m.start, m.end, false});
        }
        previous = m.flag;
      }
      std::reverse(splits.begin(), splits.end());
      break;
    }
  }
  for (const Match& s : splits) {
    if (s.flag || s.end == s.start) continue;
    out.push_back({piece.text.substr(s.start, s.end - s.start), piece.at_start && s.start == 0});
  }
}

// Runs `split_one(piece, out)` on every piece.
template <typename F>
void split_all(std::vector<PreToken>& pieces, F split_one) {
  std::vector<PreToken> out;
  out.reserve(pieces.size() * 2);
  for (const PreToken& piece : pieces) split_one(piece, out);
  pieces.swap(out);
}

bool is_whitespace(char32_t cp) { return unicode::char_flags(cp) & unicode::kIsWhitespace; }

// pre_tokenizers/bert.rs (the fast BERT routine of bert_pre_tokenizer.h).
class BertPreTokenizerComponent final : public PreTokenizer {
 public:
  void pre_tokenize(std::vector<PreToken>& pieces) const override {
    split_all(pieces, [](const PreToken& piece, std::vector<PreToken>& out) {
      thread_local std::vector<std::string_view> words;
      words.clear();
      bert_pre_tokenize(piece.text, words);
      for (std::string_view w : words) {
        out.push_back({std::string(w), piece.at_start && w.data() == piece.text.data()});
      }
    });
  }
  std::string describe() const override { return "BertPreTokenizer"; }
};

// pre_tokenizers/whitespace.rs Whitespace: the runs of \w+ and of [^\w\s]+; whitespace dropped.
class Whitespace final : public PreTokenizer {
 public:
  void pre_tokenize(std::vector<PreToken>& pieces) const override {
    split_all(pieces, [](const PreToken& piece, std::vector<PreToken>& out) {
      const std::string_view text = piece.text;
      int run = -1;  // 0: word run, 1: other-non-space run
      size_t run_start = 0;
      for (size_t i = 0; i <= text.size();) {
        int kind = 2;  // whitespace or end
        size_t next = i;
        if (i < text.size()) {
          const char32_t cp = unicode::decode_utf8(text, next);
          kind = unicode::is_regex_word_char(cp) ? 0 : is_whitespace(cp) ? 2 : 1;
        } else {
          next = i + 1;
        }
        if (kind != run) {
          if (run == 0 || run == 1) {
            out.push_back({std::string(text.substr(run_start, i - run_start)),
                           piece.at_start && run_start == 0});
          }
          run = kind;
          run_start = i;
        }
        i = next;
      }
    });
  }
  std::string describe() const override { return "Whitespace"; }
};

// pre_tokenizers/whitespace.rs WhitespaceSplit.
class WhitespaceSplit final : public PreTokenizer {
 public:
  void pre_tokenize(std::vector<PreToken>& pieces) const override {
    split_all(pieces, [](const PreToken& piece, std::vector<PreToken>& out) {
      const std::string_view text = piece.text;
      size_t word_start = std::string_view::npos;
      for (size_t i = 0; i < text.size();) {
        const size_t start = i;
        const unsigned char b = static_cast<unsigned char>(text[i]);
        bool space;
        if (b < 0x80) {
          space = b == ' ' || (b >= 0x09 && b <= 0x0D);
          ++i;
        } else {
          space = is_whitespace(unicode::decode_utf8(text, i));
        }
        if (space) {
          if (word_start != std::string_view::npos) {
            out.push_back({std::string(text.substr(word_start, start - word_start)),
                           piece.at_start && word_start == 0});
            word_start = std::string_view::npos;
          }
        } else if (word_start == std::string_view::npos) {
          word_start = start;
        }
      }
      if (word_start != std::string_view::npos) {
        out.push_back({std::string(text.substr(word_start)), piece.at_start && word_start == 0});
      }
    });
  }
  std::string describe() const override { return "WhitespaceSplit"; }
};

// pre_tokenizers/metaspace.rs
class Metaspace final : public PreTokenizer {
 public:
  Metaspace(std::string replacement, std::string scheme, bool split)
      : replacement_(std::move(replacement)), scheme_(std::move(scheme)), split_(split) {}
  void pre_tokenize(std::vector<PreToken>& pieces) const override {
    split_all(pieces, [this](const PreToken& piece, std::vector<PreToken>& out) {
      PreToken replaced;
      replaced.at_start = piece.at_start;
      std::string& t = replaced.text;
      const bool prepend = !std::string_view(piece.text).starts_with(replacement_) &&
                           (scheme_ == "always" || (scheme_ == "first" && piece.at_start));
      // A piece that starts with ' ' starts with the replacement once replaced.
      const bool starts_with_space = !piece.text.empty() && piece.text[0] == ' ';
      if (prepend && !starts_with_space) t = replacement_;
      for (char c : piece.text) {
        if (c == ' ') {
          t += replacement_;
        } else {
          t.push_back(c);
        }
      }
      if (!split_) {
        if (!t.empty()) out.push_back(std::move(replaced));
        return;
      }
      // split(replacement, MergedWithNext): each piece starts at a replacement char.
      const std::string_view text = t;
      size_t start = 0;
      for (size_t at = text.find(replacement_, 1); at != std::string_view::npos;
           at = text.find(replacement_, at + replacement_.size())) {
        out.push_back(
            {std::string(text.substr(start, at - start)), replaced.at_start && start == 0});
        start = at;
      }
      if (start < text.size()) {
        out.push_back({std::string(text.substr(start)), replaced.at_start && start == 0});
      }
    });
  }
  std::string describe() const override {
    return fmt::format("Metaspace(replacement={:?}, prepend_scheme={}, split={})", replacement_,
                       scheme_, split_);
  }

 private:
  std::string replacement_;
  std::string scheme_;
  bool split_;
};

// ByteLevel's GPT-2 pattern, 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+|
// ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ matched by hand: one Oniguruma search per token costs more than
// the rest of byte-level BPE (its per-search set-up), so ByteLevel walks the text once instead. The
// char classes still come from Oniguruma (each non-ASCII code point is classified once by the
// same engine and remembered), so \p{L}, \p{N} and \s are the engine's own, Unicode version
// included. The parity tests run the hand matcher against tokenizers on every test text.
class Gpt2Splitter {
 public:
  enum Class : uint8_t { kUnknown = 0, kLetter, kNumber, kSpace, kOther };

  Gpt2Splitter() : classify_(R"(\A(?:(\p{L})|(\p{N})|(\s)))", "ByteLevel char classes") {
    for (int c = 0; c < 128; ++c) {
      const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
      const bool digit = c >= '0' && c <= '9';
      const bool space = c == ' ' || (c >= 0x09 && c <= 0x0D);
      ascii_[c] = letter ? kLetter : digit ? kNumber : space ? kSpace : kOther;
    }
  }

  // Appends the matches of the pattern in `text` as find_regex_matches would.
  void find_all(std::string_view text, std::vector<Match>& out) const {
    if (text.empty()) {
      out.push_back({0, 0, false});
      return;
    }
    size_t i = 0;
    while (i < text.size()) {
      const size_t end = match_at(text, i);
      out.push_back({i, end, true});
      i = end;
    }
  }

 private:
  Class class_at(std::string_view text, size_t i, size_t& next) const {
    const auto b = static_cast<unsigned char>(text[i]);
    if (b < 0x80) {
      next = i + 1;
      return static_cast<Class>(ascii_[b]);
    }
    next = i;
    const char32_t cp = unicode::decode_utf8(text, next);
    return classify(cp, text.substr(i, next - i));
  }

  Class classify(char32_t cp, std::string_view utf8) const {
    std::atomic<uint8_t>& slot = memo_[cp];
    uint8_t c = slot.load(std::memory_order_relaxed);
    if (c != kUnknown) return static_cast<Class>(c);
    const int group = classify_.matched_group(utf8);  // 1: \p{L}, 2: \p{N}, 3: \s
    c = static_cast<uint8_t>(group >= 1 && group <= 3 ? group : kOther);
    slot.store(c, std::memory_order_relaxed);
    return static_cast<Class>(c);
  }

  // The end of the match starting at `i` (every position starts one: each char is in a class).
  size_t match_at(std::string_view text, size_t i) const {
    const size_t n = text.size();
    // 's|'t|'re|'ve|'m|'ll|'d
    if (text[i] == '\'' && i + 1 < n) {
      const char a = text[i + 1];
      if (a == 's' || a == 't' || a == 'm' || a == 'd') return i + 2;
      if (i + 2 < n) {
        const char b = text[i + 2];
        if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) {
          return i + 3;
        }
      }
    }
    size_t next;
    const Class first = class_at(text, i, next);
    // " ?" before a letter, number or other run: the space joins the run when one follows.
    size_t run_start = i;
    Class run = first;
    if (text[i] == ' ' && next < n) {
      size_t after;
      const Class c = class_at(text, next, after);
      if (c != kSpace) {
        run_start = next;
        run = c;
      }
    }
    if (run != kSpace) {
      size_t j = run_start;
      while (j < n) {
        size_t k;
        if (class_at(text, j, k) != run) break;
        j = k;
      }
      return j;
    }
    // \s+(?!\S) then \s+: a whitespace run, less its last char when a non-space follows it (and
    // the run is longer than one char).
    size_t j = i, last = i;
    while (j < n) {
      size_t k;
      if (class_at(text, j, k) != kSpace) break;
      last = j;
      j = k;
    }
    if (j < n && last > i) return last;
    return j;
  }

  OnigRegex classify_;
  uint8_t ascii_[128];
  // Per code point: its Class once classified (relaxed atomics: every writer stores the same).
  mutable std::unique_ptr<std::atomic<uint8_t>[]> memo_{new std::atomic<uint8_t>[0x110000]()};
};

const Gpt2Splitter& gpt2_splitter() {
  static const Gpt2Splitter splitter;
  return splitter;
}

// pre_tokenizers/byte_level.rs
class ByteLevel final : public PreTokenizer {
 public:
  ByteLevel(bool add_prefix_space, bool use_regex)
      : add_prefix_space_(add_prefix_space), use_regex_(use_regex) {
    if (use_regex_) splitter_ = &gpt2_splitter();
  }
  void pre_tokenize(std::vector<PreToken>& pieces) const override {
    const std::string* alphabet = byte_level_alphabet();
    std::vector<PreToken> out;
    out.reserve(pieces.size() * 2);
    std::vector<Match> matches;
    for (PreToken& piece : pieces) {
      if (add_prefix_space_ && (piece.text.empty() || piece.text[0] != ' ')) {
        piece.text.insert(piece.text.begin(), ' ');
      }
      const size_t first = out.size();
      if (use_regex_) {
        matches.clear();
        splitter_->find_all(piece.text, matches);
        emit_split(piece, matches, SplitBehavior::kIsolated, out);
      } else if (!piece.text.empty()) {
        out.push_back(std::move(piece));
      }
      for (size_t k = first; k < out.size(); ++k) {
        std::string mapped;
        mapped.reserve(out[k].text.size() * 2);
        for (char c : out[k].text) mapped += alphabet[static_cast<unsigned char>(c)];
        out[k].text.swap(mapped);
      }
    }
    pieces.swap(out);
  }
  std::string describe() const override {
    return fmt::format("ByteLevel(add_prefix_space={}, use_regex={})", add_prefix_space_,
                       use_regex_);
  }

 private:
  bool add_prefix_space_;
  bool use_regex_;
  const Gpt2Splitter* splitter_ = nullptr;
};

const char* behavior_name(SplitBehavior b) {
  switch (b) {
    case SplitBehavior::kRemoved:
      return "removed";
    case SplitBehavior::kIsolated:
      return "isolated";
    case SplitBehavior::kMergedWithPrevious:
      return "merged_with_previous";
    case SplitBehavior::kMergedWithNext:
      return "merged_with_next";
    case SplitBehavior::kContiguous:
      return "contiguous";
  }
  return "?";
}

// pre_tokenizers/split.rs: a String pattern is escaped into a regex, as tokenizers does.
class Split final : public PreTokenizer {
 public:
  Split(std::string_view pattern, bool is_regex, SplitBehavior behavior, bool invert,
        std::string_view where)
      : pattern_(pattern),
        is_regex_(is_regex),
        behavior_(behavior),
        invert_(invert),
        regex_(is_regex ? std::string(pattern) : OnigRegex::escape(pattern), where) {}
  void pre_tokenize(std::vector<PreToken>& pieces) const override {
    split_all(pieces, [this](const PreToken& piece, std::vector<PreToken>& out) {
      std::vector<Match> matches;
      find_regex_matches(regex_, piece.text, matches);
      if (invert_) {
        for (Match& m : matches) m.flag = !m.flag;
      }
      emit_split(piece, matches, behavior_, out);
    });
  }
  std::string describe() const override {
    return fmt::format("Split({}{:?}, behavior={}, invert={})", is_regex_ ? "regex " : "", pattern_,
                       behavior_name(behavior_), invert_);
  }

 private:
  std::string pattern_;
  bool is_regex_;
  SplitBehavior behavior_;
  bool invert_;
  OnigRegex regex_;
};

// pre_tokenizers/digits.rs: char::is_numeric.
class Digits final : public PreTokenizer {
 public:
  explicit Digits(bool individual) : individual_(individual) {}
  void pre_tokenize(std::vector<PreToken>& pieces) const override {
    split_all(pieces, [this](const PreToken& piece, std::vector<PreToken>& out) {
      std::vector<Match> matches;
      find_char_matches(piece.text, [](char32_t cp) { return unicode::is_numeric(cp); }, matches);
      emit_split(piece, matches,
                 individual_ ? SplitBehavior::kIsolated : SplitBehavior::kContiguous, out);
    });
  }
  std::string describe() const override {
    return fmt::format("Digits(individual_digits={})", individual_);
  }

 private:
  bool individual_;
};

// pre_tokenizers/punctuation.rs: ASCII punctuation or Unicode P*, as BertPreTokenizer.
class Punctuation final : public PreTokenizer {
 public:
  explicit Punctuation(SplitBehavior behavior) : behavior_(behavior) {}
  void pre_tokenize(std::vector<PreToken>& pieces) const override {
    split_all(pieces, [this](const PreToken& piece, std::vector<PreToken>& out) {
      std::vector<Match> matches;
      find_char_matches(
          piece.text, [](char32_t cp) { return unicode::char_flags(cp) & unicode::kIsPunctuation; },
          matches);
      emit_split(piece, matches, behavior_, out);
    });
  }
  std::string describe() const override {
    return fmt::format("Punctuation(behavior={})", behavior_name(behavior_));
  }

 private:
  SplitBehavior behavior_;
};

class PreTokenizerSequence final : public PreTokenizer {
 public:
  explicit PreTokenizerSequence(std::vector<std::unique_ptr<PreTokenizer>> parts)
      : parts_(std::move(parts)) {}
  void pre_tokenize(std::vector<PreToken>& pieces) const override {
    for (const auto& p : parts_) p->pre_tokenize(pieces);
  }
  std::string describe() const override {
    std::string s = "Sequence[";
    for (size_t k = 0; k < parts_.size(); ++k) s += (k ? ", " : "") + parts_[k]->describe();
    return s + "]";
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> parts_;
};

}  // namespace

const std::string* byte_level_alphabet() {
  static const std::vector<std::string> table = [] {
    // GPT-2's bytes_to_unicode: printable bytes map to themselves, the others to U+0100 + n.
    std::vector<std::string> t(256);
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
      unicode::append_utf8(t[b], printable ? static_cast<char32_t>(b) : 0x100 + n++);
    }
    return t;
  }();
  return table.data();
}

std::unique_ptr<PreTokenizer> make_bert_pre_tokenizer() {
  return std::make_unique<BertPreTokenizerComponent>();
}
std::unique_ptr<PreTokenizer> make_whitespace() { return std::make_unique<Whitespace>(); }
std::unique_ptr<PreTokenizer> make_whitespace_split() {
  return std::make_unique<WhitespaceSplit>();
}
std::unique_ptr<PreTokenizer> make_metaspace(std::string replacement, std::string prepend_scheme,
                                             bool split) {
  return std::make_unique<Metaspace>(std::move(replacement), std::move(prepend_scheme), split);
}
std::unique_ptr<PreTokenizer> make_byte_level(bool add_prefix_space, bool use_regex) {
  return std::make_unique<ByteLevel>(add_prefix_space, use_regex);
}
std::unique_ptr<PreTokenizer> make_split(std::string_view pattern, bool is_regex,
                                         SplitBehavior behavior, bool invert,
                                         std::string_view where) {
  return std::make_unique<Split>(pattern, is_regex, behavior, invert, where);
}
std::unique_ptr<PreTokenizer> make_digits(bool individual_digits) {
  return std::make_unique<Digits>(individual_digits);
}
std::unique_ptr<PreTokenizer> make_punctuation(SplitBehavior behavior) {
  return std::make_unique<Punctuation>(behavior);
}
std::unique_ptr<PreTokenizer> make_pre_tokenizer_sequence(
    std::vector<std::unique_ptr<PreTokenizer>> parts) {
  return std::make_unique<PreTokenizerSequence>(std::move(parts));
}

}  // namespace embedtune
