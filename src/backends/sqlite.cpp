// The SQLite backend (sqlite:FILE): lstore's single-file store and backup.
// One database holds a whole store as records (records.hpp); the schema is
// documented in man/lstore-formats.5:
//
//   lstore_store(key, value)                       format, dialect, era, writer
//   lstore_files(seq, name, kind, layout, bytes)   one row per file, in order
//   lstore_entries(file, collection, seq, key, value)
//       value: the entry's JSON text, or for an embedding a BLOB of
//       little-endian float64s; JSON of 1 MiB or more outside the embedding
//       sections is a BLOB of its UTF-8 bytes (written in pieces: SQLite
//       would copy a TEXT value whole, 840 MB for a 10M-node index struct)
//
// The first chat store file is also kept as LlamaIndex's SQLiteChatStore
// keeps it (chat_rows.hpp), so SQLiteChatStore.from_params(database=FILE)
// reads and edits those chats:
//
//   data_chatstore(id INTEGER PK, "key" VARCHAR, value JSON)   one row per
//       message in order, value json.dumps(message.model_dump(mode="json"));
//       lstore_store's chat_file names the file
//
// A write builds a new database beside the target in one transaction,
// fsyncs it and renames it over the target (then fsyncs the directory), so a
// reader, or a crash, sees the old store or the new one. A database that
// SQLiteChatStore made itself (data_chatstore and no lstore tables) reads as
// a chat_store.json; lstore writes only the chats back into it, in place in
// one transaction, and never replaces that file.
#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "lstore/backend.hpp"
#include "lstore/error.hpp"
#include "core/fileio.hpp"
#include "core/sniff.hpp"
#include "lstore/version.hpp"
#include "chat_rows.hpp"
#include "records.hpp"
#include "records_detail.hpp"

namespace lstore {
namespace fs = std::filesystem;
namespace {

static_assert(std::endian::native == std::endian::little, "packed embeddings are stored little-endian");

constexpr int kApplicationId = 0x6C73746F;  // "lsto"
// JSON this large (outside the embedding sections) is stored as a BLOB.
constexpr std::size_t kLargeJson = std::size_t{1} << 20;

const char* kSchema = R"sql(
CREATE TABLE lstore_store (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE lstore_files (
  seq INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  layout TEXT,
  bytes BLOB
);
CREATE TABLE lstore_entries (
  file TEXT NOT NULL,
  collection TEXT NOT NULL,
  seq INTEGER NOT NULL,
  key TEXT,
  value NOT NULL,
  PRIMARY KEY (file, collection, seq)
);
)sql";

class Db {
 public:
  Db(const std::string& path, int flags, const std::string& display) : m_display(display) {
    if (sqlite3_open_v2(path.c_str(), &m_db, flags, nullptr) != SQLITE_OK) {
      std::string msg = m_db ? sqlite3_errmsg(m_db) : "out of memory";
      sqlite3_close(m_db);
      m_db = nullptr;
      throw Error(ErrorKind::Data, display, "cannot open SQLite database: " + msg);
    }
    sqlite3_busy_timeout(m_db, 5000);
  }
  ~Db() { sqlite3_close(m_db); }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  [[noreturn]] void fail(const std::string& what) const {
    throw Error(ErrorKind::Data, m_display, what + ": " + sqlite3_errmsg(m_db));
  }
  void exec(const char* sql) {
    if (sqlite3_exec(m_db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) fail("SQLite error");
  }
  sqlite3_stmt* prepare(const char* sql) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(m_db, sql, -1, &st, nullptr) != SQLITE_OK) fail("SQLite error");
    return st;
  }
  sqlite3* get() const { return m_db; }

 private:
  sqlite3* m_db = nullptr;
  std::string m_display;
};

// A prepared statement, finalized on scope exit.
class Stmt {
 public:
  Stmt(Db& db, const char* sql) : m_db(db), m_st(db.prepare(sql)) {}
  ~Stmt() { sqlite3_finalize(m_st); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  void text(int i, std::string_view s) { sqlite3_bind_text(m_st, i, s.data(), static_cast<int>(s.size()), SQLITE_STATIC); }
  void blob(int i, const void* p, std::size_t n) { sqlite3_bind_blob64(m_st, i, p, n, SQLITE_STATIC); }
  void integer(int i, std::int64_t v) { sqlite3_bind_int64(m_st, i, v); }
  void null(int i) { sqlite3_bind_null(m_st, i); }
  void zeroblob(int i, std::size_t n) { sqlite3_bind_zeroblob64(m_st, i, n); }
  // true while there is a row
  bool step() {
    int rc = sqlite3_step(m_st);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    m_db.fail("SQLite error");
  }
  void run() {
    step();
    sqlite3_reset(m_st);
    sqlite3_clear_bindings(m_st);
  }
  std::string_view column_text(int i) {
    auto p = reinterpret_cast<const char*>(sqlite3_column_text(m_st, i));
    return p ? std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(m_st, i))) : std::string_view();
  }
  std::string_view column_blob(int i) {
    auto p = static_cast<const char*>(sqlite3_column_blob(m_st, i));
    return {p ? p : "", static_cast<std::size_t>(sqlite3_column_bytes(m_st, i))};
  }
  int type(int i) { return sqlite3_column_type(m_st, i); }
  std::int64_t column_int(int i) { return sqlite3_column_int64(m_st, i); }

 private:
  Db& m_db;
  sqlite3_stmt* m_st;
};

const char* dialect_word(Dialect d) { return d == Dialect::TypeScript ? "ts" : "python"; }

// SQLiteChatStore's table, as SQLAlchemy creates it.
const char* kChatSchema = "CREATE TABLE data_chatstore (\n\tid INTEGER NOT NULL, \n\t\"key\" VARCHAR NOT NULL, \n\t"
                          "value JSON NOT NULL, \n\tPRIMARY KEY (id)\n);\n"
                          "CREATE INDEX ix_data_chatstore_id ON data_chatstore (id);\n"
                          "CREATE INDEX ix_data_chatstore_key ON data_chatstore (\"key\");";

bool has_table(Db& db, const char* name) {
  Stmt st(db, "SELECT count(*) FROM sqlite_master WHERE type='table' AND name=?1");
  st.text(1, name);
  return st.step() && st.column_int(0) == 1;
}

// The messages, one row each, in id order.
void insert_chats(Db& db, const ChatRows& rows) {
  Stmt ins(db, "INSERT INTO data_chatstore (\"key\", value) VALUES (?1, ?2)");
  for (const auto& [key, msgs] : rows.keys)
    for (const std::string& m : msgs) {
      ins.text(1, key);
      ins.text(2, m);
      ins.run();
    }
}

ChatRows read_chat_table(Db& db) {
  ChatRows rows;
  Stmt st(db, "SELECT \"key\", value FROM data_chatstore ORDER BY id");
  while (st.step()) rows.add(st.column_text(0), std::string(st.column_text(1)));
  return rows;
}

// Writes the records into a fresh database file.
class SqliteSink : public RecordSink {
 public:
  SqliteSink(const std::string& path, const std::string& display)
      : m_db(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, display), m_display(display) {
    // Tests lower SQLite's value limit to reach the error for a value over it.
    if (const char* max = std::getenv("LSTORE_SQLITE_MAX_LENGTH"); max && *max)
      sqlite3_limit(m_db.get(), SQLITE_LIMIT_LENGTH, std::atoi(max));
    // A new file that is renamed into place only when complete: no journal
    // is needed, and the file is fsynced once at the end.
    m_db.exec("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA page_size=8192;");
    m_db.exec(("PRAGMA application_id=" + std::to_string(kApplicationId) + "; PRAGMA user_version=" +
               std::to_string(kRecordFormat) + ";").c_str());
    m_db.exec(kSchema);
    m_db.exec("BEGIN");
    m_file.emplace(m_db, "INSERT INTO lstore_files(seq, name, kind, layout, bytes) VALUES (?1, ?2, ?3, ?4, ?5)");
    m_entry.emplace(m_db, "INSERT INTO lstore_entries(file, collection, seq, key, value) VALUES (?1, ?2, ?3, ?4, ?5)");
  }
  void begin(const StoreHeader& h) override { m_header = h; }
  void file(const FileRecord& f) override {
    if (f.kind == FileKind::ChatStore && m_chat_file.empty() && f.bytes) write_chats(f);
    m_file->integer(1, static_cast<std::int64_t>(m_files++));
    m_file->text(2, f.name);
    m_file->text(3, file_kind_name(f.kind));
    if (f.layout.empty()) m_file->null(4);
    else m_file->text(4, f.layout);
    if (f.bytes) m_file->blob(5, f.bytes->view().data(), f.bytes->view().size());
    else m_file->null(5);
    m_file->run();
  }
  void collection(const FileRecord& f, const std::string& name) override {
    m_file_name = f.name;
    m_collection = name;
    m_embeddings = records_detail::is_embedding_section(f.kind, name);
  }
  void entry(const EntryRecord& e) override {
    if (e.json.data() && large_json(e.json.size())) {
      entry_begin(e, e.json.size(), false);
      entry_piece(e.json);
      entry_end();
      return;
    }
    m_entry->text(1, m_file_name);
    m_entry->text(2, m_collection);
    m_entry->integer(3, static_cast<std::int64_t>(e.seq));
    if (e.has_key) m_entry->text(4, e.key);
    else m_entry->null(4);
    if (e.json.data()) m_entry->text(5, e.json);
    else m_entry->blob(5, e.vector.data(), e.vector.size_bytes());
    m_entry->run();
  }
  // A large JSON value: its row made with a zeroblob that SQLite writes as
  // pages of zeros without holding it, then filled through a blob handle.
  void entry_begin(const EntryRecord& e, std::size_t size, bool newline) override {
    if (!large_json(size)) return RecordSink::entry_begin(e, size, newline);
    const std::string place = m_file_name + ": " + m_collection + (e.has_key ? "[" + std::string(e.key) + "]" : "[" + std::to_string(e.seq) + "]");
    const auto limit = static_cast<std::size_t>(sqlite3_limit(m_db.get(), SQLITE_LIMIT_LENGTH, -1));
    if (size + e.key.size() + m_file_name.size() + m_collection.size() + 64 > limit)
      throw Error(ErrorKind::Data, m_display,
                  "a value of " + std::to_string(size) + " bytes, over SQLite's limit of " + std::to_string(limit) +
                      " bytes a row (SQLITE_MAX_LENGTH)",
                  place);
    m_entry->text(1, m_file_name);
    m_entry->text(2, m_collection);
    m_entry->integer(3, static_cast<std::int64_t>(e.seq));
    if (e.has_key) m_entry->text(4, e.key);
    else m_entry->null(4);
    m_entry->zeroblob(5, size);
    m_entry->run();
    if (sqlite3_blob_open(m_db.get(), "main", "lstore_entries", "value", sqlite3_last_insert_rowid(m_db.get()), 1,
                          &m_blob) != SQLITE_OK)
      m_db.fail("SQLite error");
    m_blob_at = 0;
    m_blob_size = size;
    m_json_blobs = true;
  }
  void entry_piece(std::string_view bytes) override {
    if (!m_blob) return RecordSink::entry_piece(bytes);
    if (bytes.size() > m_blob_size - m_blob_at) throw std::logic_error("more bytes than announced");
    if (!bytes.empty() &&
        sqlite3_blob_write(m_blob, bytes.data(), static_cast<int>(bytes.size()), static_cast<int>(m_blob_at)) != SQLITE_OK)
      m_db.fail("SQLite error");
    m_blob_at += bytes.size();
  }
  void entry_end() override {
    if (!m_blob) return RecordSink::entry_end();
    int rc = sqlite3_blob_close(m_blob);
    m_blob = nullptr;
    if (rc != SQLITE_OK) m_db.fail("SQLite error");
    if (m_blob_at != m_blob_size) throw std::logic_error("fewer bytes than announced");
  }
  ~SqliteSink() override {
    if (m_blob) sqlite3_blob_close(m_blob);
  }

  void commit() override {
    Stmt meta(m_db, "INSERT INTO lstore_store(key, value) VALUES (?1, ?2)");
    auto put = [&](const char* k, const std::string& v) {
      meta.text(1, k);
      meta.text(2, v);
      meta.run();
    };
    const int format = m_json_blobs ? std::max(m_header.format, kRecordFormatJsonBlobs) : m_header.format;
    put("format", std::to_string(format));
    if (format != kRecordFormat) m_db.exec(("PRAGMA user_version=" + std::to_string(format) + ";").c_str());
    put("dialect", dialect_word(m_header.dialect));
    put("era", m_header.era);
    put("written_by", std::string("lstore ") + LSTORE_VERSION);
    if (!m_chat_file.empty()) put(kChatFileKey, m_chat_file);
    m_file.reset();
    m_entry.reset();
    m_db.exec("COMMIT");
  }

 private:
  void write_chats(const FileRecord& f) {
    std::optional<ChatRows> rows = native_chat_rows(f.bytes->view(), f.name);
    if (!rows) return;  // carried as it is
    m_chat_file = f.name;
    m_db.exec(kChatSchema);
    insert_chats(m_db, *rows);
  }

  bool large_json(std::size_t size) const { return !m_embeddings && size >= kLargeJson; }

  Db m_db;
  std::string m_display;
  StoreHeader m_header;
  std::string m_chat_file;
  std::optional<Stmt> m_file, m_entry;
  std::size_t m_files = 0;
  std::string m_file_name, m_collection;
  bool m_embeddings = false;  // the collection's BLOBs are packed embeddings
  bool m_json_blobs = false;        // a large JSON value went in as a BLOB: format 2
  sqlite3_blob* m_blob = nullptr;  // the large value being written
  std::size_t m_blob_at = 0, m_blob_size = 0;
};

class SqliteSource : public RecordSource {
 public:
  SqliteSource(const std::string& path, const std::string& display)
      : m_db(path, SQLITE_OPEN_READONLY, display), m_display(display) {
    Stmt app(m_db, "PRAGMA application_id");
    std::int64_t id = app.step() ? app.column_int(0) : 0;
    m_ours = id == kApplicationId && has_table(m_db, "lstore_files");
    m_chats = has_table(m_db, kChatTable);
    if (!m_ours && !m_chats)
      throw Error(ErrorKind::Data, display,
                  "an SQLite database, but not an lstore store (no lstore_files table) nor a LlamaIndex chat store "
                  "(no data_chatstore table)");
  }
  Db* db() { return &m_db; }
  // lstore wrote it (otherwise SQLiteChatStore did).
  bool ours() const { return m_ours; }
  StoreHeader header() override {
    StoreHeader h;
    if (!m_ours) return h;
    Stmt st(m_db, "SELECT key, value FROM lstore_store");
    while (st.step()) {
      std::string_view k = st.column_text(0), v = st.column_text(1);
      if (k == "format") h.format = std::atoi(std::string(v).c_str());
      else if (k == "dialect") h.dialect = v == "ts" ? Dialect::TypeScript : Dialect::Python;
      else if (k == "era") h.era = v;
      else if (k == kChatFileKey) m_chat_file = v;
    }
    return h;
  }
  bool next_file(FileRecord& f) override {
    if (m_ours) {
      if (!m_files) m_files.emplace(m_db, "SELECT name, layout, bytes, kind FROM lstore_files ORDER BY seq");
      if (m_files->step()) {
        f.name = m_files->column_text(0);
        f.kind = file_kind_from_name(m_files->column_text(3));
        if (m_files->type(1) != SQLITE_NULL) f.layout = m_files->column_text(1);
        else f.bytes = Buffer::own(std::string(m_files->column_blob(2)));
        m_names.push_back(f.name);
        if (f.name == m_chat_file && m_chats) f.bytes = chat_file_from_rows(read_chat_table(m_db), f.bytes, m_display + ": " + f.name, false);
        return true;
      }
    }
    // SQLiteChatStore's rows with no file of lstore's to go in: a chat_store.json.
    if (m_synthesized || !m_chats || !m_chat_file.empty() ||
        std::find(m_names.begin(), m_names.end(), kChatFileName) != m_names.end())
      return false;
    m_synthesized = true;
    ChatRows rows = read_chat_table(m_db);
    if (rows.keys.empty() && m_ours) return false;
    f.name = kChatFileName;
    f.kind = FileKind::ChatStore;
    f.bytes = chat_file_from_rows(rows, nullptr, m_display, false);
    return true;
  }
  void entries(const FileRecord& file, const std::string& collection,
               const std::function<void(const EntryRecord&)>& fn) override {
    // A large BLOB of JSON is left out of the row (typeof() and length() do
    // not read it) and read through a blob handle in pieces: SQLite would
    // hold it whole (840 MB for a 10M-node index struct).
    const bool embeddings = records_detail::is_embedding_section(file.kind, collection);
    Stmt st(m_db, embeddings ? "SELECT key, seq, value, rowid, 0 FROM lstore_entries WHERE file = ?1 AND collection = ?2 ORDER BY seq"
                             : "SELECT key, seq, CASE WHEN typeof(value) = 'blob' AND length(value) >= ?3 THEN NULL ELSE value END, "
                               "rowid, typeof(value) = 'blob' AND length(value) >= ?3 "
                               "FROM lstore_entries WHERE file = ?1 AND collection = ?2 ORDER BY seq");
    st.text(1, file.name);
    st.text(2, collection);
    if (!embeddings) st.integer(3, static_cast<std::int64_t>(kLargeJson));
    std::vector<double> packed;
    std::int64_t rowid = 0;
    const std::function<void(const std::function<void(std::string_view)>&)> pieces =
        [&](const std::function<void(std::string_view)>& to) { read_blob(rowid, to); };
    while (st.step()) {
      EntryRecord e;
      e.has_key = st.type(0) != SQLITE_NULL;
      e.key = e.has_key ? st.column_text(0) : std::string_view();
      e.seq = static_cast<std::uint64_t>(st.column_int(1));
      if (st.column_int(4) != 0) {  // a large JSON value (SqliteSink::entry_begin)
        rowid = st.column_int(3);
        e.pieces = &pieces;
      } else if (st.type(2) == SQLITE_BLOB && !embeddings) {  // a JSON value kept as a BLOB
        e.json = st.column_blob(2);
      } else if (st.type(2) == SQLITE_BLOB) {
        std::string_view b = st.column_blob(2);
        if (b.size() % sizeof(double) != 0)
          throw Error(ErrorKind::Data, m_display, "packed embedding of " + std::to_string(b.size()) + " bytes",
                      file.name + ": " + collection + "[" + std::string(e.key) + "]");
        packed.resize(b.size() / sizeof(double));
        if (!b.empty()) std::memcpy(packed.data(), b.data(), b.size());  // an empty BLOB has no data pointer
        e.vector = packed;
      } else {
        e.json = st.column_text(2);
        if (!e.json.data()) e.json = std::string_view("", 0);
      }
      fn(e);
    }
  }

 private:
  // One row's value through a read-only blob handle, 1 MiB at a time.
  void read_blob(std::int64_t rowid, const std::function<void(std::string_view)>& to) {
    sqlite3_blob* blob = nullptr;
    if (sqlite3_blob_open(m_db.get(), "main", "lstore_entries", "value", rowid, 0, &blob) != SQLITE_OK) {
      sqlite3_blob_close(blob);
      m_db.fail("SQLite error");
    }
    struct Close {
      sqlite3_blob* b;
      ~Close() { sqlite3_blob_close(b); }
    } close{blob};
    const int size = sqlite3_blob_bytes(blob);
    std::string piece;
    for (int at = 0; at < size;) {
      const int n = std::min(size - at, 1 << 20);
      piece.resize(static_cast<std::size_t>(n));
      if (sqlite3_blob_read(blob, piece.data(), n, at) != SQLITE_OK) m_db.fail("SQLite error");
      to(piece);
      at += n;
    }
  }

  Db m_db;
  std::string m_display;
  bool m_ours = false, m_chats = false, m_synthesized = false;
  std::string m_chat_file;
  std::vector<std::string> m_names;
  std::optional<Stmt> m_files;
};

// The store is one chat store file and nothing else (what a database that
// SQLiteChatStore made reads as).
const FileInfo* only_chat_file(const Store& store) {
  if (store.files.size() != 1 || store.files[0].kind != FileKind::ChatStore || !store.files[0].bytes) return nullptr;
  if (store.docstore || store.index_store || store.graph_store || store.property_graph || !store.vector_stores.empty())
    return nullptr;
  return &store.files[0];
}

class SqliteBackend : public Backend {
 public:
  explicit SqliteBackend(std::string path) : m_path(std::move(path)) {}
  std::string describe() const override { return "sqlite:" + m_path; }
  std::string lock_path() const override { return m_path; }

  Store load() override { return load_mode(false, nullptr); }
  // The way back streamed (issue #20): each file rebuilt from the rows is
  // counted from its temporary file, not held (records_restream.hpp).
  Store load_streamed(const std::string* id) override {
    if (streaming_disabled()) return load();
    return load_mode(true, id);
  }

  Store load_mode(bool streamed, const std::string* id) {
    std::error_code ec;
    if (!fs::exists(m_path, ec)) throw Error(ErrorKind::Data, describe(), "no such file");
    if (fs::is_directory(m_path, ec)) throw Error(ErrorKind::Data, describe(), "is a directory, expected an SQLite file");
    if (!fs::is_regular_file(m_path, ec)) throw Error(ErrorKind::Data, describe(), "not a regular file (a FIFO, socket or device)");
    SqliteSource source(m_path, describe());
    return assemble_store(source, describe(), streamed, id);
  }

  void save(const Store& store, const SaveOptions& options) override {
    fs::path target = resolve_write_path(m_path);  // through a symlink: where it points
    std::error_code ec;
    if (fs::exists(target, ec)) {
      if (fs::is_directory(target, ec)) throw Error(ErrorKind::Data, describe(), "is a directory, expected an SQLite file");
      if (!fs::is_regular_file(target, ec)) throw Error(ErrorKind::Data, describe(), "not a regular file (a FIFO, socket or device)");
      // Only ever replace one of our own stores.
      SqliteSource existing(m_path, describe());
      if (!existing.ours()) {
        Db db(m_path, SQLITE_OPEN_READWRITE, describe());
        save_chats_in_place(db, store, options);
        return;
      }
      if (!options.force) {
        Stmt n(*existing.db(), "SELECT count(*) FROM lstore_files");
        if (n.step() && n.column_int(0) > 0)
          throw Error(ErrorKind::Data, describe(), "target store is not empty", "", "use --force to replace it");
      }
    }
    AtomicFile file(target);
    {
      SqliteSink sink(file.temp_path(), describe());
      write_records(store, sink, options.progress);
    }
    file.commit();
  }

 private:
  // Into SQLiteChatStore's own database: its rows replaced in one
  // transaction (SQLite's journal makes it all or nothing); nothing else of
  // the file is touched.
  void save_chats_in_place(Db& db, const Store& store, const SaveOptions& options) {
    const FileInfo* chat = only_chat_file(store);
    if (!chat)
      throw Error(ErrorKind::Data, describe(),
                  "a LlamaIndex chat store database (data_chatstore): lstore writes only a chat store into it", "",
                  "convert to a new sqlite: file for a whole store");
    ChatRows rows = chat_rows(chat->bytes->view(), chat->name, MessageText::JsonDumps);
    db.exec("BEGIN IMMEDIATE");
    try {
      Stmt n(db, "SELECT count(*) FROM data_chatstore");
      if (!options.force && n.step() && n.column_int(0) > 0)
        throw Error(ErrorKind::Data, describe(), "target store is not empty", kChatTable, "use --force to replace it");
      db.exec("DELETE FROM data_chatstore");
      insert_chats(db, rows);
      db.exec("COMMIT");
    } catch (...) {
      sqlite3_exec(db.get(), "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
  }

  std::string m_path;
};

}  // namespace

std::unique_ptr<Backend> make_sqlite_backend(const std::string& path) {
  return std::make_unique<SqliteBackend>(path);
}

}  // namespace lstore
