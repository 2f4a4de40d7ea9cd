// How the library says how far long work has got (a write, a validation, a
// search over a big vector store) without knowing anything about terminals:
// a callback with the bytes done so far and in all. The CLI draws a bar on
// stderr when it is one.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>

namespace lstore {

using Progress = std::function<void(std::uint64_t done, std::uint64_t total)>;

// Counts work done from any thread and calls `report` (one call at a time)
// each time another `step` bytes are done, and once more at finish().
class ProgressTicker {
 public:
  explicit ProgressTicker(const Progress& report, std::uint64_t total = 0, std::uint64_t step = std::uint64_t{4} << 20)
      : m_report(report), m_total(total), m_step(step) {}
  void set_total(std::uint64_t total) { m_total = total; }
  std::uint64_t total() const { return m_total; }
  // Cheap enough per entry: an atomic add, and the lock only once a step.
  void add(std::uint64_t n) {
    if (!m_report) return;
    std::uint64_t done = m_done.fetch_add(n, std::memory_order_relaxed) + n;
    if (done - m_last.load(std::memory_order_relaxed) < m_step) return;
    std::lock_guard<std::mutex> lock(m_mutex);
    if (done <= m_last.load(std::memory_order_relaxed)) return;  // another thread reported further
    m_last.store(done, std::memory_order_relaxed);
    m_report(done, m_total);
  }
  void finish() {
    if (!m_report) return;
    std::lock_guard<std::mutex> lock(m_mutex);
    m_report(m_total, m_total);
  }

 private:
  Progress m_report;
  std::uint64_t m_total, m_step;
  std::atomic<std::uint64_t> m_done{0}, m_last{0};
  std::mutex m_mutex;
};

}  // namespace lstore
