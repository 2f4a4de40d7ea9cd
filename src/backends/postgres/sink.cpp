// Writing a store's records into the schema (store_rows.hpp).
#include <string>

#include "lstore/version.hpp"
#include "batched_insert.hpp"
#include "copy_encoding.hpp"
#include "json_check.hpp"
#include "store_rows.hpp"

namespace lstore::pg {
namespace {

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

}  // namespace

std::unique_ptr<RecordSink> make_sink(Conn& c, const Place& place, const Routes& routes, bool batched_inserts) {
  return std::make_unique<PgSink>(c, place, routes, batched_inserts);
}

}  // namespace lstore::pg
