// The Redis backend (redis://[user:password@]host[:port][/db][?namespace=NS]).
// The keys a store is kept in are described in keys.hpp; this file is the
// Backend over them, and the write: every key staged, then renamed into
// place in one MULTI/EXEC.
#include "core/mapped_file.hpp"
#include "lstore/backend.hpp"
#include "lstore/version.hpp"
#include "store_rows.hpp"

namespace lstore {
namespace redis {
namespace {

class RedisSink : public RecordSink {
 public:
  RedisSink(Conn& c, const Keys& keys) : m_c(c), m_keys(keys), m_staging(keys.prefix + "staging/" + random_token() + "/") {}

  void begin(const StoreHeader& h) override { m_header = h; }
  void file(const FileRecord& f) override {
    flush();
    if (f.kind == FileKind::ChatStore && m_chat_file.empty() && f.bytes) write_chats(f);
    if (f.kind == FileKind::KvStore && m_kv_file.empty() && !f.layout.empty() && kv_names_ok(f.collections)) {
      m_kv_file = f.name;
      m_kv_collections = f.collections;
    }
    m_files.emplace_back(f.name);
    std::string key = stage(m_keys.file(f.name));
    if (f.layout.empty())
      m_c.append({"HSET", key, "kind", file_kind_name(f.kind), "bytes", f.bytes ? f.bytes->view() : std::string_view()});
    else
      m_c.append({"HSET", key, "kind", file_kind_name(f.kind), "layout", f.layout});
    m_kind = f.kind;
    m_file = f.name;
    maybe_drain();
  }
  void collection(const FileRecord&, const std::string& name) override {
    flush();
    std::string native = m_file == m_kv_file ? name : m_keys.native(m_kind, name);
    m_hash = native.empty() ? m_keys.data(m_file, name) : native;
    m_order = m_keys.order(m_file, name);
  }
  void entry(const EntryRecord& e) override {
    if (e.has_key) {
      m_fields.emplace_back(e.key);
      m_order_keys.emplace_back(e.key);
    } else {
      m_fields.push_back(std::to_string(e.seq));
    }
    if (e.json.data()) {
      m_values.emplace_back(e.json);
    } else {
      std::string packed(1, '\0');
      packed.append(reinterpret_cast<const char*>(e.vector.data()), e.vector.size_bytes());
      m_values.push_back(std::move(packed));
    }
    m_batch_bytes += m_fields.back().size() + m_values.back().size();
    if (m_fields.size() >= 512 || m_batch_bytes >= (4u << 20)) flush();
  }
  void commit() override {
    flush();
    std::string files = "[";
    for (std::size_t i = 0; i < m_files.size(); ++i) {
      if (i) files += ',';
      dump_string(files, m_files[i], JsonDialect::Compact);
    }
    files += ']';
    std::string store_key = stage(m_keys.store());
    m_c.append({"HSET", store_key, "format", std::to_string(m_header.format), "dialect",
                m_header.dialect == Dialect::TypeScript ? "ts" : "python", "era", m_header.era, "written_by",
                std::string("lstore ") + LSTORE_VERSION, "files", files, kChatFileKey, m_chat_file, "kv_file", m_kv_file});
    m_c.drain();
  }

  // Final key -> staging key, for everything written.
  const std::vector<std::pair<std::string, std::string>>& staged() const { return m_staged; }
  const std::string& staging_prefix() const { return m_staging; }

 private:
  // The chat file as RedisChatStore's lists, when its keys cannot be
  // mistaken for lstore's or the docstore's (otherwise it is only carried).
  void write_chats(const FileRecord& f) {
    std::optional<ChatRows> parsed = native_chat_rows(f.bytes->view(), f.name);
    if (!parsed) return;  // carried as it is
    const ChatRows& rows = *parsed;
    std::vector<std::string> reserved = m_keys.native_defaults();
    reserved.insert(reserved.end(), m_kv_collections.begin(), m_kv_collections.end());
    for (const auto& [key, msgs] : rows.keys)
      if (key.rfind("lstore/", 0) == 0 || std::find(reserved.begin(), reserved.end(), key) != reserved.end()) return;
    m_chat_file = f.name;
    for (const auto& [key, msgs] : rows.keys) m_chat_keys.push_back(key);
    for (const auto& [key, msgs] : rows.keys) {
      if (msgs.empty()) continue;  // Redis holds no empty list; LlamaIndex reads [] for a missing key
      std::vector<std::string_view> args{"RPUSH"};
      std::string staged = stage(key);
      args.push_back(staged);
      for (const std::string& m : msgs) args.push_back(m);
      m_c.append(args);
      maybe_drain();
    }
  }

  std::string stage(const std::string& final_key) {
    for (auto& [f, s] : m_staged)
      if (f == final_key) return s;
    m_staged.emplace_back(final_key, m_staging + final_key);
    return m_staged.back().second;
  }
  void flush() {
    std::string hash = m_fields.empty() ? std::string() : stage(m_hash);
    std::string order = m_order_keys.empty() ? std::string() : stage(m_order);
    if (!m_fields.empty()) {
      std::vector<std::string_view> args{"HSET", hash};
      for (std::size_t i = 0; i < m_fields.size(); ++i) {
        args.push_back(m_fields[i]);
        args.push_back(m_values[i]);
      }
      m_c.append(args);
    }
    if (!m_order_keys.empty()) {
      std::vector<std::string_view> args{"RPUSH", order};
      for (auto& k : m_order_keys) args.push_back(k);
      m_c.append(args);
    }
    m_fields.clear();
    m_values.clear();
    m_order_keys.clear();
    m_batch_bytes = 0;
    maybe_drain();
  }
  void maybe_drain() {
    if (m_c.pending() >= 64) m_c.drain();
  }

  Conn& m_c;
  const Keys& m_keys;
  std::string m_staging;
  StoreHeader m_header;
  // Collection names RedisKVStore would use as they are: none of lstore's,
  // the docstore's or a chat's keys.
  bool kv_names_ok(const std::vector<std::string>& collections) const {
    std::vector<std::string> reserved = m_keys.native_defaults();
    reserved.insert(reserved.end(), m_chat_keys.begin(), m_chat_keys.end());
    for (const std::string& c : collections)
      if (c.rfind("lstore/", 0) == 0 || std::find(reserved.begin(), reserved.end(), c) != reserved.end()) return false;
    return true;
  }

  std::vector<std::string> m_files;
  std::string m_chat_file, m_kv_file;
  std::vector<std::string> m_chat_keys, m_kv_collections;
  std::vector<std::pair<std::string, std::string>> m_staged;
  FileKind m_kind = FileKind::Other;
  std::string m_file, m_hash, m_order;
  std::vector<std::string> m_fields, m_values, m_order_keys;
  std::size_t m_batch_bytes = 0;
};

class RedisBackend : public Backend {
 public:
  explicit RedisBackend(const std::string& uri) : m_uri(parse_uri(uri)), m_keys(m_uri.ns) {}
  std::string describe() const override { return m_uri.display; }

  Store load() override {
    Conn c(m_uri);
    return read_store(c, m_keys, describe());
  }

  std::unique_ptr<WriteLock> lock(std::chrono::milliseconds wait) override {
    return make_write_lock(m_uri, m_keys.lock(), wait);
  }

  void save(const Store& store, const SaveOptions& options) override {
    Conn c(m_uri);
    // What is there now: this store's lstore keys and LlamaIndex's hashes.
    std::vector<std::string> old = existing_keys(c);
    if (!options.force && !old.empty())
      throw Error(ErrorKind::Data, describe(), "target store is not empty", old.front(), "use --force to replace it");
    // Staging keys a killed writer left behind (we hold the lock).
    for (const std::string& k : scan_keys(c, glob_escape(m_keys.prefix) + "staging/*")) c.command({"DEL", k});
    RedisSink sink(c, m_keys);
    try {
      write_records(store, sink, options.progress);
      std::set<std::string> written;
      for (auto& [final_key, staged] : sink.staged()) written.insert(final_key);
      sigbus_guard::fail_if_shrunk();
      c.append({"MULTI"});
      for (const std::string& k : old)
        if (!written.count(k)) c.append({"DEL", k});
      for (auto& [final_key, staged] : sink.staged()) c.append({"RENAME", staged, final_key});
      c.append({"EXEC"});
      c.drain();
    } catch (...) {
      try {
        c.drain();
        for (auto& [final_key, staged] : sink.staged()) c.command({"DEL", staged}, false);
      } catch (...) {
        // The connection is gone; the next writer removes the staging keys.
      }
      throw;
    }
  }

 private:
  std::vector<std::string> existing_keys(Conn& c) {
    std::vector<std::string> out;
    if (exists(c, m_keys.store())) out.push_back(m_keys.store());
    std::string p = glob_escape(m_keys.prefix);
    for (const char* part : {"file/*", "order/*", "data/*"})
      for (std::string& k : scan_keys(c, p + part)) out.push_back(std::move(k));
    for (const std::string& k : m_keys.native_defaults())
      if (exists(c, k)) out.push_back(k);
    for (const auto& [k, msgs] : read_chats(c).keys) out.push_back(k);
    // The KV file's collection hashes.
    std::string kv(str(c.command({"HGET", m_keys.store(), "kv_file"}).get()));
    if (!kv.empty()) {
      std::string layout(str(c.command({"HGET", m_keys.file(kv), "layout"}).get()));
      try {
        for (const std::string& coll : layout_collections(layout))
          if (exists(c, coll)) out.push_back(coll);
      } catch (const std::exception&) {
        // An unreadable layout names no hashes.
      }
    }
    return out;
  }

  RedisUri m_uri;
  Keys m_keys;
};

}  // namespace
}  // namespace redis

std::unique_ptr<Backend> make_redis_backend(const std::string& uri) { return std::make_unique<redis::RedisBackend>(uri); }

}  // namespace lstore
