// The PostgreSQL backend
// (postgresql://[user[:password]@]host[:port]/dbname[?schema=S&namespace=NS&libpq params]).
//
// The docstore and index store are kept exactly as LlamaIndex's
// PostgresDocumentStore / PostgresIndexStore keep them (FORMAT.md §8.2), so
// LlamaIndex reads a store lstore wrote and lstore reads one LlamaIndex wrote:
//
//   <schema>.data_docstore, <schema>.data_indexstore
//     (id SERIAL PK, key VARCHAR NOT NULL, namespace VARCHAR NOT NULL, value JSON,
//      UNIQUE (key, namespace) "data_docstore:unique_key_namespace",
//      INDEX "data_docstore:idx_key_namespace")
//     one row per entry; namespace = the collection name as in the JSON file
//     (docstore/data, docstore/metadata, ..., index_store/data), its first
//     part replaced by NS with ?namespace=NS; value = the entry's JSON text
//     (the json type keeps it verbatim); rows in file order, so ORDER BY id
//     gives the file's order back.
//
// Everything else lstore needs to give the files back byte for byte lives in
// its own tables in the same schema (man/lstore-formats.5):
//
//   lstore_store(key, value)           format, dialect, era, written_by, namespace
//   lstore_files(seq, name, kind, rows_in, layout, bytes)
//       one row per file in store order; rows_in names the table holding the
//       file's entries (data_docstore, data_indexstore or lstore_entries;
//       NULL for a file carried as bytes)
//   lstore_entries(file, collection, seq, key, value, embedding)
//       the other files' entries (vector stores, graphs); a packed embedding
//       is a float8[] with value NULL
//
// A docstore or index store entry that PostgreSQL's json type would refuse
// (NaN, Infinity, \u0000, a lone surrogate escape) cannot be in LlamaIndex's
// tables (LlamaIndex cannot store it there either): such a file's entries all
// go to lstore_entries instead.
//
// The first standalone KV file (SimpleKVStore) keeps its entries where
// PostgresKVStore does: rows of <schema>.data_kvstore (the data_docstore
// shape), namespace = the collection name as it is.
//
// The first chat store file is kept as LlamaIndex's PostgresChatStore keeps
// it (chat_rows.hpp), so PostgresChatStore.from_uri reads and edits those
// chats:
//
//   <schema>.data_chatstore
//     (id SERIAL PK, key VARCHAR NOT NULL UNIQUE "data_chatstore:unique_key",
//      value JSON[], INDEX "data_chatstore:idx_key")
//     one row per chat key in file order, each message an element printed as
//     model_dump_json() does; an existing jsonb[] table is used as it is.
//     lstore_files.rows_in names the table for that file.
//
// A write is one transaction (bulk loads with COPY), so readers and
// LlamaIndex see the old store or the new one; a read is one REPEATABLE READ
// snapshot, streamed row by row. Writers are serialised by a session
// advisory lock per schema.
#include <libpq-fe.h>

#include <algorithm>
#include <bit>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <thread>

#include "lstore/backend.hpp"
#include "lstore/error.hpp"
#include "lstore/version.hpp"
#include "chat_rows.hpp"
#include "pgvector.hpp"
#include "records.hpp"
#include "core/utf8.hpp"
#include "store_uri.hpp"

namespace lstore {
namespace {

// ---------------------------------------------------------------- the URI

struct PgUri {
  std::string conninfo;  // what libpq gets: the URI without lstore's parameters
  std::string display;   // the URI with its password hidden (redact_store_name)
  std::string schema = "public";
  std::string ns;        // LlamaIndex namespace replacing "docstore"/"index_store", or empty
  std::vector<std::string> secrets;  // texts never to show (the password as written and decoded)
  PgVectorOptions vectors;  // ?vectors=pgvector&table=...: vector stores as PGVectorStore tables
};

std::string lower_ascii(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

// The user info as libpq must get it: libpq ends it at the first '@' (or
// '/'), lstore at the last (StoreUri::parse), so a raw '@' or '/' in it is
// escaped; otherwise libpq would take the password's tail for the host and
// quote it in its error.
std::string escape_userinfo(std::string_view cred) {
  std::string out;
  for (char c : cred) out += c == '@' ? "%40" : c == '/' ? "%2F" : std::string(1, c);
  return out;
}

// Finds the user info's password, and splits off lstore's own query
// parameters, which libpq would refuse.
PgUri parse_uri(const std::string& uri) {
  PgUri u;
  StoreUri parts = StoreUri::parse(uri);
  parts.check_escapes();
  const std::string head = parts.head();
  std::string libpq_query;
  std::vector<std::string> pgvector_params;  // PGVectorStore's options given
  for (const StoreUri::Param& p : parts.params) {
    std::string value = percent_decode(p.value);
    if (p.name == "schema") {
      // LlamaIndex lower-cases schema_name; so does lstore, to meet it there.
      u.schema = lower_ascii(value);
      if (u.schema.empty()) throw Error(ErrorKind::Usage, head, "the schema in the URI is empty");
    } else if (p.name == "namespace") {
      u.ns = value;
      if (u.ns.empty()) throw Error(ErrorKind::Usage, head, "the namespace in the URI is empty");
    } else if (take_pgvector_param(u.vectors, p.name, value, head)) {
      if (p.name != "vectors") pgvector_params.push_back(p.name);
    } else {
      libpq_query += (libpq_query.empty() ? "" : "&") + p.text();
    }
  }
  if (!pgvector_params.empty() && !u.vectors.enabled)
    throw Error(ErrorKind::Usage, head, pgvector_params.front() + "= is an option of the pgvector tables", "",
                "add vectors=pgvector to the URI");
  if (u.vectors.hnsw() && !(u.vectors.hnsw_m && u.vectors.hnsw_ef_construction))
    throw Error(ErrorKind::Usage, head, "an HNSW index needs both hnsw_m= and hnsw_ef_construction=",
                "", "PGVectorStore's hnsw_kwargs requires both");
  std::string userinfo;
  std::vector<std::string> extra;
  if (parts.user) {
    userinfo = escape_userinfo(*parts.user + (parts.password ? ":" + *parts.password : "")) + "@";
    if (parts.password) extra.push_back(escape_userinfo(*parts.password));
  }
  if (const char* env = std::getenv("PGPASSWORD")) extra.emplace_back(env);
  u.secrets = parts.secrets(std::move(extra));
  u.conninfo = head + userinfo + parts.host_and_path + (libpq_query.empty() ? "" : "?" + libpq_query);
  u.display = parts.printable();
  return u;
}

// "name" with embedded quotes doubled: an SQL identifier.
std::string quote_ident(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + '"';
}

// Where a store lives: one schema, LlamaIndex's tables and lstore's.
struct Place {
  std::string schema, ns;

  std::string table(std::string_view name) const { return quote_ident(schema) + "." + std::string(name); }
  // The namespace column for a collection of the docstore / index store.
  std::string native(std::string_view collection) const {
    if (ns.empty()) return std::string(collection);
    auto slash = collection.find('/');
    return ns + (slash == std::string_view::npos ? "/" + std::string(collection) : std::string(collection.substr(slash)));
  }
  // The collections of a store LlamaIndex wrote itself, by JSON name.
  static std::vector<std::string> docstore_collections() {
    return {"docstore/data", "docstore/ref_doc_info", "docstore/metadata"};
  }
  // A fixed advisory-lock key per schema: FNV-1a 64 of "lstore:<schema>".
  std::int64_t lock_key() const {
    std::uint64_t h = 14695981039346656037ull;
    for (char c : "lstore:" + schema) {
      h ^= static_cast<unsigned char>(c);
      h *= 1099511628211ull;
    }
    return std::bit_cast<std::int64_t>(h);
  }
};

constexpr const char* kDocTable = "data_docstore";
constexpr const char* kIndexTable = "data_indexstore";
constexpr const char* kEntriesTable = "lstore_entries";
constexpr const char* kKvTable = "data_kvstore";  // PostgresKVStore's default table_name "kvstore"

// The namespace column of a collection in a table of LlamaIndex's: the KV
// store's collections as they are, the docstore's with ?namespace= applied.
std::string namespace_in(const Place& place, std::string_view table, std::string_view collection) {
  return table == kKvTable ? std::string(collection) : place.native(collection);
}

// ---------------------------------------------------------------- text checks

// Text PostgreSQL's text type takes: strict UTF-8 (its verifier refuses
// overlongs, surrogates and code points past U+10FFFF), and no NUL.
bool pg_text_ok(std::string_view s) { return s.find('\0') == std::string_view::npos && utf8::valid(s); }

// Whether PostgreSQL's json (and jsonb) input accepts a JSON text: strict
// RFC 8259 without \u0000 or unpaired surrogate escapes, not nested absurdly
// deep. Errs on the side of "no" (the entries then go to lstore's table).
class PgJsonCheck {
 public:
  explicit PgJsonCheck(std::string_view s) : m_p(s.data()), m_end(s.data() + s.size()) {}
  bool ok() {
    ws();
    if (!value(0)) return false;
    ws();
    return m_p == m_end;
  }

 private:
  static constexpr int kMaxDepth = 512;
  void ws() {
    while (m_p < m_end && (*m_p == ' ' || *m_p == '\t' || *m_p == '\n' || *m_p == '\r')) ++m_p;
  }
  bool lit(std::string_view w) {
    if (static_cast<std::size_t>(m_end - m_p) < w.size() || std::memcmp(m_p, w.data(), w.size()) != 0) return false;
    m_p += w.size();
    return true;
  }
  bool digits() {
    const char* s = m_p;
    while (m_p < m_end && *m_p >= '0' && *m_p <= '9') ++m_p;
    return m_p > s;
  }
  bool number() {
    if (m_p < m_end && *m_p == '-') ++m_p;
    if (m_p < m_end && *m_p == '0') ++m_p;
    else if (!digits()) return false;
    if (m_p < m_end && *m_p == '.') {
      ++m_p;
      if (!digits()) return false;
    }
    if (m_p < m_end && (*m_p == 'e' || *m_p == 'E')) {
      ++m_p;
      if (m_p < m_end && (*m_p == '+' || *m_p == '-')) ++m_p;
      if (!digits()) return false;
    }
    return true;
  }
  int hex4() {
    if (m_end - m_p < 4) return -1;
    int v = 0;
    for (int i = 0; i < 4; ++i) {
      char c = *m_p++;
      int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
      if (d < 0) return -1;
      v = v * 16 + d;
    }
    return v;
  }
  bool string() {
    ++m_p;  // the opening quote
    bool want_low = false;
    while (m_p < m_end) {
      auto c = static_cast<unsigned char>(*m_p++);
      if (c == '"') return !want_low;
      if (c < 0x20) return false;
      if (c != '\\') {
        if (want_low) return false;
        continue;
      }
      if (m_p >= m_end) return false;
      char e = *m_p++;
      if (e != 'u') {
        if (want_low || !std::strchr("\"\\/bfnrt", e) || e == '\0') return false;
        continue;
      }
      int u = hex4();
      if (u <= 0) return false;  // bad hex, or \u0000
      bool high = u >= 0xD800 && u <= 0xDBFF, low = u >= 0xDC00 && u <= 0xDFFF;
      if (want_low != low || (want_low && high)) return false;
      want_low = high;
    }
    return false;
  }
  bool value(int depth) {
    if (m_p >= m_end || depth > kMaxDepth) return false;
    switch (*m_p) {
      case '"': return string();
      case '{': return container('}', depth, true);
      case '[': return container(']', depth, false);
      case 't': return lit("true");
      case 'f': return lit("false");
      case 'n': return lit("null");
      default: return number();
    }
  }
  bool container(char close, int depth, bool object) {
    ++m_p;
    ws();
    if (m_p < m_end && *m_p == close) {
      ++m_p;
      return true;
    }
    for (;;) {
      if (object) {
        if (m_p >= m_end || *m_p != '"' || !string()) return false;
        ws();
        if (m_p >= m_end || *m_p++ != ':') return false;
        ws();
      }
      if (!value(depth + 1)) return false;
      ws();
      if (m_p >= m_end) return false;
      char c = *m_p++;
      if (c == close) return true;
      if (c != ',') return false;
      ws();
    }
  }
  const char* m_p;
  const char* m_end;
};

// ---------------------------------------------------------------- connection

using Result = std::unique_ptr<PGresult, decltype(&PQclear)>;

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

// One connection; every failure is an Error(Data) naming the store and
// PostgreSQL (so that a server that is gone reads the same before and during
// a command), on one line, never holding a password.
class Conn {
 public:
  explicit Conn(const PgUri& u) : m_display(u.display), m_secrets(u.secrets) {
    // Keywords are applied in order and the URI (dbname, expanded) overrides
    // the defaults before it; client_encoding after it is always UTF8.
    const char* keys[] = {"connect_timeout", "fallback_application_name", "dbname", "client_encoding", nullptr};
    const char* values[] = {"10", "lstore", u.conninfo.c_str(), "UTF8", nullptr};
    m_c = PQconnectdbParams(keys, values, 1);
    if (!m_c) throw Error(ErrorKind::Data, m_display, "cannot connect to PostgreSQL: out of memory");
    if (PQstatus(m_c) != CONNECTION_OK) {
      std::string msg = scrub(one_line(PQerrorMessage(m_c)));
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
  ~Conn() { PQfinish(m_c); }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  const std::string& display() const { return m_display; }

  Result exec(const std::string& sql) { return check(PQexec(m_c, sql.c_str())); }
  // Text parameters (nullopt is NULL); `binary_last` sends the last one as
  // bytes (a bytea); `binary_result` asks for raw column bytes back.
  Result exec(const std::string& sql, const std::vector<std::optional<std::string_view>>& params,
              bool binary_last = false, bool binary_result = false) {
    std::vector<std::string> owned;
    std::vector<const char*> values;
    std::vector<int> lengths, formats;
    prepare(params, binary_last, owned, values, lengths, formats);
    return check(PQexecParams(m_c, sql.c_str(), static_cast<int>(params.size()), nullptr, values.data(), lengths.data(),
                              formats.data(), binary_result ? 1 : 0));
  }
  std::optional<std::string> scalar(const std::string& sql, const std::vector<std::optional<std::string_view>>& params = {}) {
    Result r = exec(sql, params);
    if (PQntuples(r.get()) == 0 || PQgetisnull(r.get(), 0, 0)) return std::nullopt;
    return std::string(PQgetvalue(r.get(), 0, 0));
  }

  // Runs a query and hands each row to `fn` as it arrives (single-row mode),
  // so a big collection is never held whole.
  void stream(const std::string& sql, const std::vector<std::optional<std::string_view>>& params,
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

  // COPY ... FROM STDIN: begin, data (whole rows), end.
  void copy_begin(const std::string& sql) {
    Result r(PQexec(m_c, sql.c_str()), PQclear);
    if (PQresultStatus(r.get()) != PGRES_COPY_IN) fail(r.get());
  }
  void copy_data(std::string_view rows) {
    if (PQputCopyData(m_c, rows.data(), static_cast<int>(rows.size())) != 1) fail(nullptr);
  }
  void copy_end() {
    if (PQputCopyEnd(m_c, nullptr) != 1) fail(nullptr);
    check(PQgetResult(m_c));
    while (PGresult* extra = PQgetResult(m_c)) PQclear(extra);
  }

  // After a failure: leave a COPY, roll back; the connection may be gone.
  void abort() noexcept {
    if (!m_c || PQstatus(m_c) != CONNECTION_OK) return;
    if (PQtransactionStatus(m_c) == PQTRANS_ACTIVE) {
      PQputCopyEnd(m_c, "lstore: aborted");
      while (PGresult* r = PQgetResult(m_c)) PQclear(r);
    }
    if (PQtransactionStatus(m_c) != PQTRANS_IDLE) PQclear(PQexec(m_c, "ROLLBACK"));
  }

  [[noreturn]] void fail(const PGresult* r) const { throw failure(r); }

 private:
  static void prepare(const std::vector<std::optional<std::string_view>>& params, bool binary_last,
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
  Result check(PGresult* raw) {
    Result r(raw, PQclear);
    ExecStatusType st = raw ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) fail(raw);
    return r;
  }
  // The server's own words (primary message and detail, never CONTEXT, which
  // quotes data), or libpq's when the connection is gone.
  Error failure(const PGresult* r) const {
    std::string msg;
    if (const char* primary = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : nullptr) {
      msg = primary;
      if (const char* detail = PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL)) msg += " (" + std::string(detail) + ")";
    } else {
      msg = PQerrorMessage(m_c);
    }
    msg = scrub(one_line(msg));
    if (msg.empty()) msg = "no reply from the server";
    return Error(ErrorKind::Data, m_display, "PostgreSQL error: " + msg);
  }
  std::string scrub(std::string msg) const { return scrub_secrets(std::move(msg), m_secrets); }

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
    m_c.exec("COMMIT");
    m_done = true;
  }

 private:
  Conn& m_c;
  bool m_done = false;
};

std::string_view cell(const PGresult* r, int row, int col) {
  return {PQgetvalue(r, row, col), static_cast<std::size_t>(PQgetlength(r, row, col))};
}
bool is_null(const PGresult* r, int row, int col) { return PQgetisnull(r, row, col) != 0; }

// Which of lstore's and LlamaIndex's tables the schema has.
std::set<std::string> existing_tables(Conn& c, const Place& place) {
  Result r = c.exec(
      "SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
      "WHERE n.nspname = $1 AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND c.relname IN "
      "('data_docstore', 'data_indexstore', 'data_chatstore', 'data_kvstore', 'lstore_store', 'lstore_files', 'lstore_entries')",
      {place.schema});
  std::set<std::string> out;
  for (int i = 0; i < PQntuples(r.get()); ++i) out.emplace(cell(r.get(), i, 0));
  return out;
}

bool has_rows(Conn& c, const Place& place, const char* table, std::optional<std::string_view> ns = std::nullopt) {
  std::string sql = "SELECT EXISTS (SELECT 1 FROM " + place.table(table) + (ns ? " WHERE namespace = $1)" : ")");
  return c.scalar(sql, ns ? std::vector<std::optional<std::string_view>>{*ns} : std::vector<std::optional<std::string_view>>{}) ==
         "t";
}

// lstore_store as a map (empty when the table is missing).
std::map<std::string, std::string> read_store_table(Conn& c, const Place& place, const std::set<std::string>& tables) {
  std::map<std::string, std::string> out;
  if (!tables.count("lstore_store")) return out;
  Result r = c.exec("SELECT key, value FROM " + place.table("lstore_store"));
  for (int i = 0; i < PQntuples(r.get()); ++i) out.emplace(cell(r.get(), i, 0), cell(r.get(), i, 1));
  return out;
}

// ---------------------------------------------------------------- writing

// LlamaIndex's DDL (FORMAT.md §8.2), created only when missing: an existing
// table (say one with value jsonb) is used as it is.
void create_native_table(Conn& c, const Place& place, const char* name) {
  std::string n = name;
  c.exec("CREATE TABLE " + place.table(n) +
         " (id SERIAL NOT NULL, key VARCHAR NOT NULL, namespace VARCHAR NOT NULL, value JSON, PRIMARY KEY (id), "
         "CONSTRAINT " + quote_ident(n + ":unique_key_namespace") + " UNIQUE (key, namespace))");
  c.exec("CREATE INDEX " + quote_ident(n + ":idx_key_namespace") + " ON " + place.table(n) + " (key, namespace)");
}

void create_tables(Conn& c, const Place& place, bool kv_table) {
  if (!c.scalar("SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1", {place.schema}))
    c.exec("CREATE SCHEMA " + quote_ident(place.schema));
  std::set<std::string> have = existing_tables(c, place);
  for (const char* t : {kDocTable, kIndexTable})
    if (!have.count(t)) create_native_table(c, place, t);
  if (kv_table && !have.count(kKvTable)) create_native_table(c, place, kKvTable);
  if (!have.count("lstore_store"))
    c.exec("CREATE TABLE " + place.table("lstore_store") + " (key text PRIMARY KEY, value text NOT NULL)");
  if (!have.count("lstore_files"))
    c.exec("CREATE TABLE " + place.table("lstore_files") +
           " (seq integer PRIMARY KEY, name text NOT NULL UNIQUE, kind text NOT NULL, rows_in text, layout text, "
           "bytes bytea)");
  if (!have.count("lstore_entries"))
    c.exec("CREATE TABLE " + place.table("lstore_entries") +
           " (file text NOT NULL, collection text NOT NULL, seq bigint NOT NULL, key text, value text, "
           "embedding float8[], PRIMARY KEY (file, collection, seq))");
}

// PostgresChatStore's table (created only when missing) and whether its
// elements are jsonb, which re-prints them.
bool chat_table_is_jsonb(Conn& c, const Place& place) {
  return c.scalar("SELECT udt_name FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 "
                  "AND column_name = 'value'",
                  {place.schema, std::string_view(kChatTable)}) == "_jsonb";
}

void create_chat_table(Conn& c, const Place& place) {
  std::string n = kChatTable;
  c.exec("CREATE TABLE " + place.table(n) + " (id SERIAL NOT NULL, key VARCHAR NOT NULL, value JSON[], PRIMARY KEY (id), " +
         "CONSTRAINT " + quote_ident(n + ":unique_key") + " UNIQUE (key))");
  c.exec("CREATE INDEX " + quote_ident(n + ":idx_key") + " ON " + place.table(n) + " (key)");
}

// An array literal of text elements ('{"a","b"}'), for a json[] parameter.
std::string array_literal(const std::vector<std::string>& items) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char ch : items[i]) {
      if (ch == '"' || ch == '\\') out += '\\';
      out += ch;
    }
    out += '"';
  }
  return out + "}";
}

// The chats the table holds, keys in id order, elements in array order.
ChatRows read_chat_table(Conn& c, const Place& place) {
  ChatRows rows;
  c.stream("SELECT t.key, e.v::text FROM " + place.table(kChatTable) +
               " t LEFT JOIN LATERAL unnest(t.value) WITH ORDINALITY AS e(v, n) ON true ORDER BY t.id, e.n",
           {}, [&](const PGresult* r) {
             if (is_null(r, 0, 1)) rows.add_key(cell(r, 0, 0));
             else rows.add(cell(r, 0, 0), std::string(cell(r, 0, 1)));
           });
  return rows;
}

// The chat file's rows as PostgresChatStore writes them, when every message
// survives the trip (json refuses NaN and \u0000; model_dump_json would
// print NaN as null); otherwise the file is only carried.
std::optional<ChatRows> native_chat_rows(const FileRecord& f) {
  try {
    ChatRows rows = chat_rows(f.bytes->view(), f.name, MessageText::ModelDumpJson);
    if (!rows.lossless) return std::nullopt;
    for (const auto& [key, msgs] : rows.keys) {
      if (!pg_text_ok(key)) return std::nullopt;
      for (const std::string& m : msgs)
        if (!pg_text_ok(m) || !PgJsonCheck(m).ok()) return std::nullopt;
    }
    return rows;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// Whether every entry of a docstore / index store can be a row of
// LlamaIndex's table: keyed collections only, keys PostgreSQL text holds,
// values its json type accepts, and no two collections in one namespace.
bool fits_native(const JsonDoc& doc, const Place& place, const char* table) {
  std::map<std::string, std::string> namespaces;  // namespace -> collection
  for (const Section& s : doc.sections()) {
    if (!s.outlined) continue;
    if (s.is_array) return false;
    if (namespaces.emplace(namespace_in(place, table, s.name), s.name).first->second != s.name) return false;
    std::size_t n = 0;
    for (const Entry& e : s.entries) {
      if (!pg_text_ok(e.key) || !pg_text_ok(e.raw) || !PgJsonCheck(e.raw).ok()) return false;
      if ((++n & 1023) == 0) doc.release_before(e.raw.data());  // a 1 GB docstore does not stay resident
    }
  }
  return true;
}

// File name -> the table its entries go to (files not listed: lstore_entries).
using Routes = std::map<std::string, std::string>;

Routes plan_routes(const Store& store, const Place& place) {
  Routes routes;
  if (store.docstore && fits_native(*store.docstore, place, kDocTable)) routes[store.docstore->name()] = kDocTable;
  if (store.index_store && fits_native(*store.index_store, place, kIndexTable))
    routes[store.index_store->name()] = kIndexTable;
  for (const FileInfo& f : store.files) {
    if (f.kind != FileKind::KvStore || !f.bytes) continue;
    try {
      if (fits_native(JsonDoc::read(f.name, f.bytes, JsonDialect::Python), place, kKvTable)) routes[f.name] = kKvTable;
    } catch (const std::exception&) {
      // Not readable as collections: carried as bytes.
    }
    break;  // the first KV file only
  }
  return routes;
}

// COPY text format: backslash, tab, newline and carriage return escaped.
void append_copy(std::string& out, std::string_view s) {
  std::size_t from = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    const char* esc = c == '\\' ? "\\\\" : c == '\t' ? "\\t" : c == '\n' ? "\\n" : c == '\r' ? "\\r" : nullptr;
    if (!esc) continue;
    out.append(s.data() + from, i - from);
    out += esc;
    from = i + 1;
  }
  out.append(s.data() + from, s.size() - from);
}

// A float8[] literal, each element in shortest round-trip form.
void append_vector(std::string& out, std::span<const double> v) {
  out += '{';
  char buf[32];
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v[i]);
    out.append(buf, end);
  }
  out += '}';
}

bool parse_vector(std::string_view text, std::vector<double>& out) {
  return parse_number_list<double>(text, '{', '}', out);
}

// The rows_in of a vector store file whose vectors are a PGVectorStore table.
constexpr std::string_view kPgVectorRoute = "pgvector:";
bool is_pgvector_route(std::string_view rows_in) { return rows_in.starts_with(kPgVectorRoute); }
// The rows_in of the files rebuilt from a PGVectorStore table written alone
// (docstore, index store, and the empty files persist writes beside them).
constexpr std::string_view kRebuiltRoute = "pgvector-nodes:";

// Rows sent as multi-row INSERTs with bound parameters ("INSERT INTO t (a, b)
// VALUES ($1, $2), ($3, $4), ..."), flushed before the protocol's 65535
// parameters or 4 MB of values: what PgSink writes without COPY and what the
// pgvector tables are written with.
class BatchedInsert {
 public:
  BatchedInsert(Conn& c, std::string head, std::size_t width, std::size_t max_params)
      : m_c(c), m_head(std::move(head)), m_width(width), m_max(max_params - max_params % width) {}
  // One row of `width` values (nullopt: NULL).
  void add(std::initializer_list<std::optional<std::string>> row) {
    for (const auto& v : row) {
      m_bytes += v ? v->size() : 0;
      m_params.push_back(v);
    }
    if (m_params.size() >= m_max || m_bytes >= (4u << 20)) flush();
  }
  void flush() {
    if (m_params.empty()) return;
    std::string sql = m_head + " VALUES ";
    for (std::size_t i = 0; i < m_params.size(); ++i) {
      sql += i % m_width == 0 ? (i ? "), ($" : "($") : ", $";
      sql += std::to_string(i + 1);
    }
    sql += ")";
    std::vector<std::optional<std::string_view>> views;
    views.reserve(m_params.size());
    for (const auto& v : m_params) views.push_back(v ? std::optional<std::string_view>(*v) : std::nullopt);
    m_c.exec(sql, views);
    m_params.clear();
    m_bytes = 0;
  }

 private:
  Conn& m_c;
  std::string m_head;
  std::size_t m_width, m_max;
  std::vector<std::optional<std::string>> m_params;
  std::size_t m_bytes = 0;
};

// Writes the records: entries by COPY into the table their file goes to (one
// COPY stays open while the table stays the same), lstore_files and
// lstore_store rows at the end. With `batched_inserts`, multi-row INSERTs
// instead of COPY (PGlite's socket server breaks on COPY FROM STDIN; every
// server takes them). A pgvector-routed file's entries are not written here:
// its table holds them.
class PgSink : public RecordSink {
 public:
  PgSink(Conn& c, const Place& place, const Routes& routes, bool batched_inserts = false)
      : m_c(c), m_place(place), m_routes(routes), m_batched(batched_inserts) {}

  void begin(const StoreHeader& h) override { m_header = h; }
  void file(const FileRecord& f) override {
    auto it = m_routes.find(f.name);
    std::string rows_in = f.layout.empty() ? "" : it != m_routes.end() ? it->second : kEntriesTable;
    if (f.kind == FileKind::ChatStore && !m_chats && f.bytes)
      if ((m_chats = native_chat_rows(f))) rows_in = kChatTable;
    m_files.push_back({f.name, f.kind, rows_in, f.layout, f.bytes});
  }
  void collection(const FileRecord& f, const std::string& name) override {
    m_file = f.name;
    m_collection = name;
    const std::string& table = m_files.back().rows_in;
    m_skip = is_pgvector_route(table);
    m_native = table != kEntriesTable;
    if (m_native && !m_skip) m_namespace = namespace_in(m_place, table, name);
    switch_copy(m_skip ? std::string() : table);
  }
  void entry(const EntryRecord& e) override {
    if (m_skip) return;
    if (!pg_text_ok(e.key) || (e.json.data() && !pg_text_ok(e.json)))
      throw Error(ErrorKind::Data, m_c.display(),
                  "PostgreSQL text cannot hold this entry (invalid UTF-8 or a NUL byte)",
                  m_file + ": " + m_collection + (e.has_key ? "" : "[" + std::to_string(e.seq) + "]"));
    if (m_batched) return insert_row(e);
    if (m_native) {
      append_copy(m_buf, e.key);
      m_buf += '\t';
      append_copy(m_buf, m_namespace);
      m_buf += '\t';
      append_copy(m_buf, e.json);
    } else {
      append_copy(m_buf, m_file);
      m_buf += '\t';
      append_copy(m_buf, m_collection);
      m_buf += '\t';
      m_buf += std::to_string(e.seq);
      m_buf += '\t';
      if (e.has_key) append_copy(m_buf, e.key);
      else m_buf += "\\N";
      m_buf += '\t';
      if (e.json.data() || e.vector.empty()) {
        append_copy(m_buf, e.json);
        m_buf += "\t\\N";
      } else {
        m_buf += "\\N\t";
        append_vector(m_buf, e.vector);
      }
    }
    m_buf += '\n';
    if (m_buf.size() >= (1u << 20)) flush();
  }
  void commit() override {
    switch_copy("");
    if (m_chats) write_chats(*m_chats);
    std::string sql = "INSERT INTO " + m_place.table("lstore_files") +
                      " (seq, name, kind, rows_in, layout, bytes) VALUES ($1, $2, $3, $4, $5, $6)";
    for (std::size_t i = 0; i < m_files.size(); ++i) {
      const FileRow& f = m_files[i];
      std::optional<std::string_view> bytes;
      if (f.layout.empty()) bytes = f.bytes ? f.bytes->view() : std::string_view("", 0);
      m_c.exec(sql,
               {std::to_string(i), f.name, file_kind_name(f.kind),
                f.rows_in.empty() ? std::nullopt : std::optional<std::string_view>(f.rows_in),
                f.layout.empty() ? std::nullopt : std::optional<std::string_view>(f.layout), bytes},
               true);
    }
    std::string put = "INSERT INTO " + m_place.table("lstore_store") + " (key, value) VALUES ($1, $2)";
    m_c.exec(put, {"format", std::to_string(m_header.format)});
    m_c.exec(put, {"dialect", m_header.dialect == Dialect::TypeScript ? "ts" : "python"});
    m_c.exec(put, {"era", m_header.era});
    m_c.exec(put, {"written_by", std::string("lstore ") + LSTORE_VERSION});
    m_c.exec(put, {"namespace", m_place.ns});
  }

 private:
  struct FileRow {
    std::string name;
    FileKind kind;
    std::string rows_in, layout;
    std::shared_ptr<Buffer> bytes;
  };

  void write_chats(const ChatRows& rows) {
    if (!existing_tables(m_c, m_place).count(kChatTable)) create_chat_table(m_c, m_place);
    std::string cast = chat_table_is_jsonb(m_c, m_place) ? "::jsonb[]" : "::json[]";
    std::string sql = "INSERT INTO " + m_place.table(kChatTable) + " (key, value) VALUES ($1, $2" + cast + ")";
    for (const auto& [key, msgs] : rows.keys) m_c.exec(sql, {key, array_literal(msgs)});
  }

  // The entry as the next row of the table's multi-row INSERT.
  void insert_row(const EntryRecord& e) {
    if (m_native) return m_insert->add({std::string(e.key), m_namespace, std::string(e.json)});
    std::optional<std::string> key = e.has_key ? std::optional<std::string>(std::string(e.key)) : std::nullopt;
    if (e.json.data() || e.vector.empty())
      return m_insert->add({m_file, m_collection, std::to_string(e.seq), key, std::string(e.json), std::nullopt});
    std::string v;
    append_vector(v, e.vector);
    m_insert->add({m_file, m_collection, std::to_string(e.seq), key, std::nullopt, std::move(v)});
  }

  void switch_copy(const std::string& table) {
    if (table == m_copy) return;
    if (!m_copy.empty()) {
      flush();
      if (!m_batched) m_c.copy_end();
    }
    m_copy = table;
    m_insert.reset();
    if (table.empty()) return;
    const bool native = table != kEntriesTable;
    const std::string into = m_place.table(table) +
                             (native ? " (key, namespace, value)" : " (file, collection, seq, key, value, embedding)");
    if (m_batched) m_insert.emplace(m_c, "INSERT INTO " + into, native ? 3 : 6, 6000);
    else m_c.copy_begin("COPY " + into + " FROM STDIN");
  }
  void flush() {
    if (m_batched) {
      if (m_insert) m_insert->flush();
      return;
    }
    if (!m_buf.empty()) m_c.copy_data(m_buf);
    m_buf.clear();
  }

  Conn& m_c;
  const Place& m_place;
  const Routes& m_routes;
  StoreHeader m_header;
  std::vector<FileRow> m_files;
  std::string m_copy;  // the table a COPY is open for
  std::string m_file, m_collection, m_namespace, m_buf;
  bool m_native = false;
  bool m_skip = false;     // the file's entries are in a pgvector table
  bool m_batched = false;  // INSERTs instead of COPY
  std::optional<BatchedInsert> m_insert;  // the open table's, when m_batched
  std::optional<ChatRows> m_chats;
};

// ---------------------------------------------------------------- pgvector tables

// One PGVectorStore table to write: a vector store namespace's rows, which
// stream from the store into INSERTs when it is written.
struct PgVectorPlan {
  std::string ns, file, table;  // table without schema
  int dim = 0;
  const VectorStoreDoc* vs = nullptr;
  bool has_rows = false;
};

// PGVectorStore's default embed_dim: the table of a store without vectors
// has it unless ?embed_dim= says otherwise.
constexpr int kDefaultEmbedDim = 1536;

// The tables a store's vector stores become and their files routed to them.
// The default namespace always gets a table (PGVectorStore creates it on
// first use); another namespace only when it has vectors. A table's
// dimension is embed_dim= or its first vector's: every row is checked
// against it as it is written.
std::vector<PgVectorPlan> plan_pgvector(const Store& store, const PgVectorOptions& o, Routes& routes) {
  std::vector<PgVectorPlan> plans;
  for (const VectorStoreDoc& vs : store.vector_stores) {
    const Section* emb = vs.doc.section("embedding_dict");
    PgVectorPlan plan{vs.ns, vs.doc.name(), pgvector_table_name(o, vs.ns), o.embed_dim.value_or(pgvector_first_dim(vs)),
                      &vs, emb && !emb->entries.empty()};
    if (!plan.has_rows && vs.ns != "default") continue;
    if (plan.dim == 0) plan.dim = kDefaultEmbedDim;
    if (plan.has_rows) routes[plan.file] = std::string(kPgVectorRoute) + plan.table;
    plans.push_back(std::move(plan));
  }
  return plans;
}

// The notes of what a table could not hold of its namespace's rows.
void pgvector_notes(const PgVectorPlan& plan, std::size_t rows, const PgVectorRowsReport& report,
                    const std::string& schema, std::vector<std::string>& notes) {
  const std::string where = schema + "." + plan.table;
  if (report.float32_changed) {
    char change[32];
    std::snprintf(change, sizeof change, "%.3g", report.max_change);
    notes.push_back(std::to_string(report.float32_changed) + " of " + std::to_string(rows) + " embeddings of " +
                    plan.file + " are float32 in " + where +
                    " (pgvector's type): read back, they are the float32 values (largest change " + change + ")");
  }
  if (report.nonfinite_metadata)
    notes.push_back(std::to_string(report.nonfinite_metadata) + " NaN/Infinity metadata values of " + plan.file +
                    "'s nodes are null in " + where + ".metadata_ (as PGVectorStore stores them)");
}

// What the tables would lose, without writing (convert --strict asks first):
// every row built and dropped.
std::vector<std::string> pgvector_losses(const Store& store, const std::vector<PgVectorPlan>& plans, const std::string& schema) {
  std::vector<std::string> notes;
  for (const PgVectorPlan& plan : plans) {
    if (!plan.has_rows) continue;
    PgVectorRowsReport report;
    int dim = plan.dim;
    std::size_t rows = 0;
    pgvector_each_row(store, *plan.vs, dim, report, [&](PgVectorRow&&) { ++rows; });
    pgvector_notes(plan, rows, report, schema, notes);
  }
  return notes;
}

// Whether `table` (no schema) exists in the place's schema.
bool table_exists(Conn& c, const Place& place, const std::string& table) {
  return c.scalar("SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                  "WHERE n.nspname = $1 AND c.relname = $2",
                  {place.schema, table})
      .has_value();
}

// The tables as PGVectorStore creates them, the rows in embedding_dict order
// (ids 1, 2, ...) by multi-row INSERTs with bound parameters, built from the
// store as they are sent (a batch at a time in memory); an HNSW index is
// built after the rows (faster than row by row, the same index). A row that
// cannot be built throws, and the caller's transaction takes everything back.
void write_pgvector(Conn& c, const Place& place, const PgVectorOptions& o, const Store& store,
                    const std::vector<PgVectorPlan>& plans, std::vector<std::string>& notes) {
  if (plans.empty()) return;
  c.exec("CREATE EXTENSION IF NOT EXISTS vector");
  for (const PgVectorPlan& plan : plans) {
    std::vector<std::string> ddl = pgvector_ddl(o, quote_ident(place.schema), plan.ns, plan.dim);
    std::size_t before_rows = ddl.size() - (o.hnsw() ? 1 : 0);
    for (std::size_t i = 0; i < before_rows; ++i) c.exec(ddl[i]);
    if (plan.has_rows) {
      BatchedInsert insert(c, "INSERT INTO " + place.table(plan.table) + " (text, metadata_, node_id, embedding)", 4, 4000);
      PgVectorRowsReport report;
      int dim = plan.dim;
      std::size_t rows = 0;
      pgvector_each_row(store, *plan.vs, dim, report, [&](PgVectorRow&& r) {
        insert.add({std::move(r.text), std::move(r.metadata), std::move(r.node_id), std::move(r.embedding)});
        ++rows;
      });
      insert.flush();
      pgvector_notes(plan, rows, report, place.schema, notes);
    }
    for (std::size_t i = before_rows; i < ddl.size(); ++i) c.exec(ddl[i]);
  }
}

// ---------------------------------------------------------------- reading

class PgSource : public RecordSource {
 public:
  PgSource(Conn& c, const Place& place, const PgVectorOptions& vectors = {})
      : m_c(c), m_place(place), m_vectors(vectors) {}

  StoreHeader header() override {
    m_tables = existing_tables(m_c, m_place);
    std::map<std::string, std::string> meta = read_store_table(m_c, m_place, m_tables);
    // lstore's tables describe this store only when written for this namespace.
    if (meta.count("format") && meta["namespace"] == m_place.ns && m_tables.count("lstore_files")) return ours(meta);
    return native();
  }

  bool next_file(FileRecord& f) override {
    if (m_next >= m_files.size()) return false;
    const FileRow& row = m_files[m_next++];
    f.name = row.name;
    f.kind = row.kind;
    if (!row.synthesized_layout.empty()) {
      f.layout = row.synthesized_layout;
      return true;
    }
    if (row.rows_in == kChatTable && row.synthesized) {
      f.bytes = chat_file_from_rows(read_chat_table(m_c, m_place), nullptr, m_c.display(), chat_table_is_jsonb(m_c, m_place));
      return true;
    }
    Result r = m_c.exec("SELECT layout, bytes FROM " + m_place.table("lstore_files") + " WHERE seq = $1",
                        {std::to_string(row.seq)}, false, true);
    if (PQntuples(r.get()) != 1) throw Error(ErrorKind::Data, m_c.display(), "a file row went missing", f.name);
    if (!is_null(r.get(), 0, 0)) f.layout = cell(r.get(), 0, 0);
    if (f.layout.empty()) f.bytes = Buffer::own(std::string(cell(r.get(), 0, 1)));
    if (row.rows_in == kChatTable && m_tables.count(kChatTable))
      f.bytes = chat_file_from_rows(read_chat_table(m_c, m_place), f.bytes, m_c.display() + ": " + f.name,
                                    chat_table_is_jsonb(m_c, m_place));
    return true;
  }

  void entries(const FileRecord& file, const std::string& collection,
               const std::function<void(const EntryRecord&)>& fn) override {
    const std::string& table = m_files[m_next - 1].rows_in;
    if (is_pgvector_route(table)) return pgvector_entries(table.substr(kPgVectorRoute.size()), collection, fn);
    if (table.starts_with(kRebuiltRoute)) return rebuilt_entries(table.substr(kRebuiltRoute.size()), collection, fn);
    if (table == kDocTable || table == kIndexTable || table == kKvTable) {
      if (!m_tables.count(table)) return;
      std::string ns = namespace_in(m_place, table, collection);
      m_c.stream("SELECT key, value::text FROM " + m_place.table(table) + " WHERE namespace = $1 ORDER BY id", {ns},
                 [&](const PGresult* r) {
                   EntryRecord e;
                   e.key = cell(r, 0, 0);
                   e.seq = kNoSeq;
                   e.json = is_null(r, 0, 1) ? std::string_view("null") : cell(r, 0, 1);
                   fn(e);
                 });
      return;
    }
    m_c.stream("SELECT key, seq, value, embedding FROM " + m_place.table(kEntriesTable) +
                   " WHERE file = $1 AND collection = $2 ORDER BY seq",
               {file.name, collection}, [&](const PGresult* r) {
                 EntryRecord e;
                 e.has_key = !is_null(r, 0, 0);
                 e.key = e.has_key ? cell(r, 0, 0) : std::string_view();
                 e.seq = std::strtoull(PQgetvalue(r, 0, 1), nullptr, 10);
                 if (!is_null(r, 0, 3)) {
                   if (!parse_vector(cell(r, 0, 3), m_packed))
                     throw Error(ErrorKind::Data, m_c.display(), "unreadable embedding",
                                 file.name + ": " + collection + "[" + std::string(e.key) + "]");
                   e.vector = m_packed;
                 } else {
                   e.json = is_null(r, 0, 2) ? std::string_view("null") : cell(r, 0, 2);
                 }
                 fn(e);
               });
  }

 private:
  struct FileRow {
    std::uint64_t seq = 0;
    std::string name;
    FileKind kind = FileKind::Other;
    std::string rows_in;
    std::string synthesized_layout;  // for a store LlamaIndex wrote
    bool synthesized = false;        // no lstore_files row: made from LlamaIndex's tables alone
  };

  // A SimpleVectorStore's collections from a PGVectorStore table, in id
  // order: embedding_dict (the float32 values), text_id_to_ref_doc_id and
  // metadata_dict (metadata_ without _node_content).
  void pgvector_entries(const std::string& table, const std::string& collection,
                        const std::function<void(const EntryRecord&)>& fn) {
    const bool vectors = collection == "embedding_dict";
    if (!vectors && collection != "text_id_to_ref_doc_id" && collection != "metadata_dict") return;
    const bool ref = collection == "text_id_to_ref_doc_id";
    if (vectors) note_unkeyed_rows(table);
    m_c.stream("SELECT node_id, " + std::string(vectors ? "embedding::text" : "metadata_::text") + " FROM " +
                   m_place.table(table) + " WHERE node_id IS NOT NULL ORDER BY id",
               {}, [&](const PGresult* r) {
                 EntryRecord e;
                 e.key = cell(r, 0, 0);
                 e.seq = kNoSeq;
                 std::string where = m_place.schema + "." + table + " node_id " + std::string(e.key);
                 if (vectors) {
                   if (is_null(r, 0, 1) || !parse_pgvector_text(cell(r, 0, 1), m_packed))
                     throw Error(ErrorKind::Data, m_c.display(), "unreadable embedding", where);
                   e.vector = m_packed;
                   return fn(e);
                 }
                 SimpleEntriesFromRow s;
                 try {
                   s = simple_entries_from_metadata(is_null(r, 0, 1) ? std::string_view("{}") : cell(r, 0, 1));
                 } catch (const std::exception&) {
                   throw Error(ErrorKind::Data, m_c.display(), "metadata_ is not a JSON object", where);
                 }
                 m_text = ref ? std::move(s.ref_doc_id_json) : std::move(s.metadata_json);
                 e.json = m_text;
                 fn(e);
               });
  }

  // Rows without a node_id have no key in a SimpleVectorStore (nor a node):
  // left out, and said with their count, once per table.
  void note_unkeyed_rows(const std::string& table) {
    if (!m_unkeyed_noted.insert(table).second) return;
    std::optional<std::string> n =
        m_c.scalar("SELECT count(*) FROM " + m_place.table(table) + " WHERE node_id IS NULL", {});
    if (n && *n != "0")
      m_notes.push_back(*n + " rows of " + m_place.schema + "." + table +
                        " have no node_id (NULL): left out (a vector store entry and a node are keyed by it)");
  }

  // The docstore and index store rebuilt from a PGVectorStore table's rows
  // (pgvector_rebuild.cpp), streamed in id order; graph_dict and an empty
  // namespace have no entries.
  void rebuilt_entries(const std::string& table, const std::string& collection,
                       const std::function<void(const EntryRecord&)>& fn) {
    const bool data = collection == coll::kDocData, meta = collection == coll::kDocMetadata,
               refs = collection == coll::kRefDocInfo, index = collection == coll::kIndexData;
    if (!data && !meta && !refs && !index) return;
    const std::string qualified = m_place.schema + "." + table;
    std::vector<std::string> ids;
    RefDocInfoBuilder ref_docs;
    m_c.stream("SELECT node_id, text, metadata_::text FROM " + m_place.table(table) +
                   " WHERE node_id IS NOT NULL ORDER BY id",
               {}, [&](const PGresult* r) {
                 std::string_view id = cell(r, 0, 0);
                 if (index) return ids.emplace_back(id), void();
                 RebuiltNode n;
                 try {
                   n = rebuild_node(id, is_null(r, 0, 1) ? std::string_view() : cell(r, 0, 1),
                                    is_null(r, 0, 2) ? std::string_view("null") : cell(r, 0, 2));
                 } catch (const std::runtime_error& e) {
                   throw Error(ErrorKind::Data, m_c.display(), e.what(), qualified + " node_id " + std::string(id));
                 }
                 if (refs) return ref_docs.add(n);
                 EntryRecord e;
                 e.key = n.id;
                 e.seq = kNoSeq;
                 e.json = data ? n.envelope : n.metadata_record;
                 fn(e);
               });
    if (index) {
      const std::string index_id = rebuilt_index_id(qualified);
      m_text = rebuilt_index_struct(index_id, ids);
      EntryRecord e;
      e.key = index_id;
      e.seq = kNoSeq;
      e.json = m_text;
      fn(e);
      m_notes.push_back("index_store.json: " + qualified + " does not keep the id LlamaIndex gave its index: the " +
                        std::to_string(ids.size()) + " nodes are in a vector_store index with the new id " + index_id);
    }
    if (refs) {
      for (const auto& [ref, value] : ref_docs.entries()) {
        EntryRecord e;
        e.key = ref;
        e.seq = kNoSeq;
        e.json = value;
        fn(e);
      }
      if (ref_docs.size())
        m_notes.push_back("docstore.json: the doc_hash records of the " + std::to_string(ref_docs.size()) +
                          " source documents (docstore/metadata[ref doc id]) are not in " + qualified +
                          ": not rebuilt (refresh_ref_docs will see those documents as new)");
    }
  }

  // A database holding only PGVectorStore's table (a VectorStoreIndex built
  // on PGVectorStore alone): the docstore and index store a SimpleVectorStore
  // index needs, rebuilt from the rows, and the graph store and empty image
  // namespace StorageContext.persist writes beside them. The float32 values
  // are said once.
  void add_rebuilt_from_pgvector() {
    const std::string table = pgvector_table_name(m_vectors, "default");
    if (!m_vectors.enabled || !table_exists(m_c, m_place, table)) return;
    const std::string route = std::string(kRebuiltRoute) + table;
    m_files.push_back({0, "docstore.json", FileKind::DocStore, route,
                       default_layout({coll::kDocData, coll::kDocMetadata, coll::kRefDocInfo}, Dialect::Python)});
    m_files.push_back({0, "index_store.json", FileKind::IndexStore, route, default_layout({coll::kIndexData}, Dialect::Python)});
    m_files.push_back({0, "graph_store.json", FileKind::GraphStore, route, default_layout({"graph_dict"}, Dialect::Python)});
    std::optional<std::string> n =
        m_c.scalar("SELECT count(*) FROM " + m_place.table(table) + " WHERE node_id IS NOT NULL", {});
    if (n && *n != "0")
      m_notes.push_back(*n + " embeddings of " + m_place.schema + "." + table +
                        " are float32 (pgvector's type): default__vector_store.json holds those values; the float64 "
                        "digits they were made from are not in the table");
    m_rebuilt = route;
  }

  // After add_native_pgvector: the empty image namespace persist writes when
  // the store has no image table.
  void add_rebuilt_image_namespace() {
    if (m_rebuilt.empty()) return;
    for (const FileRow& f : m_files)
      if (f.name == "image__vector_store.json") return;
    m_files.push_back({0, "image__vector_store.json", FileKind::VectorStore, m_rebuilt,
                       default_layout({"embedding_dict", "text_id_to_ref_doc_id", "metadata_dict"}, Dialect::Python)});
  }

  // The PGVectorStore tables of the URI's table= that no file of the store
  // stands for, as SimpleVectorStore files (default__vector_store.json,
  // <ns>__vector_store.json for data_<table>_<ns>): what a LlamaIndex user
  // wrote with PGVectorStore alone.
  void add_native_pgvector() {
    const PgVectorOptions& o = m_vectors;
    if (!o.enabled) return;
    for (const char* ns : {"default", "image"}) {
      std::string table = pgvector_table_name(o, ns), file = std::string(ns) + "__vector_store.json";
      if (!table_exists(m_c, m_place, table)) continue;
      bool standing = false;
      for (FileRow& f : m_files) standing = standing || f.name == file || f.rows_in == std::string(kPgVectorRoute) + table;
      if (standing) continue;
      m_files.push_back({0, file, FileKind::VectorStore, std::string(kPgVectorRoute) + table,
                         default_layout({"embedding_dict", "text_id_to_ref_doc_id", "metadata_dict"}, Dialect::Python)});
    }
  }

  // PostgresKVStore's rows as the kvstore.json SimpleKVStore would persist
  // (collections in the order they were first written), unless a file of
  // the store already stands for them.
  void add_native_kv() {
    if (!m_tables.count(kKvTable) || !has_rows(m_c, m_place, kKvTable)) return;
    for (const FileRow& f : m_files)
      if (f.rows_in == kKvTable || f.name == "kvstore.json") return;
    Result r = m_c.exec("SELECT namespace FROM " + m_place.table(kKvTable) + " GROUP BY namespace ORDER BY min(id)");
    std::vector<std::string> collections;
    for (int i = 0; i < PQntuples(r.get()); ++i) collections.emplace_back(cell(r.get(), i, 0));
    m_files.push_back({0, "kvstore.json", FileKind::KvStore, kKvTable, default_layout(collections, Dialect::Python)});
  }

  // PostgresChatStore's rows as a chat_store.json, unless a file of the
  // store already stands for them.
  void add_native_chats() {
    if (!m_tables.count(kChatTable) || !has_rows(m_c, m_place, kChatTable)) return;
    for (const FileRow& f : m_files)
      if (f.rows_in == kChatTable || f.name == kChatFileName) return;
    FileRow row;
    row.name = kChatFileName;
    row.kind = FileKind::ChatStore;
    row.rows_in = kChatTable;
    row.synthesized = true;
    m_files.push_back(std::move(row));
  }

  StoreHeader ours(std::map<std::string, std::string>& meta) {
    StoreHeader h;
    h.format = std::atoi(meta["format"].c_str());
    h.dialect = meta["dialect"] == "ts" ? Dialect::TypeScript : Dialect::Python;
    h.era = meta["era"];
    Result r = m_c.exec("SELECT seq, name, kind, rows_in FROM " + m_place.table("lstore_files") + " ORDER BY seq");
    for (int i = 0; i < PQntuples(r.get()); ++i)
      m_files.push_back({std::strtoull(PQgetvalue(r.get(), i, 0), nullptr, 10), std::string(cell(r.get(), i, 1)),
                         file_kind_from_name(cell(r.get(), i, 2)), std::string(cell(r.get(), i, 3)), {}});
    add_native_kv();
    add_native_chats();
    add_native_pgvector();
    return h;
  }

  // A store LlamaIndex wrote itself: docstore.json and index_store.json from
  // the collections its tables hold for this namespace.
  StoreHeader native() {
    std::vector<std::string> doc;
    if (m_tables.count(kDocTable))
      for (const std::string& coll : Place::docstore_collections())
        if (has_rows(m_c, m_place, kDocTable, m_place.native(coll))) doc.push_back(coll);
    if (!doc.empty())
      m_files.push_back({0, "docstore.json", FileKind::DocStore, kDocTable, default_layout(doc, Dialect::Python)});
    if (m_tables.count(kIndexTable) && has_rows(m_c, m_place, kIndexTable, m_place.native("index_store/data")))
      m_files.push_back({0, "index_store.json", FileKind::IndexStore, kIndexTable,
                         default_layout({"index_store/data"}, Dialect::Python)});
    if (doc.empty() && m_files.empty()) add_rebuilt_from_pgvector();
    add_native_kv();
    add_native_chats();
    add_native_pgvector();
    add_rebuilt_image_namespace();
    if (m_files.empty())
      throw Error(ErrorKind::Data, m_c.display(),
                  "no LlamaIndex store here (no data_docstore, data_kvstore or data_chatstore rows, no lstore tables)");
    return StoreHeader{};
  }

  Conn& m_c;
  const Place& m_place;
  std::set<std::string> m_tables;
  std::vector<FileRow> m_files;
  std::size_t m_next = 0;
  std::vector<double> m_packed;
  PgVectorOptions m_vectors;
  std::string m_text;
  std::string m_rebuilt;                   // the route of the rebuilt files, if any
  std::set<std::string> m_unkeyed_noted;   // tables whose NULL node_ids were counted
  std::vector<std::string> m_notes;        // what the store read here could not bring back

 public:
  const std::vector<std::string>& notes() const { return m_notes; }
};

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

// ---------------------------------------------------------------- the backend

class PostgresBackend : public Backend {
 public:
  explicit PostgresBackend(const std::string& uri) : m_uri(parse_uri(uri)), m_place{m_uri.schema, m_uri.ns} {}
  std::string describe() const override { return m_uri.display; }

  Store load() override {
    std::shared_ptr<Conn> conn = connection();
    Conn& c = *conn;
    Transaction snapshot(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    PgSource source(c, m_place, m_uri.vectors);
    Store store = assemble_store(source, describe());
    snapshot.commit();
    m_read_notes = source.notes();
    return store;
  }

  std::optional<std::vector<PlacedHit>> query_in_place(std::string_view ns, const VectorQuery& q) override {
    if (!m_uri.vectors.enabled) return std::nullopt;
    std::shared_ptr<Conn> conn = connection();
    const std::string table = pgvector_table_name(m_uri.vectors, ns);
    if (!table_exists(*conn, m_place, table))
      throw Error(ErrorKind::Data, describe(), "no PGVectorStore table " + m_place.schema + "." + table,
                  "", "give the table= the store was written with");
    PgVectorQuerySql sql = pgvector_query_sql(m_place.table(table), q);
    std::vector<std::optional<std::string_view>> params(sql.params.begin(), sql.params.end());
    Result r = conn->exec(sql.sql, params);
    std::vector<PlacedHit> hits;
    for (int i = 0; i < PQntuples(r.get()); ++i) {
      PlacedHit h;
      h.id = cell(r.get(), i, 0);
      // similarity = 1 - distance, in double as PGVectorStore computes it; NaN for a zero vector.
      h.score = is_null(r.get(), i, 1) ? std::nan("") : 1.0 - std::strtod(PQgetvalue(r.get(), i, 1), nullptr);
      h.text = cell(r.get(), i, 2);
      h.metadata_json = is_null(r.get(), i, 3) ? "null" : std::string(cell(r.get(), i, 3));
      hits.push_back(std::move(h));
    }
    return hits;
  }

  std::unique_ptr<WriteLock> lock(std::chrono::milliseconds wait) override {
    auto c = std::make_shared<Conn>(m_uri);
    // With pgvector tables, reads and the write under the lock use the lock's
    // own connection: PGlite's server (the tests' pgvector) takes one
    // connection at a time.
    if (m_uri.vectors.enabled) m_locked = c;
    return std::make_unique<PgWriteLock>(c, m_uri, m_place, wait);
  }

  void save(const Store& store, const SaveOptions& options) override {
    Routes routes = plan_routes(store, m_place);  // before connecting: it reads every docstore entry
    std::vector<std::string> notes;
    std::vector<PgVectorPlan> plans;
    if (m_uri.vectors.enabled) plans = plan_pgvector(store, m_uri.vectors, routes);
    std::shared_ptr<Conn> conn = connection();
    Conn& c = *conn;
    Transaction tx(c);
    bool kv = std::any_of(routes.begin(), routes.end(), [](const auto& r) { return r.second == kKvTable; });
    create_tables(c, m_place, kv);
    clear_target(c, store, routes, options.force, plans);
    PgSink sink(c, m_place, routes, m_uri.vectors.enabled);
    write_records(store, sink, options.progress);
    write_pgvector(c, m_place, m_uri.vectors, store, plans, notes);
    tx.commit();
    if (options.warn)
      for (const std::string& n : notes) options.warn(n);
  }

  std::vector<std::string> read_notes() const override { return m_read_notes; }

  std::vector<std::string> losses(const Store& store) const override {
    std::vector<std::string> notes;
    if (!m_uri.vectors.enabled) return notes;
    Routes routes = plan_routes(store, m_place);
    return pgvector_losses(store, plan_pgvector(store, m_uri.vectors, routes), m_place.schema);
  }

 private:
  // LlamaIndex namespaces this store has or will have in `table`: the usual
  // ones, those of the file about to be written, those of the store there now.
  std::set<std::string> namespaces(Conn& c, const Store& store, const Routes& routes, const char* table) {
    std::set<std::string> out;
    const bool doc = std::string(table) == kDocTable;
    if (doc)
      for (const std::string& coll : Place::docstore_collections()) out.insert(m_place.native(coll));
    else
      out.insert(m_place.native("index_store/data"));
    const std::optional<JsonDoc>& file = doc ? store.docstore : store.index_store;
    if (file && routes.count(file->name()))
      for (const Section& s : file->sections())
        if (s.outlined) out.insert(m_place.native(s.name));
    Result r = c.exec("SELECT layout FROM " + m_place.table("lstore_files") + " WHERE rows_in = $1 AND layout IS NOT NULL",
                      {std::string(table)});
    for (int i = 0; i < PQntuples(r.get()); ++i) {
      try {
        for (const std::string& coll : layout_collections(cell(r.get(), i, 0))) out.insert(m_place.native(coll));
      } catch (const std::exception&) {
        // An unreadable layout names no namespaces.
      }
    }
    return out;
  }

  // Refuses a non-empty target unless `force`; with it, deletes this store's
  // rows (inside the write's transaction).
  void clear_target(Conn& c, const Store& store, const Routes& routes, bool force,
                    const std::vector<PgVectorPlan>& plans) {
    std::set<std::string> tables = existing_tables(c, m_place);
    std::map<std::string, std::string> meta = read_store_table(c, m_place, tables);
    bool ours = !meta.empty() || has_rows(c, m_place, "lstore_files");
    if (ours && meta.count("namespace") && meta["namespace"] != m_place.ns)
      throw Error(ErrorKind::Data, describe(),
                  "schema " + m_place.schema + " holds the lstore store of " +
                      (meta["namespace"].empty() ? "no namespace" : "namespace " + meta["namespace"]),
                  "", "use one ?schema= per namespace");
    std::map<const char*, std::set<std::string>> native;
    std::string first;
    for (const char* t : {kDocTable, kIndexTable}) {
      native[t] = namespaces(c, store, routes, t);
      for (const std::string& ns : native[t])
        if (first.empty() && has_rows(c, m_place, t, ns)) first = std::string(t) + " " + ns;
    }
    for (const char* t : {kChatTable, kKvTable})
      if (first.empty() && tables.count(t) && has_rows(c, m_place, t)) first = t;
    std::vector<std::string> vector_tables;
    for (const PgVectorPlan& p : plans)
      if (table_exists(c, m_place, p.table)) {
        vector_tables.push_back(p.table);
        if (first.empty() && c.scalar("SELECT 1 FROM " + m_place.table(p.table) + " LIMIT 1")) first = p.table;
      }
    if (!force && (ours || !first.empty()))
      throw Error(ErrorKind::Data, describe(), "target store is not empty", ours ? "lstore_files" : first,
                  "use --force to replace it");
    // Made again as PGVectorStore makes it (the dimension may differ).
    for (const std::string& t : vector_tables) c.exec("DROP TABLE " + m_place.table(t));
    if (!ours && first.empty()) return;
    for (const char* t : {"lstore_entries", "lstore_files", "lstore_store"}) c.exec("DELETE FROM " + m_place.table(t));
    for (auto& [t, set] : native)
      for (const std::string& ns : set) c.exec("DELETE FROM " + m_place.table(t) + " WHERE namespace = $1", {ns});
    // The schema's chats and KV entries are the store's (PostgresChatStore
    // has no namespace, and a KV store's collections are its namespaces).
    for (const char* t : {kChatTable, kKvTable})
      if (tables.count(t)) c.exec("DELETE FROM " + m_place.table(t));
  }

  // The locked connection while a lock holds one, else a new one.
  std::shared_ptr<Conn> connection() {
    if (auto c = m_locked.lock()) return c;
    return std::make_shared<Conn>(m_uri);
  }

  PgUri m_uri;
  Place m_place;
  std::weak_ptr<Conn> m_locked;
  std::vector<std::string> m_read_notes;  // the last load()'s (PgSource::notes)
};

}  // namespace

std::unique_ptr<Backend> make_postgres_backend(const std::string& uri) {
  return std::make_unique<PostgresBackend>(uri);
}

}  // namespace lstore
