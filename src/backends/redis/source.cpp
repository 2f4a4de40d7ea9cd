// Reading a store back from Redis (store_rows.hpp).
#include <unordered_set>

#include "core/sniff.hpp"
#include "store_rows.hpp"

namespace lstore::redis {
namespace {

class RedisSource : public RecordSource {
 public:
  RedisSource(Conn& c, const Keys& keys, std::string display) : m_c(c), m_keys(keys), m_display(std::move(display)) {}

  StoreHeader header() override {
    StoreHeader h;
    Reply r = m_c.command({"HGETALL", m_keys.store()});
    if (r->elements == 0) return native_header();
    m_ours = true;
    for (std::size_t i = 0; i + 1 < r->elements; i += 2) {
      std::string_view k = str(r->element[i]), v = str(r->element[i + 1]);
      if (k == "format") h.format = std::atoi(std::string(v).c_str());
      else if (k == "dialect") h.dialect = v == "ts" ? Dialect::TypeScript : Dialect::Python;
      else if (k == "era") h.era = v;
      else if (k == kChatFileKey) m_chat_file = v;
      else if (k == "kv_file") m_kv_file = v;
      else if (k == "files") {
        Json files = parse(v);
        if (files.is_array())
          for (const Json& f : files.as_array())
            if (f.is_string()) m_names.push_back(f.as_string());
      }
    }
    // Chats LlamaIndex put here after lstore wrote a store without any.
    if (m_chat_file.empty() && std::find(m_names.begin(), m_names.end(), kChatFileName) == m_names.end())
      add_native_chats();
    return h;
  }

  bool next_file(FileRecord& f) override {
    if (!m_ours || m_next >= m_names.size()) {
      std::size_t i = m_next++ - (m_ours ? m_names.size() : 0);
      if (i >= m_native.size()) return false;
      f = m_native[i];
      return true;
    }
    f.name = m_names[m_next++];
    Reply r = m_c.command({"HGETALL", m_keys.file(f.name)});
    if (r->elements == 0) throw Error(ErrorKind::Data, m_display, "the store lists a file it does not hold", f.name);
    bool has_bytes = false;
    for (std::size_t i = 0; i + 1 < r->elements; i += 2) {
      std::string_view k = str(r->element[i]), v = str(r->element[i + 1]);
      if (k == "kind") f.kind = file_kind_from_name(v);
      else if (k == "layout") f.layout = v;
      else if (k == "bytes") {
        f.bytes = Buffer::own(std::string(v));
        has_bytes = true;
      }
    }
    if (f.layout.empty() && !has_bytes) f.bytes = Buffer::own({});
    if (f.name == m_chat_file) f.bytes = chat_file_from_rows(read_chats(m_c), f.bytes, m_display + ": " + f.name, false);
    return true;
  }

  void entries(const FileRecord& file, const std::string& collection,
               const std::function<void(const EntryRecord&)>& fn) override {
    std::string native = file.name == m_kv_file ? collection : m_keys.native(file.kind, collection);
    std::string hash = native.empty() ? m_keys.data(file.name, collection) : native;
    if (!m_ours) {
      hscan(hash, [&](std::string_view k, std::string_view v) { deliver(k, true, kNoSeq, v, fn); });
      return;
    }
    std::string order = m_keys.order(file.name, collection);
    long long n = m_c.command({"LLEN", order})->integer;
    if (n == 0) {  // an array, or an empty collection: elements under "0", "1", ...
      std::vector<std::pair<std::uint64_t, std::string>> items;
      hscan(hash, [&](std::string_view k, std::string_view v) {
        items.emplace_back(std::strtoull(std::string(k).c_str(), nullptr, 10), std::string(v));
      });
      std::sort(items.begin(), items.end());
      for (auto& [seq, v] : items) deliver({}, false, seq, v, fn);
      return;
    }
    // Keyed: the order list, then the values in batches; keys LlamaIndex
    // deleted meanwhile are skipped, keys it added come last.
    std::unordered_set<std::string> seen;
    constexpr long long kChunk = 1000;
    for (long long at = 0; at < n; at += kChunk) {
      Reply keys = m_c.command({"LRANGE", order, std::to_string(at), std::to_string(at + kChunk - 1)});
      std::vector<std::string_view> args{"HMGET", hash};
      for (std::size_t i = 0; i < keys->elements; ++i) args.push_back(str(keys->element[i]));
      Reply values = m_c.command(args);
      for (std::size_t i = 0; i < keys->elements && i < values->elements; ++i) {
        if (values->element[i]->type == REDIS_REPLY_NIL) continue;
        std::string_view k = str(keys->element[i]);
        seen.emplace(k);
        deliver(k, true, kNoSeq, str(values->element[i]), fn);
      }
    }
    if (m_c.command({"HLEN", hash})->integer > static_cast<long long>(seen.size()))
      hscan(hash, [&](std::string_view k, std::string_view v) {
        if (!seen.count(std::string(k))) deliver(k, true, kNoSeq, v, fn);
      });
  }

 private:
  // A store LlamaIndex wrote itself: its docstore and index store hashes.
  StoreHeader native_header() {
    std::vector<std::string> doc_colls;
    const char* names[] = {"data", "ref_doc_info", "metadata"};
    std::string dns = m_keys.ns_or("docstore"), ins = m_keys.ns_or("index_store");
    for (const char* n : names) {
      std::string coll = "docstore/" + std::string(n);
      if (exists(m_c, m_keys.native(FileKind::DocStore, coll))) doc_colls.push_back(coll);
    }
    if (!doc_colls.empty()) {
      FileRecord f;
      f.name = "docstore.json";
      f.kind = FileKind::DocStore;
      f.layout = default_layout(doc_colls, Dialect::Python);
      m_native.push_back(f);
    }
    if (exists(m_c, m_keys.native(FileKind::IndexStore, "index_store/data"))) {
      FileRecord f;
      f.name = "index_store.json";
      f.kind = FileKind::IndexStore;
      f.layout = default_layout({"index_store/data"}, Dialect::Python);
      m_native.push_back(f);
    }
    add_native_chats();
    if (m_native.empty())
      throw Error(ErrorKind::Data, m_display,
                  "no LlamaIndex store here (no " + dns + "/doc or " + ins + "/index hash, no chat lists, no " +
                      m_keys.store() + ")");
    return StoreHeader{};
  }
  // RedisChatStore's lists as a chat_store.json, when there are any.
  void add_native_chats() {
    ChatRows rows = read_chats(m_c);
    if (rows.keys.empty()) return;
    FileRecord f;
    f.name = kChatFileName;
    f.kind = FileKind::ChatStore;
    f.bytes = chat_file_from_rows(rows, nullptr, m_display, false);
    m_native.push_back(std::move(f));
  }
  void hscan(const std::string& hash, const std::function<void(std::string_view, std::string_view)>& fn) {
    std::string cursor = "0";
    do {
      Reply r = m_c.command({"HSCAN", hash, cursor, "COUNT", "1000"});
      cursor = std::string(str(r->element[0]));
      const redisReply* items = r->element[1];
      for (std::size_t i = 0; i + 1 < items->elements; i += 2) fn(str(items->element[i]), str(items->element[i + 1]));
    } while (cursor != "0");
  }
  void deliver(std::string_view key, bool has_key, std::uint64_t seq, std::string_view value,
               const std::function<void(const EntryRecord&)>& fn) {
    EntryRecord e;
    e.key = key;
    e.has_key = has_key;
    e.seq = seq;
    if (!value.empty() && value[0] == '\0') {
      if ((value.size() - 1) % sizeof(double) != 0)
        throw Error(ErrorKind::Data, m_display, "packed embedding of " + std::to_string(value.size() - 1) + " bytes",
                    std::string(key));
      m_packed.resize((value.size() - 1) / sizeof(double));
      if (value.size() > 1) std::memcpy(m_packed.data(), value.data() + 1, value.size() - 1);
      e.vector = m_packed;
    } else {
      e.json = value.data() ? value : std::string_view("", 0);
    }
    fn(e);
  }

  Conn& m_c;
  const Keys& m_keys;
  std::string m_display;
  bool m_ours = false;
  std::string m_chat_file, m_kv_file;
  std::vector<std::string> m_names;
  std::vector<FileRecord> m_native;
  std::size_t m_next = 0;
  std::vector<double> m_packed;
};

}  // namespace

Store read_store(Conn& c, const Keys& keys, const std::string& display) {
  RedisSource source(c, keys, display);
  return assemble_store(source, display);
}

}  // namespace lstore::redis
