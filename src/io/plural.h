// A count with its noun, in the number it needs: "1 step", "2 steps", "0 queries". For summaries
// and messages, which otherwise say "1 steps" after a one-step run.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace embedtune::io {

// `many` defaults to `one` + "s"; pass it for irregular plurals ("query", "queries").
inline std::string counted(int64_t n, std::string_view one, std::string_view many = {}) {
  if (n == 1) return fmt::format("1 {}", one);
  if (many.empty()) return fmt::format("{} {}s", n, one);
  return fmt::format("{} {}", n, many);
}

}  // namespace embedtune::io
