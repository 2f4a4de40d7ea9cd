// One interface for every place a store can live. A backend is chosen by the
// store's name (a directory path, sqlite:FILE, redis://..., ...) in
// src/backends/registry.cpp; each backend is one file in src/backends/.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "lstore/store.hpp"

namespace lstore {

struct SaveOptions {
  bool force = false;  // allow writing over a non-empty target
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string describe() const = 0;  // for messages; never holds a password
  // Reads the whole store (lazily: entries stay raw until decoded). A store
  // file that does not parse is an Error.
  virtual Store load() = 0;
  // The same, but a store file that does not parse is kept in Store::files
  // as FileKind::Broken with the reason (for validate).
  virtual Store load_tolerant() { return load(); }
  // The path whose writers StoreLock serialises (the directory, the SQLite
  // file); empty when the backend locks on its server instead.
  virtual std::string lock_path() const { return {}; }
  // Writes `store` here, all or nothing.
  virtual void save(const Store& store, const SaveOptions& options) = 0;
};

// Picks the backend for a store name; throws Error(Usage) for an unknown scheme.
std::unique_ptr<Backend> open_backend(const std::string& name);
// The schemes compiled in, for --version.
std::vector<std::string> compiled_backends();

// The backends (one file each in src/backends/), also used directly by tests.
std::unique_ptr<Backend> make_directory_backend(const std::string& path);
std::unique_ptr<Backend> make_sqlite_backend(const std::string& path);
std::unique_ptr<Backend> make_jsonl_backend(const std::string& path);

}  // namespace lstore
