// The Redis backend (redis://[user:password@]host[:port][/db][?namespace=NS]).
//
// The docstore and index store are kept exactly as LlamaIndex's
// RedisDocumentStore / RedisIndexStore keep them (FORMAT.md §8.1): one hash
// per collection, field = key, value = the entry's JSON text, with the node
// collection named <ns>/doc and the index collection <ns>/index:
//
//   docstore/doc, docstore/metadata, docstore/ref_doc_info, index_store/index
//
// Everything else lstore needs to give the files back byte for byte lives
// beside them under lstore/ (lstore/<NS>/ with ?namespace=NS), see
// man/lstore-formats.5:
//
//   lstore/store                  hash: format, dialect, era, written_by, files (JSON list)
//   lstore/file/<file>            hash: kind, and layout (JSON) or bytes (a carried file)
//   lstore/order/<file>/<coll>    list: a collection's keys in file order (hashes have none)
//   lstore/data/<file>/<coll>     hash: the collections of the other files (vector stores,
//                                 graphs); an array's elements under "0", "1", ...; a
//                                 packed embedding is "\0" + little-endian float64s
//
// The first standalone KV file (SimpleKVStore) keeps its collections where
// RedisKVStore does: one hash per collection, named by the collection
// (lstore/store's kv_file names that file), unless a name could be mistaken
// for lstore's or the docstore's keys.
//
// The first chat store file is kept as LlamaIndex's RedisChatStore keeps it
// (chat_rows.hpp): one list per chat key, named by the key, RPUSH'd
// json.dumps(message.dict()); lstore/store's chat_file names that file. Every
// list outside lstore/ whose elements are all chat messages is a chat key
// (RedisChatStore.get_keys is KEYS *), so chats LlamaIndex adds are seen.
//
// A write goes to staging keys first and is renamed into place in one
// MULTI/EXEC, so readers (and LlamaIndex) see the old store or the new one.
// Reads use HSCAN/LRANGE/HMGET, never KEYS.
#include <hiredis/hiredis.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <random>
#include <set>
#include <thread>
#include <unordered_set>

#include "lstore/backend.hpp"
#include "lstore/error.hpp"
#include "core/sniff.hpp"
#include "lstore/version.hpp"
#include "chat_rows.hpp"
#include "records.hpp"
#include "store_uri.hpp"

namespace lstore {
namespace {

static_assert(std::endian::native == std::endian::little, "packed embeddings are stored little-endian");

struct RedisUri {
  std::string host = "127.0.0.1";
  int port = 6379;
  int db = 0;
  std::string user, password, ns;
  std::string display;               // the URI with its password hidden (redact_store_name)
  std::vector<std::string> secrets;  // texts never to show (the password as written and decoded)
};

RedisUri parse_uri(const std::string& uri) {
  RedisUri u;
  if (uri.rfind("rediss://", 0) == 0)
    throw Error(ErrorKind::Usage, "rediss://", "TLS connections are not supported by this build's hiredis",
                "", "use redis:// through a TLS tunnel");
  StoreUri parts = StoreUri::parse(uri);
  if (parts.user) u.user = percent_decode(*parts.user);
  if (parts.password) u.password = percent_decode(*parts.password);
  std::string rest = parts.host_and_path;
  if (auto slash = rest.find('/'); slash != std::string::npos) {
    std::string db = rest.substr(slash + 1);
    rest.resize(slash);
    if (!db.empty()) {
      char* end = nullptr;
      long v = std::strtol(db.c_str(), &end, 10);
      if (*end || v < 0) throw Error(ErrorKind::Usage, "redis://", "the database in the URI is not a number: " + db);
      u.db = static_cast<int>(v);
    }
  }
  if (!rest.empty()) {
    if (auto colon = rest.rfind(':'); colon != std::string::npos && rest.find(']') == std::string::npos) {
      u.port = std::atoi(rest.c_str() + colon + 1);
      rest.resize(colon);
    }
    if (!rest.empty()) u.host = rest;
  }
  for (const StoreUri::Param& p : parts.params) {
    if (p.name == "namespace" && p.has_value) u.ns = percent_decode(p.value);
    else throw Error(ErrorKind::Usage, "redis://", "unknown URI parameter: " + p.name);
  }
  std::vector<std::string> from_env;
  if (u.password.empty())
    if (const char* env = std::getenv("REDISCLI_AUTH")) from_env.push_back(u.password = env);
  u.secrets = parts.secrets(std::move(from_env));
  u.display = parts.printable();
  return u;
}

using Reply = std::unique_ptr<redisReply, decltype(&freeReplyObject)>;

std::string_view str(const redisReply* r) { return r && r->str ? std::string_view(r->str, r->len) : std::string_view(); }

// One connection; every failure is an Error naming the store and Redis
// (so that a server that is gone reads the same before and during a
// command), never holding a password.
class Conn {
 public:
  explicit Conn(const RedisUri& u) : m_display(u.display), m_secrets(u.secrets) {
    timeval tv{5, 0};
    m_owner.reset(redisConnectWithTimeout(u.host.c_str(), u.port, tv));  // freed even if this constructor throws
    m_c = m_owner.get();
    if (!m_c || m_c->err) fail("cannot connect to Redis: ", m_c ? m_c->errstr : "out of memory");
    timeval io{120, 0};
    redisSetTimeout(m_c, io);
    if (!u.password.empty()) {
      Reply r = u.user.empty() ? command({"AUTH", u.password}, false) : command({"AUTH", u.user, u.password}, false);
      if (r->type == REDIS_REPLY_ERROR) fail("Redis authentication failed: ", str(r.get()));
    }
    if (u.db != 0) command({"SELECT", std::to_string(u.db)});
  }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // A command with binary-safe arguments; an error reply throws unless
  // `check` is false.
  Reply command(const std::vector<std::string_view>& args, bool check = true) {
    append(args);
    return reply(check);
  }
  void append(const std::vector<std::string_view>& args) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (auto a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    if (redisAppendCommandArgv(m_c, static_cast<int>(args.size()), argv.data(), lens.data()) != REDIS_OK) lost();
    ++m_pending;
  }
  Reply reply(bool check = true) {
    void* r = nullptr;
    if (redisGetReply(m_c, &r) != REDIS_OK || !r) lost();
    --m_pending;
    Reply out(static_cast<redisReply*>(r), freeReplyObject);
    if (check && out->type == REDIS_REPLY_ERROR) fail("Redis error: ", std::string(out->str, out->len));
    return out;
  }
  // Reads the replies of pipelined commands.
  void drain() {
    while (m_pending > 0) reply();
  }
  std::size_t pending() const { return m_pending; }

 private:
  [[noreturn]] void lost() { fail("Redis connection lost: ", m_c->errstr[0] ? m_c->errstr : "no reply"); }
  // hiredis's and the server's words may quote what they were sent.
  [[noreturn]] void fail(const char* what, std::string_view detail) const {
    throw Error(ErrorKind::Data, m_display, what + scrub_secrets(std::string(detail), m_secrets));
  }
  std::unique_ptr<redisContext, decltype(&redisFree)> m_owner{nullptr, &redisFree};
  redisContext* m_c = nullptr;
  std::string m_display;
  std::vector<std::string> m_secrets;
  std::size_t m_pending = 0;
};

// A glob pattern matching `s` literally.
std::string glob_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

// Where lstore keeps one store (see the top of this file).
struct Keys {
  std::string ns;      // LlamaIndex namespace replacing "docstore"/"index_store", or empty
  std::string prefix;  // "lstore/" or "lstore/<ns>/"

  explicit Keys(std::string n) : ns(std::move(n)), prefix("lstore/" + (ns.empty() ? "" : ns + "/")) {}
  std::string store() const { return prefix + "store"; }
  std::string lock() const { return prefix + "lock"; }
  std::string file(std::string_view name) const { return prefix + "file/" + std::string(name); }
  std::string order(std::string_view f, std::string_view c) const { return prefix + "order/" + std::string(f) + "/" + std::string(c); }
  std::string data(std::string_view f, std::string_view c) const { return prefix + "data/" + std::string(f) + "/" + std::string(c); }

  // LlamaIndex's hash for a collection of the docstore or index store file
  // (RedisDocumentStore names its node collection <ns>/doc, RedisIndexStore
  // its <ns>/index); empty for other files.
  std::string native(FileKind kind, std::string_view collection) const {
    if (kind != FileKind::DocStore && kind != FileKind::IndexStore) return {};
    std::string c(collection);
    if (!ns.empty()) {
      auto slash = c.find('/');
      c = ns + (slash == std::string::npos ? "/" + c : c.substr(slash));
    }
    if (c.size() >= 5 && c.compare(c.size() - 5, 5, "/data") == 0)
      c = c.substr(0, c.size() - 5) + (kind == FileKind::DocStore ? "/doc" : "/index");
    return c;
  }
  std::string ns_or(const char* d) const { return ns.empty() ? d : ns; }
  // The hashes a LlamaIndex-made store of this namespace has.
  std::vector<std::string> native_defaults() const {
    return {ns_or("docstore") + "/doc", ns_or("docstore") + "/ref_doc_info", ns_or("docstore") + "/metadata",
            ns_or("index_store") + "/index"};
  }
};

// Every key of `pattern`, by SCAN.
std::vector<std::string> scan_keys(Conn& c, const std::string& pattern) {
  std::vector<std::string> out;
  std::string cursor = "0";
  do {
    Reply r = c.command({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"});
    cursor = std::string(str(r->element[0]));
    for (std::size_t i = 0; i < r->element[1]->elements; ++i) out.emplace_back(str(r->element[1]->element[i]));
  } while (cursor != "0");
  return out;
}

bool exists(Conn& c, const std::string& key) { return c.command({"EXISTS", key})->integer > 0; }

// A list element RedisChatStore could have written: a JSON object with a role.
bool is_chat_message(std::string_view text) {
  try {
    Json m = parse(text);
    return m.is_object() && m.find("role") && m.find("role")->is_string();
  } catch (const ParseError&) {
    return false;
  }
}

// The chats this database holds: every list outside lstore/ whose elements
// are all chat messages, in key order (SCAN's order is the hash table's).
ChatRows read_chats(Conn& c) {
  std::vector<std::string> lists;
  std::string cursor = "0";
  do {
    Reply r = c.command({"SCAN", cursor, "COUNT", "1000", "TYPE", "list"});
    cursor = std::string(str(r->element[0]));
    for (std::size_t i = 0; i < r->element[1]->elements; ++i) {
      std::string_view k = str(r->element[1]->element[i]);
      if (k.rfind("lstore/", 0) != 0) lists.emplace_back(k);
    }
  } while (cursor != "0");
  std::sort(lists.begin(), lists.end());
  ChatRows rows;
  for (const std::string& k : lists) {
    // Another program's list (a job queue, say) is told by its first element,
    // without reading all of it.
    if (!is_chat_message(str(c.command({"LINDEX", k, "0"}).get()))) continue;
    Reply r = c.command({"LRANGE", k, "0", "-1"});
    bool chat = r->elements > 0;
    for (std::size_t i = 0; chat && i < r->elements; ++i) chat = is_chat_message(str(r->element[i]));
    if (!chat) continue;
    for (std::size_t i = 0; i < r->elements; ++i) rows.add(k, std::string(str(r->element[i])));
  }
  return rows;
}

std::string host_name() {
  char h[256] = {};
  ::gethostname(h, sizeof h - 1);
  return h;
}

// "<host>:<pid>.<random>": who holds a lock or wrote staging keys.
std::string random_token() {
  std::random_device rd;
  return host_name() + ":" + std::to_string(::getpid()) + "." + std::to_string(rd());
}

// True when `token` names a process of this host that no longer runs.
bool holder_is_gone(std::string_view token) {
  auto colon = token.rfind(':');
  if (colon == std::string_view::npos || token.substr(0, colon) != host_name()) return false;
  long pid = std::strtol(std::string(token.substr(colon + 1)).c_str(), nullptr, 10);
  return pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH;
}

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
    ChatRows rows;
    try {
      rows = chat_rows(f.bytes->view(), f.name, MessageText::JsonDumps);
    } catch (const Error&) {
      return;
    }
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

// Deletes the lock key only if it still holds the token ARGV[1].
constexpr const char* kReleaseScript =
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0";

// SET NX with an expiry (a crashed writer's lock goes away by itself),
// released only by its holder.
class RedisWriteLock : public WriteLock {
 public:
  RedisWriteLock(const RedisUri& u, std::string key, std::chrono::milliseconds wait)
      : m_c(u), m_key(std::move(key)), m_token(random_token()) {
    auto deadline = std::chrono::steady_clock::now() + wait;
    for (;;) {
      Reply r = m_c.command({"SET", m_key, m_token, "NX", "PX", "600000"});
      if (r->type == REDIS_REPLY_STATUS) return;
      Reply holder = m_c.command({"GET", m_key});
      std::string who(str(holder.get()));
      if (holder_is_gone(who)) {  // a writer killed with the lock held: take it over
        m_c.command({"EVAL", kReleaseScript, "1", m_key, who});
        continue;
      }
      if (std::chrono::steady_clock::now() >= deadline)
        throw Error(ErrorKind::Data, u.display, "locked by another writer (" + m_key + " held by " + who.substr(0, who.find('.')) + ")",
                    "", "retry later, or pass --wait SECONDS");
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  ~RedisWriteLock() override {
    try {
      m_c.command({"EVAL", kReleaseScript, "1", m_key, m_token});
    } catch (...) {
      // The key expires by itself.
    }
  }

 private:
  Conn m_c;
  std::string m_key, m_token;
};

class RedisBackend : public Backend {
 public:
  explicit RedisBackend(const std::string& uri) : m_uri(parse_uri(uri)), m_keys(m_uri.ns) {}
  std::string describe() const override { return m_uri.display; }

  Store load() override {
    Conn c(m_uri);
    RedisSource source(c, m_keys, describe());
    return assemble_store(source, describe());
  }

  std::unique_ptr<WriteLock> lock(std::chrono::milliseconds wait) override {
    return std::make_unique<RedisWriteLock>(m_uri, m_keys.lock(), wait);
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

std::unique_ptr<Backend> make_redis_backend(const std::string& uri) { return std::make_unique<RedisBackend>(uri); }

}  // namespace lstore
