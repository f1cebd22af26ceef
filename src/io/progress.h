// Progress on stderr, the one printer every long job uses (encoding, evaluation, training): a
// status line redrawn in place, shown on a terminal or with EMBEDTUNE_PROGRESS=1, never written
// into a pipe or a log otherwise.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace embedtune::io {

// True when stderr is a terminal, unless EMBEDTUNE_PROGRESS says otherwise ("1" on, else off).
bool progress_enabled();

// "1:02:03" or "2:03".
std::string format_duration(double seconds);

// One line of stderr redrawn in place. Lines printed meanwhile must call clear() first. Not
// thread-safe.
class StatusLine {
 public:
  explicit StatusLine(bool enabled) : enabled_(enabled) {}
  ~StatusLine() { finish(); }
  StatusLine(const StatusLine&) = delete;
  StatusLine& operator=(const StatusLine&) = delete;

  bool enabled() const { return enabled_; }
  // Replaces the line with `text` (no-op when disabled).
  void draw(std::string_view text);
  // Erases the line, so that another line can be printed in its place.
  void clear();
  // Ends the line (keeps its last text).
  void finish();

 private:
  bool enabled_;
  bool drawn_ = false;
};

// A callback for work done in parts: draws "LABEL: done/total (N/s, ETA m:ss)" and ends the line
// when done == total. Empty (a null std::function) when progress is disabled.
std::function<void(int64_t done, int64_t total)> progress_printer(std::string label);

}  // namespace embedtune::io
