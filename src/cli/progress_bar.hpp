// A progress bar on stderr for long work: drawn only when stderr is a
// terminal (and not under --quiet), not at all for work over in under 0.3 s
// (LSTORE_PROGRESS_DELAY, in milliseconds, changes that),
// throttled to ten updates a second. finish() replaces a bar that was drawn
// with a one-line summary; one left unfinished (an error) is erased.
#pragma once

#include <chrono>
#include <string>

#include "lstore/backend.hpp"

namespace lstore::cli {

class ProgressBar {
 public:
  ProgressBar(std::string label, bool quiet);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;
  // The callback to hand to the library (empty when nothing is drawn).
  Progress callback();
  // The work is done: "LABEL: 1.1 GiB in 4.9 s (226.0 MiB/s)" if a bar was
  // drawn; the seconds are those the bytes took, so the rate is the bar's.
  void finish();

 private:
  void draw(std::uint64_t done, std::uint64_t total);
  void erase();
  std::string m_label;
  bool m_enabled;
  std::chrono::milliseconds m_delay;
  bool m_drawn = false;
  bool m_escapes;  // not under TERM=dumb
  std::size_t m_width = 0;  // the last bar's length, for erasing it without escapes
  std::uint64_t m_done = 0;
  std::chrono::steady_clock::time_point m_start, m_last, m_done_at;  // m_done_at: when m_done was reached
};

}  // namespace lstore::cli
