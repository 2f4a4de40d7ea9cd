// What every command that writes a store does around the write: take the
// store's lock, and keep a --backup of the store as it was.
#pragma once

#include <memory>
#include <string>

#include "lstore/backend.hpp"
#include "lstore/fileio.hpp"

namespace lstore::cli {

// The store's writers' lock (Backend::lock), waiting up to `wait_seconds`.
std::unique_ptr<WriteLock> lock_store(Backend& backend, double wait_seconds);

// Copies the store, as it is now, to `target`: a directory is copied file by
// file; any other backend is read and written to `target` (any store name).
void backup_store(const std::string& store, Backend& backend, const std::string& target);

}  // namespace lstore::cli
