// The one write sequence of every command that changes a store in place
// (put, delete, repair): lock, read, edit, back up, write, all or nothing.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "lstore/backend.hpp"
#include "lstore/edit.hpp"

namespace lstore {

struct EditOptions {
  bool dry_run = false;               // edit in memory only: no lock, no backup, no write
  std::string backup;                 // a store name (or directory) to copy the store to first; empty: none
  std::chrono::milliseconds wait{0};  // how long to wait for another writer's lock
  // How the store is read (the CLI's reading says what it read); default Backend::load.
  std::function<Store(Backend&)> load;
  // Called right before the write, for its progress and warnings; default none.
  std::function<SaveOptions()> save_options;
};

struct EditedStore {
  Store store;        // as edited (what a report describes)
  ChangeSet changes;  // what the edit did; empty: nothing was written
};

// Takes the store's writers' lock (Backend::lock; not for a dry run), reads
// the store, applies `edit`, and when it changed something (and this is no
// dry run) copies the store as it was to `backup` and writes the edited
// store back through the backend, all or nothing. An edit that throws
// leaves the store as it was. The lock is held until the write is done.
EditedStore edit_store(const std::string& name, Backend& backend, const std::function<ChangeSet(Store&)>& edit,
                       const EditOptions& options);

// Copies the store `name` (read through `backend`), as it is now, to
// `target`: a directory store to a directory is copied file by file (bytes,
// side files and all); otherwise the store is read and written to `target`,
// any store name.
void backup_store(const std::string& name, Backend& backend, const std::string& target);

}  // namespace lstore
