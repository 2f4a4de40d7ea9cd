// The write's time and its fsync share, for --verbose (see write_timing.hpp).
#include "write_timing.hpp"

#include <fmt/format.h>

#include "core/fileio.hpp"

namespace lstore::cli {

void WriteTiming::watch(EditOptions& options) {
  auto inner = options.save_options;
  options.save_options = [this, inner] {
    m_start = std::chrono::steady_clock::now();
    m_fsync_before = fsync_seconds();
    return inner ? inner() : SaveOptions{true, {}, {}};
  };
}

void WriteTiming::note(const Output& out, const std::string& label) const {
  if (!m_start || !out.verbose()) return;
  double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - *m_start).count();
  out.note(fmt::format("{}: wrote in {:.3f} s (fsync {:.3f} s)", label, total, fsync_seconds() - m_fsync_before));
}

}  // namespace lstore::cli
