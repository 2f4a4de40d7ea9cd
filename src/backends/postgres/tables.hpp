// How a store is kept in PostgreSQL
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
//
// This header: where a store lives (its schema, LlamaIndex's tables and
// lstore's, created only when missing) and the catalog lookups.
#pragma once

#include <libpq-fe.h>

#include <algorithm>
#include <bit>
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

#include "backends/chat_rows.hpp"
#include "connection.hpp"

namespace lstore::pg {

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

inline constexpr const char* kDocTable = "data_docstore";
inline constexpr const char* kIndexTable = "data_indexstore";
inline constexpr const char* kEntriesTable = "lstore_entries";
inline constexpr const char* kKvTable = "data_kvstore";  // PostgresKVStore's default table_name "kvstore"
// The namespace column of a collection in a table of LlamaIndex's: the KV
// store's collections as they are, the docstore's with ?namespace= applied.
std::string namespace_in(const Place& place, std::string_view table, std::string_view collection);

// Which of lstore's and LlamaIndex's tables the schema has.
std::set<std::string> existing_tables(Conn& c, const Place& place);
bool has_rows(Conn& c, const Place& place, const char* table, std::optional<std::string_view> ns = std::nullopt);
// Whether `table` (no schema) exists in the place's schema.
bool table_exists(Conn& c, const Place& place, const std::string& table);
// lstore_store as a map (empty when the table is missing).
std::map<std::string, std::string> read_store_table(Conn& c, const Place& place, const std::set<std::string>& tables);
// LlamaIndex's tables (and data_kvstore with `kv_table`) and lstore's, each
// created only when missing: an existing table (say one with value jsonb)
// is used as it is.
void create_tables(Conn& c, const Place& place, bool kv_table);

// PostgresChatStore's table: created only when missing; whether its elements
// are jsonb, which re-prints them; the chats it holds, keys in id order.
void create_chat_table(Conn& c, const Place& place);
bool chat_table_is_jsonb(Conn& c, const Place& place);
ChatRows read_chat_table(Conn& c, const Place& place);

}  // namespace lstore::pg
