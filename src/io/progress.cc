// The progress printer: a status line on stderr.
#include "io/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

namespace embedtune::io {

bool progress_enabled() {
  const char* env = std::getenv("EMBEDTUNE_PROGRESS");
  if (env != nullptr) return std::string(env) == "1";
  return isatty(STDERR_FILENO) != 0;
}

std::string format_duration(double seconds) {
  const int64_t total = seconds < 0 ? 0 : static_cast<int64_t>(seconds + 0.5);
  const int64_t h = total / 3600, m = (total / 60) % 60, s = total % 60;
  return h > 0 ? fmt::format("{}:{:02d}:{:02d}", h, m, s) : fmt::format("{}:{:02d}", m, s);
}

void StatusLine::draw(std::string_view text) {
  if (!enabled_) return;
  std::fputs("\r\033[2K", stderr);
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
  drawn_ = true;
}

void StatusLine::clear() {
  if (!drawn_) return;
  std::fputs("\r\033[2K", stderr);
  drawn_ = false;
}

void StatusLine::finish() {
  if (!drawn_) return;
  std::fputs("\n", stderr);
  std::fflush(stderr);
  drawn_ = false;
}

std::function<void(int64_t, int64_t)> progress_printer(std::string label) {
  if (!progress_enabled()) return {};
  auto line = std::make_shared<StatusLine>(true);
  const auto start = std::chrono::steady_clock::now();
  return [line, label = std::move(label), start](int64_t done, int64_t total) {
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double rate = seconds > 0 ? done / seconds : 0.0;
    line->draw(fmt::format("{}: {}/{} ({:.0f}/s, ETA {})", label, done, total, rate,
                           format_duration(rate > 0 ? (total - done) / rate : 0.0)));
    if (done == total) line->finish();
  };
}

}  // namespace embedtune::io
