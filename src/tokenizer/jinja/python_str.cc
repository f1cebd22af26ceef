// Python's str semantics on UTF-8, as chat templates see them (see python_str.h).
#include "tokenizer/jinja/python_str.h"

#include <utf8proc.h>

#include <algorithm>
#include <vector>

#include "io/error.h"
#include "tokenizer/jinja/builtins.h"
#include "tokenizer/jinja/special_casing.h"

namespace embedtune::jinja {
namespace {

std::string encode(uint32_t cp) {
  utf8proc_uint8_t buf[4];
  const auto n = utf8proc_encode_char(static_cast<utf8proc_int32_t>(cp), buf);
  return std::string(reinterpret_cast<const char*>(buf), static_cast<size_t>(n));
}

enum class Case { kUpper, kLower, kTitle };

// Python's cased characters (str.istitle's notion): upper, lower and title case letters.
bool is_cased(uint32_t c) {
  const auto category = utf8proc_category(static_cast<utf8proc_int32_t>(c));
  return category == UTF8PROC_CATEGORY_LU || category == UTF8PROC_CATEGORY_LL ||
         category == UTF8PROC_CATEGORY_LT;
}

std::string map_one(uint32_t c, Case mode) {
  if (const SpecialCasing* special = find_special_casing(c))
    return mode == Case::kUpper   ? special->upper
           : mode == Case::kLower ? special->lower
                                  : special->title;
  const auto code = static_cast<utf8proc_int32_t>(c);
  return encode(static_cast<uint32_t>(mode == Case::kUpper   ? utf8proc_toupper(code)
                                      : mode == Case::kLower ? utf8proc_tolower(code)
                                                             : utf8proc_totitle(code)));
}

// Python's lower() of capital sigma: final sigma at the end of a word.
bool final_sigma(const std::vector<std::string>& cps, size_t i) {
  const auto skippable = [](uint32_t c) {
    return utf8proc_category(static_cast<utf8proc_int32_t>(c)) == UTF8PROC_CATEGORY_MN;
  };
  size_t j = i;
  while (j > 0 && skippable(decode(cps[j - 1]))) --j;
  if (j == 0 || !is_cased(decode(cps[j - 1]))) return false;
  size_t k = i + 1;
  while (k < cps.size() && skippable(decode(cps[k]))) ++k;
  return k >= cps.size() || !is_cased(decode(cps[k]));
}

std::string map_case(std::string_view s, bool upper) {
  std::string out;
  const auto cps = code_points(s);
  for (size_t i = 0; i < cps.size(); ++i) {
    const uint32_t c = decode(cps[i]);
    if (!upper && c == 0x3a3 && final_sigma(cps, i))
      out += "\xcf\x82";  // U+03C2
    else
      out += map_one(c, upper ? Case::kUpper : Case::kLower);
  }
  return out;
}

}  // namespace

[[noreturn]] void type_error(const std::string& what) { fail("chat template: {}", what); }

const std::string& need_string(const Value& v, const char* what) {
  if (v.is_undefined()) fail_undefined(v);
  if (!v.is_string()) type_error(fmt::format("{} expects a string, found {}", what, v.type_name()));
  return v.as_string();
}

int64_t need_int(const Value& v, const char* what) {
  if (v.is_undefined()) fail_undefined(v);
  if (v.kind() != Value::Kind::kInt && v.kind() != Value::Kind::kBool)
    type_error(fmt::format("{} expects an integer, found {}", what, v.type_name()));
  return v.as_int();
}

uint32_t decode(std::string_view cp) {
  utf8proc_int32_t code = 0;
  utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(cp.data()),
                   static_cast<utf8proc_ssize_t>(cp.size()), &code);
  return code < 0 ? 0xfffd : static_cast<uint32_t>(code);
}

// Python's str.isspace for one code point.
bool py_space(uint32_t cp) {
  if ((cp >= 9 && cp <= 13) || (cp >= 28 && cp <= 32) || cp == 0x85 || cp == 0xa0) return true;
  if (cp < 0x100) return false;
  const auto category = utf8proc_category(static_cast<utf8proc_int32_t>(cp));
  return category == UTF8PROC_CATEGORY_ZS || category == UTF8PROC_CATEGORY_ZL ||
         category == UTF8PROC_CATEGORY_ZP;
}

std::string to_upper(std::string_view s) { return map_case(s, true); }
std::string to_lower(std::string_view s) { return map_case(s, false); }

bool is_alpha_cp(uint32_t c) {
  const auto category = utf8proc_category(static_cast<utf8proc_int32_t>(c));
  return category >= UTF8PROC_CATEGORY_LU && category <= UTF8PROC_CATEGORY_LO;
}

// Python's str.capitalize: the first character in title case, the rest lower-cased.
std::string capitalize(std::string_view s) {
  const auto cps = code_points(s);
  std::string out;
  for (size_t i = 0; i < cps.size(); ++i)
    out += i == 0 ? map_one(decode(cps[i]), Case::kTitle) : to_lower(cps[i]);
  return out;
}

// Python's str.islower / str.isupper: some cased character, and none of the other case.
bool has_only_case(std::string_view s, bool lower) {
  bool cased = false;
  for (const auto& cp : code_points(s)) {
    const auto category = utf8proc_category(static_cast<utf8proc_int32_t>(decode(cp)));
    const bool is_upper = category == UTF8PROC_CATEGORY_LU || category == UTF8PROC_CATEGORY_LT;
    const bool is_lower = category == UTF8PROC_CATEGORY_LL;
    if ((lower && is_upper) || (!lower && is_lower)) return false;
    cased |= is_upper || is_lower;
  }
  return cased;
}

// Jinja2's title filter (do_title): after each run of "-", whitespace, "(", "{", "[" or "<", the
// first character upper-cased and the rest of the word lower-cased.
std::string jinja_title(std::string_view s) {
  std::string out;
  bool word_start = true;
  for (const auto& cp : code_points(s)) {
    const uint32_t c = decode(cp);
    const bool separator = c == '-' || c == '(' || c == '{' || c == '[' || c == '<' || py_space(c);
    if (separator) {
      out += cp;
      word_start = true;
    } else {
      out += map_one(c, word_start ? Case::kUpper : Case::kLower);
      word_start = false;
    }
  }
  return out;
}

// Python's str.title: a cased character after an uncased one in title case, the others lower.
std::string title(std::string_view s) {
  std::string out;
  bool previous_cased = false;
  for (const auto& cp : code_points(s)) {
    const uint32_t c = decode(cp);
    out += previous_cased ? map_one(c, Case::kLower) : map_one(c, Case::kTitle);
    previous_cased = is_cased(c);
  }
  return out;
}

// str.strip / lstrip / rstrip with Python's default whitespace or the given characters.
std::string strip(const std::string& s, const Value& chars, bool left, bool right) {
  const auto cps = code_points(s);
  std::vector<uint32_t> set;
  const bool whitespace = chars.is_undefined() || chars.is_none();
  if (!whitespace)
    for (const auto& cp : code_points(need_string(chars, "strip"))) set.push_back(decode(cp));
  const auto drop = [&](const std::string& cp) {
    const uint32_t c = decode(cp);
    return whitespace ? py_space(c) : std::find(set.begin(), set.end(), c) != set.end();
  };
  size_t begin = 0, end = cps.size();
  if (left)
    while (begin < end && drop(cps[begin])) ++begin;
  if (right)
    while (end > begin && drop(cps[end - 1])) --end;
  std::string out;
  for (size_t i = begin; i < end; ++i) out += cps[i];
  return out;
}

// str.split(sep=None, maxsplit=-1) and rsplit.
Value split(const std::string& s, const Value& sep_value, int64_t maxsplit, bool from_right) {
  List parts;
  if (sep_value.is_undefined() || sep_value.is_none()) {
    const auto cps = code_points(s);
    std::vector<std::pair<size_t, size_t>> spans;  // the words, as code point ranges
    size_t i = 0;
    while (i < cps.size()) {
      while (i < cps.size() && py_space(decode(cps[i]))) ++i;
      if (i >= cps.size()) break;
      size_t j = i;
      while (j < cps.size() && !py_space(decode(cps[j]))) ++j;
      spans.emplace_back(i, j);
      i = j;
    }
    const auto join = [&](size_t a, size_t b) {
      std::string out;
      for (size_t k = a; k < b; ++k) out += cps[k];
      return out;
    };
    if (maxsplit < 0 || static_cast<size_t>(maxsplit) >= spans.size()) {
      for (const auto& [a, b] : spans) parts.push_back(Value::string(join(a, b)));
    } else if (!from_right) {
      for (size_t k = 0; k < static_cast<size_t>(maxsplit); ++k)
        parts.push_back(Value::string(join(spans[k].first, spans[k].second)));
      // The rest runs from the next word to the end, trailing whitespace included, as Python's.
      parts.push_back(Value::string(join(spans[static_cast<size_t>(maxsplit)].first, cps.size())));
    } else {
      const size_t first = spans.size() - static_cast<size_t>(maxsplit);
      parts.push_back(Value::string(join(0, spans[first - 1].second)));
      for (size_t k = first; k < spans.size(); ++k)
        parts.push_back(Value::string(join(spans[k].first, spans[k].second)));
    }
    return Value::list(std::move(parts));
  }
  const std::string& sep = need_string(sep_value, "split");
  if (sep.empty()) type_error("split: empty separator");
  std::vector<std::string> pieces;
  if (!from_right) {
    size_t start = 0;
    int64_t done = 0;
    while (maxsplit < 0 || done < maxsplit) {
      const size_t at = s.find(sep, start);
      if (at == std::string::npos) break;
      pieces.push_back(s.substr(start, at - start));
      start = at + sep.size();
      ++done;
    }
    pieces.push_back(s.substr(start));
  } else {
    size_t end = s.size();
    int64_t done = 0;
    while (maxsplit < 0 || done < maxsplit) {
      if (end < sep.size()) break;
      const size_t at = s.rfind(sep, end - sep.size());
      if (at == std::string::npos) break;
      pieces.insert(pieces.begin(), s.substr(at + sep.size(), end - at - sep.size()));
      end = at;
      ++done;
    }
    pieces.insert(pieces.begin(), s.substr(0, end));
  }
  for (auto& p : pieces) parts.push_back(Value::string(std::move(p)));
  return Value::list(std::move(parts));
}

std::string replace(const std::string& s, const std::string& old, const std::string& with,
                    int64_t count) {
  std::string out;
  if (old.empty()) {
    // Python inserts `with` between characters (and at both ends).
    const auto cps = code_points(s);
    int64_t done = 0;
    for (const auto& cp : cps) {
      if (count < 0 || done < count) {
        out += with;
        ++done;
      }
      out += cp;
    }
    if (count < 0 || done < count) out += with;
    return out;
  }
  size_t start = 0;
  int64_t done = 0;
  while (count < 0 || done < count) {
    const size_t at = s.find(old, start);
    if (at == std::string::npos) break;
    out.append(s, start, at - start).append(with);
    start = at + old.size();
    ++done;
  }
  return out.append(s, start, std::string::npos);
}

bool prefix_match(const std::string& s, const Value& prefixes, bool suffix) {
  const auto one = [&](const Value& p) {
    const std::string& text = need_string(p, suffix ? "endswith" : "startswith");
    if (text.size() > s.size()) return false;
    return suffix ? s.compare(s.size() - text.size(), text.size(), text) == 0
                  : s.compare(0, text.size(), text) == 0;
  };
  if (prefixes.is_list()) {
    for (const auto& p : prefixes.as_list())
      if (one(p)) return true;
    return false;
  }
  return one(prefixes);
}

}  // namespace embedtune::jinja
