// One libpq connection: statements with bound parameters, rows streamed one
// at a time, COPY FROM STDIN, and a transaction guard. Every failure is an
// Error(Data) naming the store and PostgreSQL, on one line, never holding a
// password.
#pragma once

#include <libpq-fe.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/mapped_file.hpp"
#include "lstore/error.hpp"
#include "uri.hpp"

namespace lstore::pg {

using Result = std::unique_ptr<PGresult, decltype(&PQclear)>;

// "name" with embedded quotes doubled: an SQL identifier.
std::string quote_ident(std::string_view s);

// One connection; every failure is an Error(Data) naming the store and
// PostgreSQL (so that a server that is gone reads the same before and during
// a command), on one line, never holding a password.
class Conn {
 public:
  explicit Conn(const PgUri& u);
  ~Conn() { PQfinish(m_c); }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  const std::string& display() const { return m_display; }

  Result exec(const std::string& sql) { return check(PQexec(m_c, sql.c_str())); }
  // Text parameters (nullopt is NULL); `binary_last` sends the last one as
  // bytes (a bytea); `binary_result` asks for raw column bytes back.
  Result exec(const std::string& sql, const std::vector<std::optional<std::string_view>>& params,
              bool binary_last = false, bool binary_result = false);
  std::optional<std::string> scalar(const std::string& sql, const std::vector<std::optional<std::string_view>>& params = {});

  // Runs a query and hands each row to `fn` as it arrives (single-row mode),
  // so a big collection is never held whole.
  void stream(const std::string& sql, const std::vector<std::optional<std::string_view>>& params,
              const std::function<void(const PGresult*)>& fn);

  // COPY ... FROM STDIN: begin, data (whole rows), end.
  void copy_begin(const std::string& sql);
  void copy_data(std::string_view rows);
  void copy_end();

  // After a failure: leave a COPY, roll back; the connection may be gone.
  void abort() noexcept;

  [[noreturn]] void fail(const PGresult* r) const { throw failure(r); }

 private:
  Result check(PGresult* raw);
  Error failure(const PGresult* r) const;

  PGconn* m_c = nullptr;
  std::string m_display;
  std::vector<std::string> m_secrets;
};
// BEGIN on construction; ROLLBACK unless commit() ran.
class Transaction {
 public:
  Transaction(Conn& c, const char* begin = "BEGIN") : m_c(c) { m_c.exec(begin); }
  ~Transaction() {
    if (!m_done) m_c.abort();
  }
  void commit() {
    sigbus_guard::fail_if_shrunk();
    m_c.exec("COMMIT");
    m_done = true;
  }

 private:
  Conn& m_c;
  bool m_done = false;
};

// A column of a row as text (bytes with a binary result), and whether it is NULL.
std::string_view cell(const PGresult* r, int row, int col);
bool is_null(const PGresult* r, int row, int col);

}  // namespace lstore::pg
