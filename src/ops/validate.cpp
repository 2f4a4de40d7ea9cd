// The checks of lstore validate (rules in validate_rules.cpp). Each check reads
// the store model; records are decoded once, and vectors are scanned as
// numbers without building a DOM.
#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <map>
#include <unordered_map>
#include <unordered_set>

#include "lstore/error.hpp"
#include "lstore/hash.hpp"
#include "lstore/model.hpp"
#include "lstore/outline.hpp"
#include "lstore/validate.hpp"

namespace lstore {
namespace {

bool store_file_name(std::string_view n) {
  return n == "docstore.json" || n == "doc_store.json" || n == "index_store.json" || n == "graph_store.json" ||
         n == "property_graph_store.json" || (n.size() >= 17 && n.substr(n.size() - 17) == "vector_store.json");
}

class Checker {
 public:
  Checker(const Store& s, const ValidateOptions& o) : m_store(s), m_opts(o) {}

  std::vector<Finding> run() {
    files();
    loading();
    docstore();
    indexes();
    unindexed_nodes();
    vectors();
    graphs();
    return std::move(m_findings);
  }

 private:
  bool wanted(const char* rule) const {
    if (!m_opts.only.empty() && !m_opts.only.count(rule)) return false;
    return !m_opts.skip.count(rule);
  }

  void add(const char* rule, const std::string& file, const std::string& path, const std::string& message) {
    if (!wanted(rule)) return;
    const Rule* r = find_rule(rule);
    m_findings.push_back({rule, r ? r->severity : Severity::Error, file, path, message});
  }

  // --- structure and loading -------------------------------------------------
  void files() {
    for (const FileInfo& f : m_store.files) {
      std::string base = f.name.substr(f.name.rfind('/') + 1);
      switch (f.kind) {
        case FileKind::Broken: add("parse-error", f.name, "", f.detail); break;
        case FileKind::Empty:
          if (store_file_name(base)) add("empty-file", f.name, "", fmt::format("{} is empty ({})", f.name, f.detail));
          break;
        case FileKind::LfsPointer: add("lfs-pointer", f.name, "", fmt::format("{} is a {}", f.name, f.detail)); break;
        case FileKind::Faiss:
          if (base.find("vector_store.json") != std::string::npos)
            add("faiss-binary", f.name, "", fmt::format("{} is a {}", f.name, f.detail));
          break;
        case FileKind::LegacySaveToDisk: add("legacy-save-to-disk", f.name, "", fmt::format("{} is a {}", f.name, f.detail)); break;
        case FileKind::ForeignJson:
          if (store_file_name(base)) add("bad-shape", f.name, "", fmt::format("{} is {}", f.name, f.detail));
          break;
        default: break;
      }
    }
  }

  bool has_file(std::string_view name) const {
    for (const FileInfo& f : m_store.files)
      if (f.name == name) return true;
    return false;
  }

  void loading() {
    const bool ts = m_store.dialect == Dialect::TypeScript;
    if (!m_store.docstore && !has_file("docstore.json") && !has_file("doc_store.json"))
      add("missing-docstore", ts ? "doc_store.json" : "docstore.json", "", "the store has no docstore file");
    if (!m_store.index_store && !has_file("index_store.json"))
      add("missing-index-store", "index_store.json", "", "the store has no index_store.json");
    if (!ts && has_file("vector_store.json") && !has_file("default__vector_store.json")) {
      bool faiss = false;
      for (const FileInfo& f : m_store.files) faiss |= f.name == "vector_store.json" && f.kind == FileKind::Faiss;
      if (!faiss) add("legacy-vector-store-name", "vector_store.json", "", "only the legacy vector_store.json");
    }
  }

  // --- the docstore -----------------------------------------------------------
  struct NodeFacts {
    std::optional<std::string> ref;
    std::string type;
    std::string text;
    Json metadata;
    bool text_node = false;
    bool legacy = false;       // <= 0.6.33 (extra_info): no ref_doc_id in metadata entries, other hashes
    bool stored_hash = false;  // 0.6.34-0.9: hash was a field set when the node was made, not a property
  };

  void docstore() {
    if (!m_store.docstore) return;
    const JsonDoc& d = *m_store.docstore;
    const bool ts = m_store.dialect == Dialect::TypeScript;
    static const std::unordered_set<std::string> py_codes = {"1", "2", "3", "4", "5", "Document"};
    static const std::unordered_set<std::string> ts_codes = {"TEXT", "IMAGE", "INDEX", "DOCUMENT", "IMAGE_DOCUMENT"};
    for (const Section& s : d.sections())
      if (s.name.rfind("docstore/", 0) == 0 && !s.outlined)
        add("bad-shape", d.name(), s.name, fmt::format("collection {} is not an object", s.name));
    const Section* data = d.section(coll::kDocData);
    if (data && data->outlined) {
      for (const Entry& e : data->entries) {
        std::string path = "docstore/data." + std::string(e.key);
        Node n;
        try {
          n = decode_node(d, e);
        } catch (const Error& err) {
          add("bad-shape", d.name(), err.place(), err.what());
          continue;
        }
        if (!(ts ? ts_codes : py_codes).count(n.type_code))
          add("unknown-type-code", d.name(), path + ".__type__", fmt::format("node {} has __type__ '{}'", e.key, n.type_code));
        if (n.type_code == "5")
          add("unreadable-node-type", d.name(), path, fmt::format("node {} is a multimodal Node (type \"5\")", e.key));
        const Json& dd = n.data;
        auto expect = [&](const char* field, bool ok, const char* what) {
          if (!ok) add("bad-shape", d.name(), path + "." + field, fmt::format("node {}: {} must be {}", e.key, field, what));
        };
        if (const Json* v = dd.find("metadata")) expect("metadata", v->is_object() || v->is_null(), "an object");
        if (const Json* v = dd.find("text")) expect("text", v->is_string(), "a string");
        if (const Json* v = dd.find("relationships")) expect("relationships", v->is_object(), "an object");
        if (const Json* v = dd.find("id_")) expect("id_", v->is_string(), "a string");
        if (n.id != e.key && dd.find("id_"))
          add("bad-shape", d.name(), path + ".id_", fmt::format("node stored under {} has id_ {}", e.key, n.id));
        NodeFacts f;
        f.ref = n.ref_doc_id;
        f.type = n.type_code;
        f.text = n.text;
        f.metadata = n.metadata;
        f.text_node = n.class_name == "TextNode" || n.class_name == "IndexNode";
        f.legacy = dd.find("extra_info") != nullptr;
        f.stored_hash = dd.find("hash") != nullptr;
        m_nodes.emplace(std::string(e.key), std::move(f));
      }
    }
    const Section* meta = d.section(coll::kDocMetadata);
    std::unordered_map<std::string, std::string> first_with_hash;
    if (meta && meta->outlined) {
      for (const Entry& e : meta->entries) {
        Json v = d.decode(e.raw);
        std::string path = "docstore/metadata." + std::string(e.key);
        if (!v.is_object()) {
          add("bad-shape", d.name(), path, fmt::format("metadata entry {} is not an object", e.key));
          continue;
        }
        const Json* h = ts ? v.find("docHash") : v.find("doc_hash");
        const Json* r = ts ? v.find("refDocId") : v.find("ref_doc_id");
        auto node = m_nodes.find(std::string(e.key));
        if (node == m_nodes.end()) continue;  // a Document's hash record
        std::optional<std::string> ref = r && r->is_string() ? std::optional<std::string>(r->as_string()) : std::nullopt;
        if (ref != node->second.ref && !(node->second.legacy && !r))
          add("ref-doc-mismatch", d.name(), path,
              fmt::format("node {}: metadata says ref doc {}, its SOURCE relationship {}", e.key, ref.value_or("(none)"),
                          node->second.ref.value_or("(none)")));
        if (h && h->is_string()) {
          auto [it, inserted] = first_with_hash.emplace(h->as_string(), std::string(e.key));
          if (!inserted)
            add("duplicate-node", d.name(), path, fmt::format("nodes {} and {} have the same hash", it->second, e.key));
          if (!ts && node->second.text_node && node->second.type == "1" && !node->second.legacy && !node->second.stored_hash) {
            std::string want = text_node_hash(node->second.text, node->second.metadata);
            if (want != h->as_string())
              add("hash-mismatch", d.name(), path, fmt::format("node {}: stored hash {}, content hashes to {}", e.key,
                                                                h->as_string().substr(0, 12), want.substr(0, 12)));
          }
        }
      }
    }
    if (data && meta)
      for (const Entry& e : data->entries)
        if (!meta->find(e.key))
          add("node-without-metadata", d.name(), "docstore/metadata." + std::string(e.key),
              fmt::format("node {} has no metadata entry", e.key));
    const Section* info = d.section(coll::kRefDocInfo);
    if (info && info->outlined) {
      for (const Entry& e : info->entries) {
        Json v = d.decode(e.raw);
        std::string path = "docstore/ref_doc_info." + std::string(e.key);
        const Json* ids = v.is_object() ? v.find(ts ? "nodeIds" : "node_ids") : nullptr;
        if (!ids && v.is_object()) ids = v.find("doc_ids");
        if (!ids || !ids->is_array()) {
          add("bad-shape", d.name(), path, fmt::format("ref doc {} has no node_ids list", e.key));
          continue;
        }
        std::unordered_set<std::string> seen;
        for (const Json& id : ids->as_array()) {
          if (!id.is_string()) {
            add("bad-shape", d.name(), path, fmt::format("ref doc {}: a node id that is not a string", e.key));
            continue;
          }
          if (!seen.insert(id.as_string()).second) {
            add("ref-doc-duplicate-ids", d.name(), path, fmt::format("ref doc {} lists {} twice", e.key, id.as_string()));
            continue;
          }
          auto node = m_nodes.find(id.as_string());
          if (node == m_nodes.end()) {
            if (!m_nodes.empty())
              add("ref-doc-dangling-node", d.name(), path, fmt::format("ref doc {} lists {}, which is not in docstore/data", e.key, id.as_string()));
          } else if (node->second.ref != std::string(e.key)) {
            add("ref-doc-mismatch", d.name(), path, fmt::format("ref doc {} lists {}, whose SOURCE is {}", e.key, id.as_string(),
                                                                 node->second.ref.value_or("(none)")));
          }
          m_listed.insert(id.as_string());
        }
      }
      for (const auto& [id, f] : m_nodes)
        if (f.ref && f.type != "4" && f.type != "DOCUMENT" && !m_listed.count(id) && info->find(*f.ref) == nullptr)
          add("ref-doc-mismatch", d.name(), "docstore/data." + id,
              fmt::format("node {} has ref doc {}, which ref_doc_info does not have", id, *f.ref));
    }
  }

  // --- index structs ------------------------------------------------------------
  void indexes() {
    const Section* idx = m_store.index_collection();
    if (!idx) return;
    const JsonDoc& d = *m_store.index_store;
    if (idx->size() > 1)
      add("multiple-indexes", d.name(), idx->name, fmt::format("{} index structs", idx->size()));
    const bool check_nodes = !m_nodes.empty() || [&] {
      for (const auto& v : m_store.vector_stores)
        if (vector_store_info(v).vectors > 0) return true;
      return false;
    }();
    for (const Entry& e : idx->entries) {
      IndexStruct s;
      try {
        s = decode_index_struct(d, e);
      } catch (const Error& err) {
        add("bad-index-data", d.name(), err.place(), err.what());
        continue;
      }
      std::string path = idx->name + "." + std::string(e.key);
      if (m_store.dialect == Dialect::Python && !index_type_loadable(s.type))
        add("unknown-index-type", d.name(), path, fmt::format("index {} has struct type '{}'", e.key, s.type));
      auto refs = [&](const Json* v, bool values) {
        std::vector<std::string> out;
        if (!v) return out;
        if (v->is_object()) {
          for (const auto& [k, x] : v->as_object()) {
            if (!values) out.push_back(k);
            else if (x.is_string()) out.push_back(x.as_string());
            else if (x.is_array()) for (const Json& y : x.as_array()) if (y.is_string()) out.push_back(y.as_string());
          }
        } else if (v->is_array()) {
          for (const Json& x : v->as_array()) if (x.is_string()) out.push_back(x.as_string());
        } else {
          add("bad-shape", d.name(), path, fmt::format("index {}: a node reference field has the wrong type", e.key));
        }
        return out;
      };
      std::vector<std::string> nodes;
      const std::string& t = s.type;
      if (t == "vector_store" || t == "multimodal" || t == "simple_dict" || t == "dict") {
        const Json* nd = s.data.find("nodes_dict");
        if (nd && nd->is_object())
          for (const auto& [k, v] : nd->as_object()) m_indexed.insert(k);
        if (t != "simple_dict" && t != "dict") nodes = refs(nd, true);  // TS keeps whole nodes there
        else if (const Json* tsd = s.data.find("nodesDict"); tsd && tsd->is_object())
          for (const auto& [k, v] : tsd->as_object()) m_indexed.insert(k), nodes.push_back(k);
      } else if (t == "list") {
        nodes = refs(s.data.find("nodes"), true);
      } else if (t == "tree") {
        nodes = refs(s.data.find("all_nodes"), true);
      } else if (t == "keyword_table" || t == "kg") {
        nodes = refs(s.data.find("table"), true);
      } else if (t == "document_summary") {
        nodes = refs(s.data.find("node_id_to_summary_id"), false);
        for (auto& x : refs(s.data.find("summary_id_to_node_ids"), false)) nodes.push_back(x), m_indexed.insert(x);
      }
      for (const std::string& n : nodes) m_node_refs.insert(n);
      // Only these index kinds reference every node they hold (a keyword or KG
      // table skips nodes without keywords; a property graph references none).
      if (t != "vector_store" && t != "multimodal" && t != "list" && t != "tree" && t != "simple_dict")
        m_unreferencing_index = true;
      if (t == "vector_store" || t == "multimodal") m_vector_index = true;
      if (!check_nodes || m_nodes.empty()) continue;
      std::unordered_set<std::string> reported;
      for (const std::string& n : nodes)
        if (!m_nodes.count(n) && reported.insert(n).second)
          add("index-dangling-node", d.name(), path, fmt::format("index {} references node {}, which is not in the docstore", e.key, n));
    }
  }

  // --- vector stores --------------------------------------------------------------
  // Scans one embedding: element count, any NaN/Infinity, all zero.
  static void scan_vector(std::string_view raw, std::size_t& count, bool& non_finite, bool& all_zero) {
    count = 0;
    non_finite = false;
    all_zero = true;
    const char* p = raw.data();
    const char* end = p + raw.size();
    while (p < end) {
      while (p < end && (*p == '[' || *p == ']' || *p == ',' || *p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')) ++p;
      if (p >= end) break;
      const char* start = p;
      while (p < end && *p != ',' && *p != ']' && *p != ' ' && *p != '\n') ++p;
      std::string_view tok(start, static_cast<std::size_t>(p - start));
      ++count;
      if (tok.find_first_of("NI") != std::string_view::npos) {
        non_finite = true;
        all_zero = false;
        continue;
      }
      double v = 0;
      auto r = std::from_chars(tok.data(), tok.data() + tok.size(), v);
      if (r.ec == std::errc::result_out_of_range) non_finite = true;
      if (v != 0) all_zero = false;
    }
  }

  // Nodes no index references: what a delete that stopped half way leaves
  // (LlamaIndex.TS's deleteRefDoc keeps the node, FORMAT.md §9). Stores with
  // an index kind that references no nodes (a property graph) are skipped.
  void unindexed_nodes() {
    if (m_unreferencing_index || m_node_refs.empty() || !m_store.docstore) return;
    const Section* data = m_store.doc_collection(coll::kDocData);
    if (!data) return;
    for (const Entry& e : data->entries) {
      auto n = m_nodes.find(std::string(e.key));
      if (n == m_nodes.end() || n->second.type == "4" || n->second.type == "DOCUMENT" || n->second.type == "Document") continue;
      if (!m_node_refs.count(n->first))
        add("node-not-indexed", m_store.docstore->name(), "docstore/data." + n->first,
            fmt::format("node {} is in no index (left behind by an incomplete delete?)", n->first));
    }
  }

  void vectors() {
    if (m_store.property_graph)
      if (const Section* n = m_store.property_graph->section("nodes"); n && n->outlined)
        for (const Entry& e : n->entries) m_pg_nodes.insert(std::string(e.key));
    // The default namespace is the one a vector index loads (image is extra).
    bool vector_file = m_store.vector_store("default") != nullptr;
    for (const FileInfo& f : m_store.files) vector_file |= f.kind == FileKind::Faiss || f.kind == FileKind::LfsPointer;
    if (m_vector_index && !vector_file)
      add("missing-vector-store", "default__vector_store.json", "",
          "a vector index but no vector store file: LlamaIndex loads no vector store (KeyError 'default') unless one is passed");
    for (const auto& v : m_store.vector_stores) {
      VectorSections s = vector_sections(v.doc);
      const std::string& file = v.doc.name();
      if (!s.embeddings || !s.embeddings->outlined) continue;
      std::optional<std::size_t> dim;
      std::size_t n = 0;
      for (const Entry& e : s.embeddings->entries) {
        ++n;
        std::string path = s.embeddings->name + "." + std::string(e.key);
        if (e.raw.empty() || e.raw[0] != '[') {
          add("bad-shape", file, path, fmt::format("the embedding of {} is not a list", e.key));
          continue;
        }
        std::size_t count;
        bool non_finite, zero;
        scan_vector(e.raw, count, non_finite, zero);
        if (!dim) dim = count;
        else if (*dim != count)
          add("mixed-dimensions", file, path, fmt::format("{} has dimension {}, the first vector {}", e.key, count, *dim));
        if (non_finite) add("non-finite-vector", file, path, fmt::format("the embedding of {} holds NaN or Infinity", e.key));
        else if (zero && count > 0) add("zero-vector", file, path, fmt::format("the embedding of {} is all zeros", e.key));
        std::string id(e.key);
        if (m_pg_nodes.count(id)) continue;  // a property graph's entity embedding: no docstore node, no index entry
        if (!m_nodes.empty() && !m_nodes.count(id))
          add("vector-without-node", file, path, fmt::format("vector {} has no node in the docstore", e.key));
        if (m_store.index_store && !m_indexed.count(id))
          add("vector-not-indexed", file, path, fmt::format("vector {} is in no index's nodes_dict", e.key));
        auto node = m_nodes.find(id);
        if (s.ref_doc_ids && node != m_nodes.end() && m_store.dialect == Dialect::Python) {
          if (const Entry* r = s.ref_doc_ids->find(e.key)) {
            Json ref = v.doc.decode(r->raw);
            std::string want = node->second.ref.value_or("None");
            if (!ref.is_string() || ref.as_string() != want)
              add("vector-ref-doc-mismatch", file, s.ref_doc_ids->name + "." + id,
                  fmt::format("vector {} has ref doc {}, its node {}", id, ref.is_string() ? ref.as_string() : "?", want));
          }
        }
        if (s.metadata && node != m_nodes.end())
          if (const Entry* m = s.metadata->find(e.key)) check_metadata_dict(v.doc, *s.metadata, *m, node->second);
      }
      if (n > 0 && (!s.metadata || s.metadata->size() == 0) && !v.doc.section("text_id_to_doc_id"))
        add("metadata-dict-missing", file, "", fmt::format("{} vectors and no metadata_dict", n));
    }
  }

  void check_metadata_dict(const JsonDoc& doc, const Section& sec, const Entry& e, const NodeFacts& node) {
    Json got = doc.decode(e.raw);
    if (!got.is_object()) {
      add("bad-shape", doc.name(), sec.name + "." + std::string(e.key), "a metadata_dict entry is not an object");
      return;
    }
    static const std::unordered_set<std::string> added = {"_node_type", "document_id", "doc_id", "ref_doc_id", "_node_content",
                                                          "nodeType"};
    // Every node metadata key must be there with an equal value (NaN and null
    // count as equal: 0.12 writes NaN as null in metadata_dict).
    auto same = [](const Json& a, const Json& b) {
      auto nanish = [](const Json& x) { return x.is_null() || (x.is_float() && std::isnan(x.as_float())); };
      return a == b || (nanish(a) && nanish(b)) || (a.is_float() && !std::isfinite(a.as_float()) && b.is_null());
    };
    if (node.metadata.is_object())
      for (const auto& [k, v] : node.metadata.as_object()) {
        if (added.count(k)) continue;
        const Json* w = got.find(k);
        if (!w || !same(v, *w)) {
          add("metadata-dict-mismatch", doc.name(), sec.name + "." + std::string(e.key),
              fmt::format("vector {}: metadata key '{}' differs from the node's", e.key, k));
          return;
        }
      }
  }

  // --- graphs -----------------------------------------------------------------------
  void graphs() {
    if (m_store.graph_store) {
      const JsonDoc& d = *m_store.graph_store;
      const Section* gd = d.section("graph_dict");
      if (!gd || !gd->outlined) {
        add("graph-shape", d.name(), "graph_dict", "graph_store.json has no graph_dict object");
      } else {
        for (const Entry& e : gd->entries) {
          Json rels = d.decode(e.raw);
          bool ok = rels.is_array();
          if (ok)
            for (const Json& p : rels.as_array())
              ok = ok && p.is_array() && p.as_array().size() == 2 && p.as_array()[0].is_string() && p.as_array()[1].is_string();
          if (!ok)
            add("graph-shape", d.name(), "graph_dict." + std::string(e.key),
                fmt::format("subject {}: each triplet must be a [relation, object] pair of strings", e.key));
        }
      }
    }
    if (m_store.property_graph) {
      const JsonDoc& d = *m_store.property_graph;
      const Section* nodes = d.section("nodes");
      const Section* rels = d.section("relations");
      if (nodes && rels && rels->outlined)
        for (const Entry& e : rels->entries) {
          Json r = d.decode(e.raw);
          for (const char* end : {"source_id", "target_id"}) {
            const Json* id = r.find(end);
            if (!id || !id->is_string() || !nodes->find(id->as_string()))
              add("graph-shape", d.name(), "relations." + std::string(e.key),
                  fmt::format("relation {}: its {} is not a node", e.key, end));
          }
        }
    }
  }

  const Store& m_store;
  const ValidateOptions& m_opts;
  std::vector<Finding> m_findings;
  std::unordered_map<std::string, NodeFacts> m_nodes;
  std::unordered_set<std::string> m_listed;   // node ids some ref doc lists
  std::unordered_set<std::string> m_indexed;  // vector ids some index references
  std::unordered_set<std::string> m_node_refs;  // node ids some index struct references
  std::unordered_set<std::string> m_pg_nodes;   // property graph node ids
  bool m_unreferencing_index = false;
  bool m_vector_index = false;
};

}  // namespace

std::vector<Finding> validate(const Store& store, const ValidateOptions& options) {
  for (const std::string& id : options.only)
    if (!find_rule(id)) throw Error(ErrorKind::Usage, "--rule", fmt::format("no rule '{}'", id), "", "lstore validate --list-rules");
  for (const std::string& id : options.skip)
    if (!find_rule(id)) throw Error(ErrorKind::Usage, "--skip", fmt::format("no rule '{}'", id), "", "lstore validate --list-rules");
  return Checker(store, options).run();
}

}  // namespace lstore
