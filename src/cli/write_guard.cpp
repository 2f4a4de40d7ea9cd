// Locking, --backup and the write's progress for the writing commands (see write_guard.hpp).
#include "write_guard.hpp"

#include <chrono>

namespace lstore::cli {

std::unique_ptr<WriteLock> lock_store(Backend& backend, double wait_seconds) {
  return backend.lock(std::chrono::milliseconds(static_cast<long long>(wait_seconds * 1000)));
}

EditOptions edit_options(Output& out, const WriteFlags& flags, std::function<Store(Backend&)> load,
                         std::optional<ProgressBar>& bar, std::string label) {
  EditOptions o;
  o.dry_run = flags.dry_run;
  o.backup = flags.backup;
  o.wait = std::chrono::milliseconds(static_cast<long long>(flags.wait * 1000));
  o.load = std::move(load);
  // The bar starts at the write, so that its rate is the write's.
  o.save_options = [&out, &bar, label = std::move(label)] {
    bar.emplace(label, out.quiet());
    return SaveOptions{true, bar->callback(), [&out](const std::string& w) { out.warn(w); }};
  };
  return o;
}

}  // namespace lstore::cli
