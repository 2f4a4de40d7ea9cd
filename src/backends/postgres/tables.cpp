// The schema's tables: catalog lookups and DDL (tables.hpp).
#include "tables.hpp"

namespace lstore::pg {
namespace {

// LlamaIndex's DDL (FORMAT.md §8.2), created only when missing: an existing
// table (say one with value jsonb) is used as it is.
void create_native_table(Conn& c, const Place& place, const char* name) {
  std::string n = name;
  c.exec("CREATE TABLE " + place.table(n) +
         " (id SERIAL NOT NULL, key VARCHAR NOT NULL, namespace VARCHAR NOT NULL, value JSON, PRIMARY KEY (id), "
         "CONSTRAINT " + quote_ident(n + ":unique_key_namespace") + " UNIQUE (key, namespace))");
  c.exec("CREATE INDEX " + quote_ident(n + ":idx_key_namespace") + " ON " + place.table(n) + " (key, namespace)");
}

}  // namespace

std::string namespace_in(const Place& place, std::string_view table, std::string_view collection) {
  return table == kKvTable ? std::string(collection) : place.native(collection);
}

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

bool has_rows(Conn& c, const Place& place, const char* table, std::optional<std::string_view> ns) {
  std::string sql = "SELECT EXISTS (SELECT 1 FROM " + place.table(table) + (ns ? " WHERE namespace = $1)" : ")");
  return c.scalar(sql, ns ? std::vector<std::optional<std::string_view>>{*ns} : std::vector<std::optional<std::string_view>>{}) ==
         "t";
}

// Whether `table` (no schema) exists in the place's schema.
bool table_exists(Conn& c, const Place& place, const std::string& table) {
  return c.scalar("SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                  "WHERE n.nspname = $1 AND c.relname = $2",
                  {place.schema, table})
      .has_value();
}

// lstore_store as a map (empty when the table is missing).
std::map<std::string, std::string> read_store_table(Conn& c, const Place& place, const std::set<std::string>& tables) {
  std::map<std::string, std::string> out;
  if (!tables.count("lstore_store")) return out;
  Result r = c.exec("SELECT key, value FROM " + place.table("lstore_store"));
  for (int i = 0; i < PQntuples(r.get()); ++i) out.emplace(cell(r.get(), i, 0), cell(r.get(), i, 1));
  return out;
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

}  // namespace lstore::pg
