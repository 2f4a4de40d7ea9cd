// One libpq connection (connection.hpp).
#include "connection.hpp"

#include "lstore/error.hpp"
#include "backends/store_uri.hpp"

namespace lstore::pg {
namespace {

// libpq's messages on one line: lines joined, the trailing newline and the
// "ERROR:" prefix gone.
std::string one_line(std::string_view msg) {
  std::string out;
  std::size_t p = 0;
  while (p < msg.size()) {
    std::size_t nl = msg.find('\n', p);
    std::string_view line = msg.substr(p, nl == std::string_view::npos ? std::string_view::npos : nl - p);
    p = nl == std::string_view::npos ? msg.size() : nl + 1;
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.remove_suffix(1);
    if (line.rfind("ERROR:", 0) == 0) line.remove_prefix(6);
    while (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    if (line.empty()) continue;
    if (!out.empty()) out += ' ';
    out += line;
  }
  return out;
}

void ignore_notice(void*, const char*) {}

}  // namespace

// "name" with embedded quotes doubled: an SQL identifier.
std::string quote_ident(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + '"';
}

namespace {

void prepare(const std::vector<std::optional<std::string_view>>& params, bool binary_last,
             std::vector<std::string>& owned, std::vector<const char*>& values, std::vector<int>& lengths,
             std::vector<int>& formats) {
  owned.reserve(params.size());
  for (std::size_t i = 0; i < params.size(); ++i) {
    bool binary = binary_last && i + 1 == params.size();
    if (!params[i]) {
      values.push_back(nullptr);
    } else if (binary) {
      values.push_back(params[i]->data());
    } else {
      owned.emplace_back(*params[i]);  // text parameters are NUL-terminated
      values.push_back(owned.back().c_str());
    }
    lengths.push_back(params[i] ? static_cast<int>(params[i]->size()) : 0);
    formats.push_back(binary ? 1 : 0);
  }
}

}  // namespace

Conn::Conn(const PgUri& u) : m_display(u.display), m_secrets(u.secrets) {
  // Keywords are applied in order and the URI (dbname, expanded) overrides
  // the defaults before it; client_encoding after it is always UTF8.
  const char* keys[] = {"connect_timeout", "fallback_application_name", "dbname", "client_encoding", nullptr};
  const char* values[] = {"10", "lstore", u.conninfo.c_str(), "UTF8", nullptr};
  m_c = PQconnectdbParams(keys, values, 1);
  if (!m_c) throw Error(ErrorKind::Data, m_display, "cannot connect to PostgreSQL: out of memory");
  if (PQstatus(m_c) != CONNECTION_OK) {
    std::string msg = scrub_secrets(one_line(PQerrorMessage(m_c)), m_secrets);
    PQfinish(m_c);
    m_c = nullptr;
    throw Error(ErrorKind::Data, m_display, "cannot connect to PostgreSQL: " + msg);
  }
  // NOTICEs (e.g. "relation already exists, skipping") are not for the user.
  PQsetNoticeProcessor(m_c, ignore_notice, nullptr);
  // Shortest round-trip float8 text, whatever the server's default.
  try {
    exec("SET extra_float_digits = 3");
  } catch (...) {
    PQfinish(m_c);
    m_c = nullptr;
    throw;
  }
}

Result Conn::exec(const std::string& sql, const std::vector<std::optional<std::string_view>>& params, bool binary_last,
                  bool binary_result) {
  std::vector<std::string> owned;
  std::vector<const char*> values;
  std::vector<int> lengths, formats;
  prepare(params, binary_last, owned, values, lengths, formats);
  return check(PQexecParams(m_c, sql.c_str(), static_cast<int>(params.size()), nullptr, values.data(), lengths.data(),
                            formats.data(), binary_result ? 1 : 0));
}

std::optional<std::string> Conn::scalar(const std::string& sql, const std::vector<std::optional<std::string_view>>& params) {
  Result r = exec(sql, params);
  if (PQntuples(r.get()) == 0 || PQgetisnull(r.get(), 0, 0)) return std::nullopt;
  return std::string(PQgetvalue(r.get(), 0, 0));
}

void Conn::stream(const std::string& sql, const std::vector<std::optional<std::string_view>>& params,
                  const std::function<void(const PGresult*)>& fn) {
  std::vector<std::string> owned;
  std::vector<const char*> values;
  std::vector<int> lengths, formats;
  prepare(params, false, owned, values, lengths, formats);
  if (!PQsendQueryParams(m_c, sql.c_str(), static_cast<int>(params.size()), nullptr, values.data(), lengths.data(),
                         formats.data(), 0) ||
      !PQsetSingleRowMode(m_c))
    fail(nullptr);
  std::optional<Error> error;
  while (PGresult* raw = PQgetResult(m_c)) {
    Result r(raw, PQclear);
    ExecStatusType st = PQresultStatus(raw);
    if (st == PGRES_SINGLE_TUPLE && !error) fn(raw);
    else if (st != PGRES_TUPLES_OK && st != PGRES_SINGLE_TUPLE && !error) error = failure(raw);
  }
  if (error) throw *error;
}

void Conn::copy_begin(const std::string& sql) {
  Result r(PQexec(m_c, sql.c_str()), PQclear);
  if (PQresultStatus(r.get()) != PGRES_COPY_IN) fail(r.get());
}

void Conn::copy_data(std::string_view rows) {
  if (PQputCopyData(m_c, rows.data(), static_cast<int>(rows.size())) != 1) fail(nullptr);
}

void Conn::copy_end() {
  if (PQputCopyEnd(m_c, nullptr) != 1) fail(nullptr);
  check(PQgetResult(m_c));
  while (PGresult* extra = PQgetResult(m_c)) PQclear(extra);
}

void Conn::abort() noexcept {
  if (!m_c || PQstatus(m_c) != CONNECTION_OK) return;
  if (PQtransactionStatus(m_c) == PQTRANS_ACTIVE) {
    PQputCopyEnd(m_c, "lstore: aborted");
    while (PGresult* r = PQgetResult(m_c)) PQclear(r);
  }
  if (PQtransactionStatus(m_c) != PQTRANS_IDLE) PQclear(PQexec(m_c, "ROLLBACK"));
}

Result Conn::check(PGresult* raw) {
  Result r(raw, PQclear);
  ExecStatusType st = raw ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) fail(raw);
  return r;
}

// The server's own words (primary message and detail, never CONTEXT, which
// quotes data), or libpq's when the connection is gone.
Error Conn::failure(const PGresult* r) const {
  std::string msg;
  if (const char* primary = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : nullptr) {
    msg = primary;
    if (const char* detail = PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL)) msg += " (" + std::string(detail) + ")";
  } else {
    msg = PQerrorMessage(m_c);
  }
  msg = scrub_secrets(one_line(msg), m_secrets);
  if (msg.empty()) msg = "no reply from the server";
  return Error(ErrorKind::Data, m_display, "PostgreSQL error: " + msg);
}
std::string_view cell(const PGresult* r, int row, int col) {
  return {PQgetvalue(r, row, col), static_cast<std::size_t>(PQgetlength(r, row, col))};
}
bool is_null(const PGresult* r, int row, int col) { return PQgetisnull(r, row, col) != 0; }

}  // namespace lstore::pg
