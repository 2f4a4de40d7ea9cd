// Reading a store back (source.cpp) and the writers' lock (lock.cpp), over
// one connection; the write itself is backend.cpp's (its staging keys are
// renamed into place there).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "lstore/backend.hpp"
#include "backends/records.hpp"
#include "connection.hpp"
#include "keys.hpp"

namespace lstore::redis {

// The store this database holds for `keys` (lstore's keys, or LlamaIndex's
// hashes and lists alone).
Store read_store(Conn& c, const Keys& keys, const std::string& display);

// "<host>:<pid>.<random>": who holds a lock or wrote staging keys.
std::string random_token();

// SET NX on `key` with an expiry, released only by its holder; waits up to
// `wait` for another writer, taking over from one of this host that died.
std::unique_ptr<WriteLock> make_write_lock(const RedisUri& u, std::string key, std::chrono::milliseconds wait);

}  // namespace lstore::redis
