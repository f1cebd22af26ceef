// Python's str semantics on UTF-8, as chat templates see them through jinja2: case mapping with
// the full casings ("ß".upper() is "SS", final sigma), whitespace, strip, split, replace and
// startswith. Shared by the filters and the str methods (builtins.cc). Each throws
// embedtune::Error ("chat template: ...") where Python raises.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "tokenizer/jinja/value.h"

namespace embedtune::jinja {

[[noreturn]] void type_error(const std::string& what);
// The value as a string / an integer (bool counts), else a type error naming `what`.
const std::string& need_string(const Value& v, const char* what);
int64_t need_int(const Value& v, const char* what);

// The code point of one UTF-8 encoded character (U+FFFD when malformed).
uint32_t decode(std::string_view cp);
// Python's str.isspace for one code point.
bool py_space(uint32_t cp);
// Python's str.isalpha for one code point: a letter (Lu, Ll, Lt, Lm, Lo).
bool is_alpha_cp(uint32_t c);

// str.upper / str.lower.
std::string to_upper(std::string_view s);
std::string to_lower(std::string_view s);
// str.capitalize: the first character in title case, the rest lower-cased.
std::string capitalize(std::string_view s);
// str.title: a cased character after an uncased one in title case, the others lower.
std::string title(std::string_view s);
// Jinja2's title filter (do_title): each word's first character upper-cased, the rest lower.
std::string jinja_title(std::string_view s);
// str.islower (lower) / str.isupper: some cased character, and none of the other case.
bool has_only_case(std::string_view s, bool lower);
// str.strip / lstrip / rstrip: Python's whitespace, or the characters of `chars` when a string.
std::string strip(const std::string& s, const Value& chars, bool left, bool right);
// str.split(sep, maxsplit) and str.rsplit (from_right): a list of strings.
Value split(const std::string& s, const Value& sep, int64_t maxsplit, bool from_right);
// str.replace(old, with, count); count < 0 replaces every occurrence.
std::string replace(const std::string& s, const std::string& old, const std::string& with,
                    int64_t count);
// str.startswith / str.endswith (suffix) with a string or a tuple of strings.
bool prefix_match(const std::string& s, const Value& prefixes, bool suffix);

}  // namespace embedtune::jinja
