// Reading a store back from the schema (store_rows.hpp): lstore's tables
// when it wrote them, else what LlamaIndex's own tables (and PGVectorStore's)
// hold, as the files LlamaIndex would persist.
#include <cstdlib>

#include "backends/store_builder.hpp"
#include "copy_encoding.hpp"
#include "store_rows.hpp"

namespace lstore::pg {
namespace {

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
      m_notes.push_back(*n + (*n == "1" ? " row of " : " rows of ") + m_place.schema + "." + table +
                        (*n == "1" ? " has" : " have") +
                        " no node_id (NULL): left out (a vector store entry and a node are keyed by it)");
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

}  // namespace

Store read_store(Conn& c, const Place& place, const PgVectorOptions& vectors, const std::string& display,
                 std::vector<std::string>& notes) {
  PgSource source(c, place, vectors);
  Store store = assemble_store(source, display);
  notes = source.notes();
  return store;
}

}  // namespace lstore::pg
