// What the writing commands (put, delete, repair, convert) share around the
// library's write sequence (lstore/edit_store.hpp): their --dry-run,
// --backup and --wait, the reading that --verbose describes, and the
// progress bar of the write.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "lstore/backend.hpp"
#include "lstore/edit_store.hpp"
#include "output.hpp"
#include "progress_bar.hpp"

namespace lstore::cli {

// The store's writers' lock (Backend::lock), waiting up to `wait_seconds`.
std::unique_ptr<WriteLock> lock_store(Backend& backend, double wait_seconds);

struct WriteFlags {
  bool dry_run = false;
  std::string backup;
  double wait = 0;  // seconds
};

// EditOptions for edit_store: `flags`, the store read by `load` (the
// command's load_store call), and a progress bar labelled `label` on the
// write, put in `bar` (finish it after edit_store returns); the backend's
// warnings after the write go to `out`.
EditOptions edit_options(Output& out, const WriteFlags& flags, std::function<Store(Backend&)> load,
                         std::optional<ProgressBar>& bar, std::string label);

}  // namespace lstore::cli
