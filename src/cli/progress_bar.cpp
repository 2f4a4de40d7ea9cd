// The progress bar (see progress_bar.hpp).
#include "progress_bar.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>

#include "output.hpp"

namespace lstore::cli {

namespace {

// How long work runs before a bar appears: LSTORE_PROGRESS_DELAY
// milliseconds (0: at once), else 300.
std::chrono::milliseconds bar_delay() {
  const char* env = std::getenv("LSTORE_PROGRESS_DELAY");
  if (!env || !*env) return std::chrono::milliseconds(300);
  return std::chrono::milliseconds(std::max(0L, std::strtol(env, nullptr, 10)));
}

// "12.3 MiB/s": the bar and the summary line say the rate the same way, from
// the same figures (bytes counted, seconds until they were counted).
std::string rate_text(std::uint64_t done, double seconds) {
  return seconds > 0 ? human_bytes(static_cast<std::uint64_t>(static_cast<double>(done) / seconds)) + "/s" : "";
}

}  // namespace

ProgressBar::ProgressBar(std::string label, bool quiet)
    : m_label(std::move(label)), m_enabled(!quiet && ::isatty(STDERR_FILENO)), m_delay(bar_delay()),
      m_escapes(terminal_takes_escapes()), m_start(std::chrono::steady_clock::now()), m_last(m_start), m_done_at(m_start) {}

// Back to the start of the bar's line, erased: "ESC [ K" where the terminal
// takes escapes, else (TERM=dumb) spaces over the last bar.
void ProgressBar::erase() {
  if (m_escapes) std::fputs("\r\033[K", stderr);
  else std::fputs(("\r" + std::string(m_width, ' ') + "\r").c_str(), stderr);
}

ProgressBar::~ProgressBar() {
  if (m_drawn) erase();
}

void ProgressBar::finish() {
  if (!m_drawn) return;
  // The rate over the time the bytes took (as the bar's last figure said),
  // not over the fsync and rename that follow the last byte.
  double seconds = std::chrono::duration<double>(m_done_at - m_start).count();
  erase();
  std::fputs(fmt::format("{}: {} in {:.1f} s ({})\n", m_label, human_bytes(m_done), seconds, rate_text(m_done, seconds)).c_str(),
             stderr);
  m_drawn = false;
}

Progress ProgressBar::callback() {
  if (!m_enabled) return {};
  return [this](std::uint64_t done, std::uint64_t total) { draw(done, total); };
}

void ProgressBar::draw(std::uint64_t done, std::uint64_t total) {
  auto now = std::chrono::steady_clock::now();
  if (done != m_done) m_done_at = now;
  m_done = done;
  if (now - m_last < std::chrono::milliseconds(100) && done < total) return;
  // Nothing is drawn for work that is over in a blink.
  if (!m_drawn && now - m_start < m_delay) return;
  m_last = now;
  double seconds = std::chrono::duration<double>(m_done_at - m_start).count();
  double fraction = total ? static_cast<double>(done) / static_cast<double>(total) : 0;
  if (fraction > 1) fraction = 1;
  int width = 30, filled = static_cast<int>(fraction * width);
  std::string bar = std::string(static_cast<std::size_t>(filled), '#') + std::string(static_cast<std::size_t>(width - filled), '.');
  std::string text = fmt::format("{} [{}] {:3.0f}%  {} / {}  {}", m_label, bar, fraction * 100, human_bytes(done),
                                 human_bytes(total), rate_text(done, seconds));
  if (m_drawn) erase();
  else std::fputs("\r", stderr);
  std::fputs(text.c_str(), stderr);
  m_width = text.size();
  std::fflush(stderr);
  m_drawn = true;
}

}  // namespace lstore::cli
