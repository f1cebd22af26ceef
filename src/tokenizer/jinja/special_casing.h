// Python's one-to-many case mappings (special_casing.cc), which utf8proc's simple mappings lack.
#pragma once

#include <cstdint>

namespace embedtune::jinja {

struct SpecialCasing {
  uint32_t code_point;
  const char* upper;  // UTF-8
  const char* lower;
  const char* title;
};

// The row for `code_point`, or nullptr when its mappings are one code point each.
const SpecialCasing* find_special_casing(uint32_t code_point);

}  // namespace embedtune::jinja
