// Where a store is kept in Redis: the key names, and finding keys.
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
#pragma once

#include <bit>
#include <string>
#include <string_view>
#include <vector>

#include "lstore/store.hpp"
#include "backends/chat_rows.hpp"
#include "connection.hpp"

namespace lstore::redis {

static_assert(std::endian::native == std::endian::little, "packed embeddings are stored little-endian");

// A glob pattern matching `s` literally.
std::string glob_escape(std::string_view s);

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
std::vector<std::string> scan_keys(Conn& c, const std::string& pattern);
bool exists(Conn& c, const std::string& key);

// The chats this database holds: every list outside lstore/ whose elements
// are all chat messages, in key order (SCAN's order is the hash table's).
ChatRows read_chats(Conn& c);

}  // namespace lstore::redis
