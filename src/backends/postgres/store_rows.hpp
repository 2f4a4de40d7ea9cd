// The three halves of the backend over one connection: writing a store's
// records (sink.cpp), reading them back (source.cpp), and the writers' lock
// (lock.cpp).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "lstore/backend.hpp"
#include "backends/records.hpp"
#include "connection.hpp"
#include "routes.hpp"
#include "tables.hpp"

namespace lstore::pg {

// Writes the records: entries by COPY into the table their file goes to,
// lstore_files and lstore_store rows at commit. With `batched_inserts`,
// multi-row INSERTs instead of COPY.
std::unique_ptr<RecordSink> make_sink(Conn& c, const Place& place, const Routes& routes, bool batched_inserts);

// The store the schema holds (lstore's tables, or LlamaIndex's alone), read
// within the caller's snapshot; `notes` gets what could not be brought back.
Store read_store(Conn& c, const Place& place, const PgVectorOptions& vectors, const std::string& display,
                 std::vector<std::string>& notes);

// A session advisory lock on the schema's key, held by `c` while the lock
// lives; waits up to `wait` for another writer.
std::unique_ptr<WriteLock> make_write_lock(std::shared_ptr<Conn> c, const PgUri& u, const Place& place,
                                           std::chrono::milliseconds wait);

}  // namespace lstore::pg
