// The model of a LlamaIndex store: its KV collections (docstore, index store),
// its vector stores by namespace, its graph store and property graph store,
// plus what was found beside them. Backends fill it and write it back.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "lstore/jsondoc.hpp"

namespace lstore {

enum class Dialect { Python, TypeScript };

// What a file holds, decided from its bytes, never from its name.
enum class FileKind {
  DocStore,           // docstore.json / doc_store.json
  IndexStore,         // index_store.json
  VectorStore,        // a SimpleVectorStore (JSON)
  GraphStore,         // graph_store.json (SimpleGraphStore)
  PropertyGraph,      // property_graph_store.json
  KvStore,            // another SimpleKVStore file (collections of objects)
  ChatStore,          // SimpleChatStore
  LegacySaveToDisk,   // gpt_index 0.5 single-file save_to_disk()
  Faiss,              // a binary FAISS index
  LfsPointer,         // a Git LFS pointer instead of the real file
  Empty,              // zero bytes or whitespace only
  Sqlite,             // an SQLite database
  Pickle,             // a Python pickle
  ForeignJson,        // JSON that is not LlamaIndex's (LangChain.js, networkx, ...)
  Broken,             // looked like a store file but does not parse
  Other,              // anything else (code, notes, ...)
};
const char* file_kind_name(FileKind kind);
// The inverse (Other for a name it does not know), for backends reading a stored kind.
FileKind file_kind_from_name(std::string_view name);

struct FileInfo {
  std::string name;        // relative to the store
  FileKind kind = FileKind::Other;
  std::uint64_t size = 0;
  std::string detail;      // e.g. "FAISS IndexFlatL2 d=384 n=336"
  // The bytes of a file the model does not hold (FAISS, pickle, notes...),
  // so that a conversion can carry it along unchanged.
  std::shared_ptr<Buffer> bytes;
};

enum class Severity { Info, Warning, Error };
const char* severity_name(Severity s);

struct VectorStoreDoc {
  std::string ns;  // namespace ("default", "image", ...)
  JsonDoc doc;
};

// Canonical collection names (FORMAT.md §3.1, §4; TS §9).
namespace coll {
inline constexpr const char* kDocData = "docstore/data";
inline constexpr const char* kDocMetadata = "docstore/metadata";
inline constexpr const char* kRefDocInfo = "docstore/ref_doc_info";
inline constexpr const char* kIndexData = "index_store/data";
}  // namespace coll

// What a streaming read counted in one collection of a file (a store read
// for a summary or one id: Backend::load_streamed).
struct CollectionCounts {
  std::size_t entries = 0;   // every entry, duplicate keys too
  std::size_t distinct = 0;  // distinct keys: what LlamaIndex sees (Section::size())
  // Element counts of the values, as vector_store_info() takes them: the
  // first entry's, and whether any other entry differs.
  std::optional<std::size_t> dim;
  bool mixed_dims = false;
  std::size_t triplets = 0;  // graph_dict: the pairs of every entry's list
  // Index structs too large to keep (stream_index_store.hpp): the node count
  // count_index_struct() would give, by struct id. The sample holds each
  // such struct cut down to its first node.
  std::map<std::string, std::size_t, std::less<>> struct_nodes;
};

// Per file, per collection. A file missing here was read whole (it is small,
// or not a store file whose counts are enough).
// Thrown by a writer given a streamed store that it could not write exactly
// as the store read whole would be written (an entry that is not JSON, bytes
// it cannot keep as text): nothing has been written, and the caller reads the
// store whole and writes that instead (which reports or carries the fault).
struct StreamedWriteRefused : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct StreamedCounts {
  std::map<std::string, std::map<std::string, CollectionCounts, std::less<>>, std::less<>> files;
  // The bytes of each of these files as read (open for pread), so that a
  // command may stream them again (convert writes them entry by entry).
  std::map<std::string, std::shared_ptr<Buffer>, std::less<>> sources;
  const CollectionCounts* find(std::string_view file, std::string_view collection) const;
};

class Store {
 public:
  std::string location;  // as the user named it
  Dialect dialect = Dialect::Python;
  std::string era;       // e.g. "0.12.x", "0.10.48-0.11.x", "TS"

  std::vector<FileInfo> files;
  std::optional<JsonDoc> docstore;
  std::optional<JsonDoc> index_store;
  std::optional<JsonDoc> graph_store;
  std::optional<JsonDoc> property_graph;
  std::vector<VectorStoreDoc> vector_stores;  // in file-name order
  // One file given on its own (`ls persist/docstore.json`): its siblings
  // are not looked at, so their absence is no finding.
  bool single_file = false;
  // Set when the store was read for its summary only (`ls`): the large
  // collections of these files hold only their first entries in the model,
  // and their counts are here. Such a store is never written.
  std::shared_ptr<const StreamedCounts> streamed;
  // The counts of `collection` of `doc` when they were streamed, else nullptr.
  const CollectionCounts* streamed_counts(const JsonDoc& doc, std::string_view collection) const;

  // The docstore's collection `name` (docstore/data, ...); nullptr if absent.
  const Section* doc_collection(const char* name) const;
  // The index store's struct collection (Python index_store/data, TS docstore/data).
  const Section* index_collection() const;
  const VectorStoreDoc* vector_store(std::string_view ns) const;
  // Every JSON file the model holds, in file order of kind: docstore, index
  // store, graph store, property graph, then the vector stores.
  std::vector<const JsonDoc*> documents() const;
  // JsonDoc::verify() on every document, both cores at work: what every
  // writer calls before it writes, so that no corrupt entry is carried on.
  void verify() const;
  // Starts verify()'s check of every value as read, on two other threads,
  // so that it runs while an edit is planned: verify() then
  // waits for it and checks only what it did not pass (edited values; a bad
  // one again, for its error and only if it is still in the store).
  void start_precheck();
  // How many threads the precheck may use (2 at the start): a writer lends
  // one to its copy while it copies, and gives it back after.
  void pace_precheck(unsigned threads) const;
  std::shared_ptr<struct Precheck> precheck;  // set by start_precheck()
  // The model's document written to `name`, or nullptr.
  const JsonDoc* document(std::string_view name) const;
};

}  // namespace lstore
