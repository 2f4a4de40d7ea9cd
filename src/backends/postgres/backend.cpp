// The PostgreSQL backend
// (postgresql://[user[:password]@]host[:port]/dbname[?schema=S&namespace=NS&libpq params]).
// The tables a store is kept in are described in tables.hpp; this file is
// the Backend over them: load in one REPEATABLE READ snapshot, save in one
// transaction, queries in place on PGVectorStore tables, the writers' lock.
#include <cmath>
#include <cstdlib>

#include "lstore/backend.hpp"
#include "lstore/error.hpp"
#include "pgvector_tables.hpp"
#include "store_rows.hpp"

namespace lstore {
namespace pg {
namespace {

// ---------------------------------------------------------------- the backend

class PostgresBackend : public Backend {
 public:
  explicit PostgresBackend(const std::string& uri) : m_uri(parse_uri(uri)), m_place{m_uri.schema, m_uri.ns} {}
  std::string describe() const override { return m_uri.display; }

  Store load() override {
    std::shared_ptr<Conn> conn = connection();
    Conn& c = *conn;
    Transaction snapshot(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    std::vector<std::string> notes;
    Store store = read_store(c, m_place, m_uri.vectors, describe(), notes);
    snapshot.commit();
    m_read_notes = std::move(notes);
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
    return make_write_lock(c, m_uri, m_place, wait);
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
    std::unique_ptr<RecordSink> sink = make_sink(c, m_place, routes, m_uri.vectors.enabled);
    write_records(store, *sink, options.progress);
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
}  // namespace pg

std::unique_ptr<Backend> make_postgres_backend(const std::string& uri) {
  return std::make_unique<pg::PostgresBackend>(uri);
}

}  // namespace lstore
