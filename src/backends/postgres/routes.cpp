// Where each file's entries go (routes.hpp).
#include "routes.hpp"

#include "json_check.hpp"

namespace lstore::pg {
namespace {

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
      if (!pg_text_ok(e.key) || !pg_text_ok(e.raw) || !pg_json_ok(e.raw)) return false;
      if ((++n & 1023) == 0) doc.release_before(e.raw.data());  // a 1 GB docstore does not stay resident
    }
  }
  return true;
}

}  // namespace

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

std::optional<ChatRows> native_chat_rows(const FileRecord& f) {
  try {
    ChatRows rows = chat_rows(f.bytes->view(), f.name, MessageText::ModelDumpJson);
    if (!rows.lossless) return std::nullopt;
    for (const auto& [key, msgs] : rows.keys) {
      if (!pg_text_ok(key)) return std::nullopt;
      for (const std::string& m : msgs)
        if (!pg_text_ok(m) || !pg_json_ok(m)) return std::nullopt;
    }
    return rows;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace lstore::pg
