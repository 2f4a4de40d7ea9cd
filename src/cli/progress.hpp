// A progress bar on stderr for long writes: drawn only when stderr is a
// terminal (and not under --quiet), throttled to ten updates a second, and
// erased when done (the command prints its own one-line summary).
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

 private:
  void draw(std::uint64_t done, std::uint64_t total);
  std::string m_label;
  bool m_enabled;
  bool m_drawn = false;
  std::chrono::steady_clock::time_point m_start, m_last;
};

}  // namespace lstore::cli
