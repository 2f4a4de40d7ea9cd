// One interface for every place a store can live. A backend is chosen by the
// store's name (a directory path, sqlite:FILE, redis://..., ...) from the
// table in src/backends/registry.cpp; each backend lives in src/backends/.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lstore/progress.hpp"
#include "lstore/store.hpp"

namespace lstore {

struct SaveOptions {
  bool force = false;  // allow writing over a non-empty target
  Progress progress;   // bytes of the store written; may be empty
  // Problems after the new store is in place (it has changed by then, so
  // they are no failure): said to the user; may be empty.
  std::function<void(const std::string&)> warn;
};

// Held by a command from reading a store to writing it back, so that two
// writers never interleave (a file lock beside a file or directory store, a
// lock key or advisory lock on a server). Released when destroyed.
class WriteLock {
 public:
  virtual ~WriteLock() = default;
};

struct VectorQuery;

// A hit of a search run where the store lives, with what is printed of it.
struct PlacedHit {
  std::string id;
  double score = 0;
  std::string text;
  std::string metadata_json;  // what the store's filters see, as JSON text
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
  // The same for a command that needs no whole collection: ls's summary
  // (id null) or get's one id. A backend that can stream may leave the large
  // collections out of the model, keeping their first entries and those
  // under `id`, and count them instead (Store::streamed); such a store is
  // never written.
  virtual Store load_streamed(const std::string* id) { (void)id; return load(); }
  // The path whose writers StoreLock serialises (the directory, the SQLite
  // file); empty when there is none.
  virtual std::string lock_path() const { return {}; }
  // Takes the writers' lock, waiting up to `wait`; throws Error(Data) naming
  // the holder when it stays taken. The default locks lock_path().
  virtual std::unique_ptr<WriteLock> lock(std::chrono::milliseconds wait);
  // Writes `store` here, all or nothing.
  virtual void save(const Store& store, const SaveOptions& options) = 0;
  // What saving `store` here would lose (the notes save() gives through
  // SaveOptions::warn, e.g. float64 -> float32 in a pgvector column), found
  // without writing: convert --strict asks before it writes anything.
  virtual std::vector<std::string> losses(const Store& store) const {
    (void)store;
    return {};
  }
  // What the last load() could not bring back from this store, one note per
  // kind with its count (a PGVectorStore table read as a folder store: the
  // float32 values, the source documents' doc_hash records): convert prints
  // them, and --strict refuses on them as on losses().
  virtual std::vector<std::string> read_notes() const { return {}; }
  // Runs a vector query of namespace `ns` in the store's own server (a
  // PGVectorStore table), with that store's semantics; nullopt when this
  // store is searched by loading it (every backend but pgvector).
  virtual std::optional<std::vector<PlacedHit>> query_in_place(std::string_view /*ns*/, const VectorQuery& /*q*/) {
    return std::nullopt;
  }
};

// Picks the backend for a store name; throws Error(Usage) for an unknown scheme.
std::unique_ptr<Backend> open_backend(const std::string& name);
// The kinds of store lstore knows (src/backends/registry.cpp), in the order
// they are listed: for --version, the help text and the man page.
struct BackendInfo {
  std::string_view name;         // "sqlite", "redis", ... ("dir" for paths)
  std::string_view syntax;       // how a store of this kind is named
  std::string_view description;  // one line
  bool compiled = true;          // false: this build was made without it
};
std::vector<BackendInfo> backend_list();
// The names of the backends compiled in, "dir" first, for --version.
std::vector<std::string> compiled_backends();

// A store name fit to print: a URI's password (user:PASSWORD@, ?password=,
// ?sslpassword=, ?passfile=) replaced by ***, anything else as it is. Every
// store name that is printed goes through this (describe() of the server
// backends too), so no output ever holds a password.
std::string redact_store_name(std::string_view name);
// `text` with every store URI in it (scheme://..., up to a space or quote)
// passed through redact_store_name: for messages that may quote arguments.
std::string redact_store_names_in(std::string_view text);

// The backends (one file each in src/backends/), also used directly by tests.
std::unique_ptr<Backend> make_directory_backend(const std::string& path);
// A single file given on its own (chat_store.json, a KV file, ...).
std::unique_ptr<Backend> make_file_backend(const std::string& path);
std::unique_ptr<Backend> make_sqlite_backend(const std::string& path);
std::unique_ptr<Backend> make_jsonl_backend(const std::string& path);
std::unique_ptr<Backend> make_redis_backend(const std::string& uri);
std::unique_ptr<Backend> make_postgres_backend(const std::string& uri);

}  // namespace lstore
