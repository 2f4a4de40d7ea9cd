// lstore validate on a store read for its summary (Backend::load_streamed):
// each file streamed once through the outline's visitor, keeping per node a
// fixed record of 56 bytes (id hash, content hash, metadata digest,
// ref doc, flags) and per vector or index reference an 8-byte hash, instead
// of the store model (about 0.9 KB a node). Cross-file checks are lookups in
// sorted hash arrays.
//
// It answers only when it is sure to answer as the loaded path would: the
// entry checks find nothing, so the report is the layout's findings alone.
// Anything else (a finding, a duplicate key or hash, a TS or legacy store,
// a file shape it does not follow) gives nullopt, and the caller validates
// the store loaded whole, which words and orders every finding as always.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <functional>
#include <new>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/hash.hpp"
#include "core/outline.hpp"
#include "core/plain_json.hpp"
#include "core/stream_index_store.hpp"
#include "lstore/error.hpp"
#include "lstore/faiss.hpp"
#include "lstore/json.hpp"
#include "lstore/model.hpp"
#include "lstore/progress.hpp"
#include "lstore/validate.hpp"
#include "ops/diagnose.hpp"
#include "ops/validate_checks.hpp"

namespace lstore {
namespace {

// The streamed path cannot answer: the loaded path validates the store.
struct Unsure {};
[[noreturn]] void unsure() { throw Unsure{}; }

std::uint64_t id_hash(std::string_view s) { return std::hash<std::string_view>{}(s); }

// As JsonDoc::verify checks each value: what json.load accepts.
void require_json(std::string_view raw) {
  if (raw.empty()) unsure();
  bool plain = (raw.front() == '[' && plain_number_array(raw)) || (raw.front() == '"' && plain_ascii_string(raw));
  if (!plain && !accepts_json(raw)) unsure();
}

void require_entry_json(const StreamEntry& e) {
  require_json(e.raw);
  if (!e.raw_key.empty()) require_json(e.raw_key);
}

bool sorted_has(const std::vector<std::uint64_t>& v, std::uint64_t h) { return std::binary_search(v.begin(), v.end(), h); }

// Sorts, and is unsure of a duplicate (a repeated key, or two of one hash).
void sort_distinct(std::vector<std::uint64_t>& v) {
  std::sort(v.begin(), v.end());
  if (std::adjacent_find(v.begin(), v.end()) != v.end()) unsure();
}

// Where a file's bytes come from: the descriptor the streamed read kept
// (fd >= 0), or the bytes the model holds (a small file read whole). Unsure
// of a file the streamed read only sampled, and of one the model transcoded
// (UTF-16, ...), whose held bytes are not the file's.
struct DocBytes {
  int fd = -1;
  std::size_t size = 0;
  std::string_view held;
};
DocBytes doc_bytes(const Store& store, const JsonDoc& doc) {
  if (store.streamed) {
    auto it = store.streamed->sources.find(doc.name());
    if (it != store.streamed->sources.end()) {
      if (it->second->fd() < 0) unsure();
      return {it->second->fd(), it->second->view().size(), {}};
    }
    if (store.streamed->files.count(doc.name())) unsure();  // a sample
  }
  for (const FileInfo& f : store.files)
    if (f.name == doc.name() && f.size != doc.bytes().size()) unsure();  // transcoded
  return {-1, doc.bytes().size(), doc.bytes()};
}

// A streamed file's progress: the scan reports offsets, the ticker takes increments.
class OffsetTicker {
 public:
  explicit OffsetTicker(ProgressTicker& progress) : m_progress(progress) {}
  void operator()(std::size_t offset) {
    if (offset > m_told) m_progress.add(offset - m_told), m_told = offset;
  }

 private:
  ProgressTicker& m_progress;
  std::size_t m_told = 0;
};

void stream_doc(const Store& store, const JsonDoc& doc, OutlineVisitor& v, ProgressTicker& progress) {
  const DocBytes in = doc_bytes(store, doc);
  OffsetTicker passed(progress);
  if (in.fd >= 0) stream_file(in.fd, in.size, v, std::ref(passed));
  else stream_object(in.held, v);
  passed(in.size);
}

// Root members: each name once; a scalar member checked as JSON.
class FileVisitor : public OutlineVisitor {
 public:
  void section(std::string_view name, std::string_view raw_key, bool container, bool is_array,
               std::string_view raw) override {
    require_json(raw_key);
    if (!m_names.emplace(name).second) unsure();
    if (!container) require_json(raw);
    m_section = std::string(name);
    m_container = container;
    m_is_array = is_array;
    opened(container, is_array);
  }
  void entry(const StreamEntry& e) override {
    require_entry_json(e);
    take(e);
  }
  void section_end(const Span&) override {
    closed();
    m_section.clear();
  }

 protected:
  virtual void opened(bool container, bool is_array) { (void)container, (void)is_array; }
  virtual void take(const StreamEntry& e) { (void)e; }
  virtual void closed() {}
  std::string m_section;
  bool m_container = false, m_is_array = false;

 private:
  std::unordered_set<std::string> m_names;
};

// Hashes of the ids the index structs hold: nodes_dict keys (the vectors an
// index has) and values (the nodes it references).
struct IndexRefs {
  bool present = false;
  std::vector<std::uint64_t> keys, values;
};

// The index store read by stream_index_refs() in 1 MiB windows: a struct
// over millions of nodes is one string the outline would hold whole (and
// visit_vector_struct_refs() unescape into a second copy). It follows only
// Python vector structs, as visit_vector_struct_refs() takes them; where it
// is unsure, so is this path (the loaded path decodes any other kind).
void read_index_refs(const Store& store, const JsonDoc& doc, IndexRefs& out, ProgressTicker& progress) {
  auto sink = [&](std::string_view key, std::string_view value) {
    out.keys.push_back(id_hash(key));
    out.values.push_back(id_hash(value));
  };
  const DocBytes in = doc_bytes(store, doc);
  OffsetTicker passed(progress);
  const bool read = in.fd >= 0 ? stream_index_refs(in.fd, in.size, sink, std::ref(passed)) : stream_index_refs(in.held, sink);
  if (!read) unsure();
  passed(in.size);
}

// What the checks need of one docstore node: 56 bytes, held for every node at once.
struct NodeRec {
  std::uint64_t id = 0;
  std::array<unsigned char, 32> content_hash{};
  std::uint64_t metadata_digest = 0;
  std::uint32_t ref = 0;   // index in the ref pool + 1; 0: no SOURCE
  std::uint8_t type = 0;   // index in kTypes
  bool has_hash = false;
  bool has_metadata = false;
  bool listed = false;
};

static_assert(sizeof(NodeRec) <= 56, "a node's record is the bulk of validate's memory at 10M nodes");

const char* const kTypes[] = {"1", "2", "3", "4", "Document"};  // "5" is a finding
constexpr std::uint8_t kDocumentCode = 3;  // "4"
bool is_document(std::uint8_t t) { return t == 3 || t == 4; }

struct Nodes {
  std::vector<NodeRec> recs;  // sorted by id once docstore/data is read
  std::deque<std::string> refs;  // the distinct ref doc ids (a deque: the views below stay valid)
  std::unordered_map<std::string_view, std::uint32_t> ref_at;
  bool sorted = false;

  NodeRec* find(std::string_view id) { return find_hash(id_hash(id)); }
  NodeRec* find_hash(std::uint64_t h) {
    auto it = std::lower_bound(recs.begin(), recs.end(), h, [](const NodeRec& r, std::uint64_t x) { return r.id < x; });
    return it != recs.end() && it->id == h ? &*it : nullptr;
  }
  std::uint32_t intern(const std::string& ref) {
    if (auto it = ref_at.find(ref); it != ref_at.end()) return it->second;
    refs.push_back(ref);
    return ref_at.emplace(refs.back(), static_cast<std::uint32_t>(refs.size())).first->second;
  }
  const std::string* ref(const NodeRec& n) const { return n.ref ? &refs[n.ref - 1] : nullptr; }
};

class DocstoreVisitor : public FileVisitor {
 public:
  DocstoreVisitor(Nodes& nodes, const JsonDoc& decoder) : m_nodes(nodes), m_decoder(decoder) {}
  bool data = false, meta = false, info = false;
  std::vector<std::uint64_t> stored_hashes, info_keys;

 protected:
  void opened(bool container, bool is_array) override {
    const bool ours = m_section.rfind("docstore/", 0) == 0;
    if (ours && (!container || is_array)) unsure();  // bad-shape, or entries without keys
    if (m_section == coll::kDocData) {
      if (data || info) unsure();  // ref_doc_info is read against the nodes
      data = true;
    } else if (m_section == coll::kDocMetadata) {
      meta = true;
    } else if (m_section == coll::kRefDocInfo) {
      info = true;
      finish_data();
    }
  }
  void take(const StreamEntry& e) override {
    if (m_section == coll::kDocData) node(e);
    else if (m_section == coll::kDocMetadata) metadata(e);
    else if (m_section == coll::kRefDocInfo) ref_doc(e);
  }
  void closed() override {
    if (m_section == coll::kDocData) finish_data();
  }

 public:
  void finish_data() {
    if (m_nodes.sorted) return;
    std::sort(m_nodes.recs.begin(), m_nodes.recs.end(), [](const NodeRec& a, const NodeRec& b) { return a.id < b.id; });
    for (std::size_t i = 1; i < m_nodes.recs.size(); ++i)
      if (m_nodes.recs[i].id == m_nodes.recs[i - 1].id) unsure();
    m_nodes.sorted = true;
    check_pending();
  }

 private:
  // check_nodes() of validate.cpp, finding nothing.
  void node(const StreamEntry& se) {
    Entry e{se.key, se.raw_key, se.raw, se.elements};
    Node n;
    try {
      n = decode_node(m_decoder, e);
    } catch (const Error&) {
      unsure();
    }
    const Json& dd = n.data;
    if (dd.find("extra_info")) unsure();  // legacy: other hashes, other rules
    std::uint8_t type = 0;
    while (type < std::size(kTypes) && n.type_code != kTypes[type]) ++type;
    if (type == std::size(kTypes)) unsure();
    if (n.type_code == "4" && !dd.find("class_name")) unsure();
    if (const Json* v = dd.find("metadata"); v && !v->is_object() && !v->is_null()) unsure();
    if (const Json* v = dd.find("text"); v && !v->is_string()) unsure();
    if (const Json* v = dd.find("relationships"); v && !v->is_object()) unsure();
    if (const Json* v = dd.find("id_"); v && !v->is_string()) unsure();
    if (n.id != se.key && dd.find("id_")) unsure();
    NodeRec r;
    r.id = id_hash(se.key);
    r.type = type;
    if (n.ref_doc_id) r.ref = m_nodes.intern(*n.ref_doc_id);
    bool text_node = n.class_name == "TextNode" || n.class_name == "IndexNode";
    if (text_node && n.type_code == "1" && !dd.find("hash")) {
      if (!pack_sha256_hex(text_node_hash(n.text, n.metadata), r.content_hash)) unsure();
      r.has_hash = true;
    }
    r.metadata_digest = metadata_dict_digest(n.metadata);
    m_nodes.recs.push_back(r);
  }

  // A docstore/metadata entry, as much as its checks need: kept until
  // docstore/data is read when it comes first (LlamaIndex's from_documents
  // writes metadata first), else checked at once.
  struct MetaRec {
    std::uint64_t key = 0;
    std::uint64_t stored_hash = 0;  // of doc_hash, when a string
    std::array<unsigned char, 32> packed{};
    std::uint32_t ref = 0;  // ref_doc_id when a string: index in the pool + 1
    bool has_stored_hash = false, packs = false;
  };

  void metadata(const StreamEntry& e) {
    Json v = parse(e.raw);
    if (!v.is_object()) unsure();
    MetaRec m;
    m.key = id_hash(e.key);
    if (const Json* r = v.find("ref_doc_id"); r && r->is_string()) m.ref = m_nodes.intern(r->as_string());
    if (const Json* h = v.find("doc_hash"); h && h->is_string()) {
      m.has_stored_hash = true;
      m.stored_hash = id_hash(h->as_string());
      m.packs = pack_sha256_hex(h->as_string(), m.packed);
    }
    if (m_nodes.sorted) check_metadata(m);
    else m_pending.push_back(m);
  }

  void check_metadata(const MetaRec& m) {
    NodeRec* node = m_nodes.find_hash(m.key);
    if (!node) return;  // a Document's hash record
    if (node->has_metadata) unsure();  // a repeated key: the last one counts
    node->has_metadata = true;
    if (m.ref != node->ref) unsure();  // ref-doc-mismatch (one pool: equal strings, equal indexes)
    if (m.has_stored_hash) {
      stored_hashes.push_back(m.stored_hash);
      if (node->has_hash && (!m.packs || m.packed != node->content_hash)) unsure();  // hash-mismatch
    }
  }

 public:
  // The metadata entries read before the nodes, checked once they are.
  void check_pending() {
    for (const MetaRec& m : m_pending) check_metadata(m);
    std::vector<MetaRec>().swap(m_pending);
  }

 private:
  std::vector<MetaRec> m_pending;

  void ref_doc(const StreamEntry& e) {
    info_keys.push_back(id_hash(e.key));
    Json v = parse(e.raw);
    const Json* ids = v.is_object() ? v.find("node_ids") : nullptr;
    if (!ids && v.is_object()) ids = v.find("doc_ids");
    if (!ids || !ids->is_array()) unsure();
    std::unordered_set<std::string_view> seen;
    for (const Json& id : ids->as_array()) {
      if (!id.is_string() || !seen.insert(id.as_string()).second) unsure();
      NodeRec* node = m_nodes.find(id.as_string());
      if (!node) {
        if (!m_nodes.recs.empty()) unsure();
        continue;
      }
      const std::string* ref = m_nodes.ref(*node);
      if (!ref || *ref != e.key) unsure();
      node->listed = true;
    }
  }

  Nodes& m_nodes;
  const JsonDoc& m_decoder;
};

// A vector store file. Its ref doc and metadata_dict entries are checked
// whenever their key is a node, not only when it is also an embedding's (as
// the loaded path does): a mismatch the loaded path would not look at makes
// this path unsure, never a different report, and no key array is kept.
// A repeated key is checked each time it comes (the loaded path reads the
// last): both pass, or this path is unsure.
class VectorVisitor : public FileVisitor {
 public:
  VectorVisitor(Nodes& nodes, const IndexRefs& index) : m_nodes(nodes), m_index(index) {}
  std::size_t vectors = 0, metadata_entries = 0;
  bool metadata_seen = false;

 protected:
  void opened(bool container, bool is_array) override {
    if (!container) return;
    if (is_array) unsure();
    if (m_section == "metadata_dict") metadata_seen = true;
    else if (m_section != "embedding_dict" && m_section != "text_id_to_ref_doc_id")
      unsure();  // text_id_to_doc_id (legacy), or a shape this path does not follow
  }
  void take(const StreamEntry& e) override {
    if (m_section == "embedding_dict") embedding(e);
    else if (m_section == "metadata_dict") metadata(e);
    else ref_doc(e);
  }

 private:
  void embedding(const StreamEntry& e) {
    VectorScan sc = scan_embedding(e.raw, e.elements);
    if (!sc.is_list || sc.non_finite || (sc.all_zero && sc.count > 0)) unsure();
    if (!m_dim) m_dim = sc.count;
    else if (*m_dim != sc.count) unsure();  // mixed-dimensions
    ++vectors;
    if (!m_nodes.recs.empty() && !m_nodes.find(e.key)) unsure();  // vector-without-node
    if (m_index.present && !sorted_has(m_index.keys, id_hash(e.key))) unsure();  // vector-not-indexed
  }

  void ref_doc(const StreamEntry& e) {
    const NodeRec* node = m_nodes.find(e.key);
    if (!node) return;
    Json ref = parse(e.raw);
    const std::string* mine = m_nodes.ref(*node);
    if (!ref.is_string() || ref.as_string() != (mine ? *mine : std::string("None"))) unsure();
  }

  void metadata(const StreamEntry& e) {
    ++metadata_entries;
    const NodeRec* node = m_nodes.find(e.key);
    if (!node) return;
    Json got = parse(e.raw);
    if (!got.is_object() || metadata_dict_digest(got) != node->metadata_digest) unsure();
  }

  Nodes& m_nodes;
  const IndexRefs& m_index;
  std::optional<std::size_t> m_dim;
};

class GraphVisitor : public FileVisitor {
 public:
  bool graph_dict = false;

 protected:
  void opened(bool container, bool is_array) override {
    if (m_section == "graph_dict") graph_dict = container && !is_array;
  }
  void take(const StreamEntry& e) override {
    if (m_section != "graph_dict") return;
    Json rels = parse(e.raw);
    if (!rels.is_array()) unsure();
    for (const Json& p : rels.as_array())
      if (!p.is_array() || p.as_array().size() != 2 || !p.as_array()[0].is_string() || !p.as_array()[1].is_string()) unsure();
  }
};

std::uint64_t file_size(const Store& store, const JsonDoc& doc) {
  if (store.streamed)
    if (auto it = store.streamed->sources.find(doc.name()); it != store.streamed->sources.end()) return it->second->view().size();
  return doc.bytes().size();
}

bool plain_files(const Store& store) {
  if (store.dialect != Dialect::Python || store.single_file || store.property_graph) return false;
  for (const FileInfo& f : store.files)
    switch (f.kind) {
      case FileKind::DocStore: case FileKind::IndexStore: case FileKind::VectorStore: case FileKind::GraphStore:
      case FileKind::Other: case FileKind::Pickle:
        break;
      default:
        return false;
    }
  return faiss_namespaces(store).empty();
}

// The bytes the pass reads: every file it streams.
std::uint64_t streamed_bytes(const Store& store) {
  std::uint64_t total = 0;
  for (const JsonDoc* d : {store.index_store ? &*store.index_store : nullptr, store.docstore ? &*store.docstore : nullptr,
                           store.graph_store ? &*store.graph_store : nullptr})
    if (d) total += file_size(store, *d);
  for (const auto& v : store.vector_stores) total += file_size(store, v.doc);
  return total;
}

std::vector<Finding> run(const Store& store, const ValidateOptions& opts) {
  if (!plain_files(store)) unsure();
  ProgressTicker progress(opts.progress, streamed_bytes(store));
  // The layout findings, as Checker::layout() has them.
  LayoutFacts facts;
  facts.full_checks_follow = true;
  if (const Section* idx = store.index_collection()) {
    const CollectionCounts* counted = store.streamed_counts(*store.index_store, idx->name);
    for (const Entry& e : idx->entries) {
      IndexCount c;
      try {
        c = count_index_struct(*store.index_store, e);
      } catch (const Error&) {
        unsure();
      }
      if (counted)
        if (auto n = counted->struct_nodes.find(e.key); n != counted->struct_nodes.end()) c.nodes = n->second;
      facts.indexes.push_back(c);
    }
  }
  std::vector<Finding> findings;
  for (Finding& f : diagnose_layout(store, facts)) {
    if (!opts.only.empty() && !opts.only.count(f.rule)) continue;
    if (opts.skip.count(f.rule)) continue;
    findings.push_back(std::move(f));
  }
  // The index store first: its references are hashes (16 bytes a node),
  // and the struct's text is gone before the docstore's records are made.
  IndexRefs index;
  if (store.index_store) {
    index.present = true;
    read_index_refs(store, *store.index_store, index, progress);
    std::sort(index.keys.begin(), index.keys.end());
    std::sort(index.values.begin(), index.values.end());
    index.values.erase(std::unique(index.values.begin(), index.values.end()), index.values.end());
  }
  Nodes nodes;
  if (store.docstore) {
    JsonDoc decoder = JsonDoc::read(store.docstore->name(), Buffer::own("{}"), JsonDialect::Python);
    DocstoreVisitor v(nodes, decoder);
    stream_doc(store, *store.docstore, v, progress);
    v.finish_data();  // (no docstore/data: the metadata entries are no node's)
    sort_distinct(v.stored_hashes);  // duplicate-node
    sort_distinct(v.info_keys);
    for (const NodeRec& n : nodes.recs) {
      if (v.meta && !n.has_metadata) unsure();  // node-without-metadata
      // ref-doc-mismatch: a node (not a Document "4") that no ref doc lists,
      // whose ref doc ref_doc_info does not have
      if (v.info && n.ref && n.type != kDocumentCode && !n.listed && !sorted_has(v.info_keys, id_hash(*nodes.ref(n))))
        unsure();
    }
  }
  // index-dangling-node, node-not-indexed
  if (!nodes.recs.empty()) {
    for (std::uint64_t h : index.values)
      if (!nodes.find_hash(h)) unsure();
    if (!index.values.empty())
      for (const NodeRec& n : nodes.recs)
        if (!is_document(n.type) && !sorted_has(index.values, n.id)) unsure();
  }
  std::vector<std::uint64_t>().swap(index.values);
  for (const auto& vs : store.vector_stores) {
    VectorVisitor v(nodes, index);
    stream_doc(store, vs.doc, v, progress);
    if (v.vectors > 0 && (!v.metadata_seen || v.metadata_entries == 0)) unsure();  // metadata-dict-missing
  }
  if (store.graph_store) {
    GraphVisitor v;
    stream_doc(store, *store.graph_store, v, progress);
    if (!v.graph_dict) unsure();
  }
  progress.finish();
  return findings;
}

}  // namespace

std::optional<std::vector<Finding>> validate_streamed(const Store& store, const ValidateOptions& options) {
  for (const std::string& id : options.only)
    if (!find_rule(id)) throw Error(ErrorKind::Usage, "--rule", fmt::format("no rule '{}'", id), "", "lstore validate --list-rules");
  for (const std::string& id : options.skip)
    if (!find_rule(id)) throw Error(ErrorKind::Usage, "--skip", fmt::format("no rule '{}'", id), "", "lstore validate --list-rules");
  try {
    return run(store, options);
  } catch (const Unsure&) {
    return std::nullopt;
  } catch (const std::bad_alloc&) {
    throw;  // never retried on the loaded path, which needs far more memory
  } catch (const std::exception&) {
    return std::nullopt;  // a parse error, ...: the loaded path reports it
  }
}

}  // namespace lstore
