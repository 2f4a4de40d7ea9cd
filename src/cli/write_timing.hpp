// Under --verbose, what a writing command's write cost and how much of it
// was fsync: the disk's time, which a faster lstore cannot shorten and
// which must stay (every file and directory of the new store is synced).
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "lstore/edit_store.hpp"
#include "output.hpp"

namespace lstore::cli {

class WriteTiming {
 public:
  // Makes `options` note when the write starts (its save_options is called
  // right before the backend writes).
  void watch(EditOptions& options);
  // "lstore: LABEL: wrote in X s (fsync Y s)" when verbose and a write took place.
  void note(const Output& out, const std::string& label) const;

 private:
  std::optional<std::chrono::steady_clock::time_point> m_start;
  double m_fsync_before = 0;
};

}  // namespace lstore::cli
