// The writers' lock: a session advisory lock per schema (store_rows.hpp).
#include <thread>

#include "store_rows.hpp"

namespace lstore::pg {
namespace {

// ---------------------------------------------------------------- locking

// A session advisory lock on the schema's key, held by a connection for as
// long as this object lives (the server drops it if we die).
class PgWriteLock : public WriteLock {
 public:
  PgWriteLock(std::shared_ptr<Conn> c, const PgUri& u, const Place& place, std::chrono::milliseconds wait)
      : m_conn(std::move(c)), m_c(*m_conn), m_key(std::to_string(place.lock_key())) {
    auto deadline = std::chrono::steady_clock::now() + wait;
    for (;;) {
      if (m_c.scalar("SELECT pg_try_advisory_lock($1::bigint)", {m_key}) == "t") return;
      if (std::chrono::steady_clock::now() >= deadline)
        throw Error(ErrorKind::Data, u.display, "locked by another writer (" + holder() + ")", "",
                    "retry later, or pass --wait SECONDS");
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  ~PgWriteLock() override {
    try {
      m_c.exec("SELECT pg_advisory_unlock($1::bigint)", {m_key});
    } catch (...) {
      // Closing the connection releases it too.
    }
  }

 private:
  // "PostgreSQL backend pid N, application A" of the session holding the lock.
  std::string holder() {
    Result r = m_c.exec(
        "SELECT a.pid, coalesce(a.application_name, '') FROM pg_catalog.pg_locks l "
        "JOIN pg_catalog.pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.granted "
        "AND l.objsubid = 1 AND l.classid = (($1::bigint >> 32) & 4294967295)::oid "
        "AND l.objid = ($1::bigint & 4294967295)::oid LIMIT 1",
        {m_key});
    if (PQntuples(r.get()) == 0) return "advisory lock " + m_key;
    std::string app(cell(r.get(), 0, 1));
    return "advisory lock " + m_key + " held by PostgreSQL backend pid " + std::string(cell(r.get(), 0, 0)) +
           (app.empty() ? "" : ", application " + app);
  }

  std::shared_ptr<Conn> m_conn;
  Conn& m_c;
  std::string m_key;
};

}  // namespace

std::unique_ptr<WriteLock> make_write_lock(std::shared_ptr<Conn> c, const PgUri& u, const Place& place,
                                           std::chrono::milliseconds wait) {
  return std::make_unique<PgWriteLock>(std::move(c), u, place, wait);
}

}  // namespace lstore::pg
