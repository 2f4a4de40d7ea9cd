// The progress bar (see progress.hpp).
#include "progress.hpp"

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

}  // namespace

ProgressBar::ProgressBar(std::string label, bool quiet)
    : m_label(std::move(label)), m_enabled(!quiet && ::isatty(STDERR_FILENO)), m_delay(bar_delay()),
      m_start(std::chrono::steady_clock::now()), m_last(m_start) {}

ProgressBar::~ProgressBar() {
  if (m_drawn) std::fputs("\r\033[K", stderr);
}

void ProgressBar::finish() {
  if (!m_drawn) return;
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count();
  std::string rate = seconds > 0 ? human_bytes(static_cast<std::uint64_t>(static_cast<double>(m_done) / seconds)) + "/s" : "";
  std::fputs(fmt::format("\r\033[K{}: {} in {:.1f} s ({})\n", m_label, human_bytes(m_done), seconds, rate).c_str(), stderr);
  m_drawn = false;
}

Progress ProgressBar::callback() {
  if (!m_enabled) return {};
  return [this](std::uint64_t done, std::uint64_t total) { draw(done, total); };
}

void ProgressBar::draw(std::uint64_t done, std::uint64_t total) {
  m_done = done;
  auto now = std::chrono::steady_clock::now();
  if (now - m_last < std::chrono::milliseconds(100) && done < total) return;
  // Nothing is drawn for work that is over in a blink.
  if (!m_drawn && now - m_start < m_delay) return;
  m_last = now;
  double seconds = std::chrono::duration<double>(now - m_start).count();
  double fraction = total ? static_cast<double>(done) / static_cast<double>(total) : 0;
  if (fraction > 1) fraction = 1;
  int width = 30, filled = static_cast<int>(fraction * width);
  std::string bar = std::string(static_cast<std::size_t>(filled), '#') + std::string(static_cast<std::size_t>(width - filled), '.');
  std::string rate = seconds > 0 ? human_bytes(static_cast<std::uint64_t>(static_cast<double>(done) / seconds)) + "/s" : "";
  std::fputs(fmt::format("\r\033[K{} [{}] {:3.0f}%  {} / {}  {}", m_label, bar, fraction * 100, human_bytes(done),
                         human_bytes(total), rate)
                 .c_str(),
             stderr);
  std::fflush(stderr);
  m_drawn = true;
}

}  // namespace lstore::cli
