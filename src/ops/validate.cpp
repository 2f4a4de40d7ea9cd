// The checks of lstore validate (rules in validate_rules.cpp). Each check reads
// the store model; records are decoded once, and vectors are scanned as
// numbers without building a DOM.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <cmath>
#include <exception>
#include <functional>
#include <map>
#include <optional>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "ops/diagnose.hpp"
#include "ops/validate_checks.hpp"
#include "ops/validate_index_refs.hpp"
#include "lstore/error.hpp"
#include "lstore/faiss.hpp"
#include "core/hash.hpp"
#include "core/numbers.hpp"
#include "lstore/model.hpp"
#include "core/outline.hpp"
#include "core/sniff.hpp"
#include "rule_table.hpp"
#include "lstore/validate.hpp"
#include "lstore/side_files.hpp"

namespace lstore {
namespace {

class Checker {
 public:
  Checker(const Store& s, const ValidateOptions& o) : m_store(s), m_opts(o), m_progress(o.progress) {
    // Progress counts the bytes of the two big parts: nodes and embeddings.
    std::uint64_t total = 0;
    if (const Section* data = s.doc_collection(coll::kDocData); data && data->outlined)
      for (const Entry& e : data->entries) total += e.raw.size();
    for (const auto& v : s.vector_stores)
      if (VectorSections vs = vector_sections(v.doc); vs.embeddings && vs.embeddings->outlined)
        for (const Entry& e : vs.embeddings->entries) total += e.raw.size();
    m_progress.set_total(total);
  }

  std::vector<Finding> run() {
    layout();
    const std::size_t layout_findings = m_findings.size();
    // The vectors' bytes are scanned, and every file checked as json.load
    // reads it, on another core while the docstore is checked.
    std::vector<Error> unreadable;
    std::thread scanner([this, &unreadable] {
      scan_all_vectors();
      for (const JsonDoc* doc : m_store.documents()) {
        try {
          doc->verify();
        } catch (const Error& e) {
          unreadable.push_back(e);
        }
      }
    });
    // An entry that does not decode (invalid UTF-8, a bad escape) stops the
    // checks of its file; it is the parse-error the verify pass reports.
    std::optional<Error> undecodable;
    try {
      docstore();
      indexes();
    } catch (const Error& e) {
      undecodable = e;
    } catch (...) {
      scanner.join();
      throw;
    }
    scanner.join();
    // LlamaIndex's json.load of the file fails: the whole store fails to load,
    // and the entry checks (which skipped what they could not decode) would
    // only report the consequences: the layout findings and the parse errors stay.
    if (!unreadable.empty()) m_findings.resize(layout_findings);
    for (const Error& e : unreadable) add("parse-error", e.where(), e.place(), e.what());
    if (undecodable && std::none_of(unreadable.begin(), unreadable.end(),
                                    [&](const Error& e) { return e.where() == undecodable->where(); }))
      add("parse-error", undecodable->where(), undecodable->place(), undecodable->what());
    if (undecodable || !unreadable.empty()) {
      m_progress.finish();
      return std::move(m_findings);
    }
    unindexed_nodes();
    for (Finding& f : check_faiss_namespaces(m_store))
      if (wanted(f.rule)) m_findings.push_back(std::move(f));
    vectors();
    graphs();
    m_progress.finish();
    return std::move(m_findings);
  }

 private:
  bool wanted(std::string_view rule) const {
    if (!m_opts.only.empty() && !m_opts.only.count(std::string(rule))) return false;
    return !m_opts.skip.count(std::string(rule));
  }

  void add(RuleId rule, const std::string& file, const std::string& path, const std::string& message) {
    if (!wanted(rule.id())) return;
    m_findings.push_back({rule.id(), rule.severity(), file, path, message});
  }

  // --- structure and loading: the layout half, shared with ls ---------------
  void layout() {
    LayoutFacts facts;
    facts.full_checks_follow = true;
    if (const Section* idx = m_store.index_collection())
      for (const Entry& e : idx->entries) {
        try {
          facts.indexes.push_back(count_index_struct(*m_store.index_store, e));
        } catch (const Error&) {
          // reported as bad-index-data by indexes()
        }
      }
    for (Finding& f : diagnose_layout(m_store, facts))
      if (wanted(f.rule)) m_findings.push_back(std::move(f));
  }

  // --- the docstore -----------------------------------------------------------
  // What the later checks need of a node, kept small (400k nodes of a large
  // store are held at once): not its id, text and metadata, but the index of
  // its entry (the id is the entry's key in the model), its ref doc and type
  // as pointers into a pool of the few distinct strings, the content hash
  // packed to its 32 bytes, a digest of its metadata, and what the other
  // files say of it as flags (instead of sets of id strings).
  struct NodeFacts {
    const std::string* ref = nullptr;   // SOURCE relationship target; nullptr: none
    const std::string* type = nullptr;  // __type__
    std::array<unsigned char, 32> content_hash{};  // the sha256 its era computes (has_hash)
    std::size_t metadata_digest = 0;
    bool valid = false;        // the entry decoded
    bool has_hash = false;     // lstore can recompute its hash
    bool legacy = false;       // <= 0.6.33 (extra_info): no ref_doc_id in metadata entries, other hashes
    bool listed = false;       // some ref doc lists it
    bool referenced = false;   // some index struct references it
    bool indexed = false;      // some index's nodes_dict has it
  };

  // A hex digest packed to bytes; only lowercase hex (what sha256_hex
  // writes) packs, so equal bytes mean equal strings.
  static bool pack_hex(std::string_view hex, std::array<unsigned char, 32>& out) { return pack_sha256_hex(hex, out); }
  static std::string unpack_hex(const std::array<unsigned char, 32>& b) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : b) out += digits[c >> 4], out += digits[c & 15];
    return out;
  }

  // The few distinct ref doc ids and type codes, one copy each (one pool per
  // thread that decodes nodes: node-based, so the pointers stay valid).
  using Pool = std::unordered_set<std::string>;
  static const std::string* intern(Pool& pool, const std::string& s) { return &*pool.insert(s).first; }

  // The node stored under `id` (the first of a duplicated key), or nullptr.
  NodeFacts* find_node(std::string_view id) {
    auto it = m_node_at.find(id);
    return it == m_node_at.end() ? nullptr : &m_facts[it->second];
  }

  static std::size_t metadata_digest(const Json& md) { return metadata_dict_digest(md); }

  // Decodes and checks docstore/data entries [begin, end): run on both cores.
  void check_nodes(const JsonDoc& d, const Section& data, std::size_t begin, std::size_t end,
                   std::vector<Finding>& findings, Pool& pool) {
    const bool ts = m_store.dialect == Dialect::TypeScript;
    static const std::unordered_set<std::string> py_codes = {"1", "2", "3", "4", "5", "Document"};
    static const std::unordered_set<std::string> ts_codes = {"TEXT", "IMAGE", "INDEX", "DOCUMENT", "IMAGE_DOCUMENT"};
    auto add_local = [&](RuleId rule, const std::string& path, const std::string& message) {
      if (!wanted(rule.id())) return;
      findings.push_back({rule.id(), rule.severity(), d.name(), path, message});
    };
    std::size_t since = 0;
    const char* done_from = begin < end ? data.entries[begin].raw.data() : nullptr;
    for (std::size_t i = begin; i < end; ++i) {
      const Entry& e = data.entries[i];
      m_progress.add(e.raw.size());
      if ((since += e.raw.size()) > (std::size_t{32} << 20)) {  // this range's pages behind us can go
        d.release_between(done_from, e.raw.data());
        since = 0;
      }
      std::string path = "docstore/data." + std::string(e.key);
      Node n;
      try {
        n = decode_node(d, e);
      } catch (const Error& err) {
        add_local("bad-shape", err.place().empty() ? path : path + " at " + err.place(), err.what());
        continue;
      }
      if (!(ts ? ts_codes : py_codes).count(n.type_code))
        add_local("unknown-type-code", path + ".__type__", fmt::format("node {} has __type__ '{}'", e.key, n.type_code));
      if (n.type_code == "5") add_local("unreadable-node-type", path, fmt::format("node {} is a multimodal Node (type \"5\")", e.key));
      // llama_index.core's json_to_doc reads data_dict["class_name"] of every
      // Document that is not a legacy (extra_info) one.
      if (n.type_code == "4" && m_store.dialect == Dialect::Python && !n.data.find("class_name") && !n.data.find("extra_info"))
        add_local("document-without-class-name", path,
                  fmt::format("Document {} has no class_name: LlamaIndex 0.10 and later raise KeyError 'class_name' reading it", e.key));
      const Json& dd = n.data;
      auto expect = [&](const char* field, bool ok, const char* what) {
        if (!ok) add_local("bad-shape", path + "." + field, fmt::format("node {}: {} must be {}", e.key, field, what));
      };
      if (const Json* v = dd.find("metadata")) expect("metadata", v->is_object() || v->is_null(), "an object");
      if (const Json* v = dd.find("text")) expect("text", v->is_string(), "a string");
      if (const Json* v = dd.find("relationships")) expect("relationships", v->is_object(), "an object");
      if (const Json* v = dd.find("id_")) expect("id_", v->is_string(), "a string");
      if (n.id != e.key && dd.find("id_"))
        add_local("bad-shape", path + ".id_", fmt::format("node stored under {} has id_ {}", e.key, n.id));
      NodeFacts& f = m_facts[i];
      f.valid = true;
      if (n.ref_doc_id) f.ref = intern(pool, *n.ref_doc_id);
      f.type = intern(pool, n.type_code);
      f.legacy = dd.find("extra_info") != nullptr;
      bool text_node = n.class_name == "TextNode" || n.class_name == "IndexNode";
      // 0.6.34-0.9 stored `hash` as a field set when the node was made; since
      // 0.10 it is computed from the content, so only then can it be checked.
      if (!ts && text_node && n.type_code == "1" && !f.legacy && !dd.find("hash")) {
        std::string h = text_node_hash(n.text, n.metadata);
        f.has_hash = pack_hex(h, f.content_hash);
        if (!f.has_hash) throw std::logic_error("sha256_hex wrote " + h);  // never: it writes 64 lowercase hex digits
      }
      f.metadata_digest = metadata_digest(n.metadata);
    }
  }

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
      const std::size_t n = data->entries.size();
      const std::size_t half = n > 2000 ? n / 2 : n;
      std::vector<Finding> f1, f2;
      m_facts.assign(n, NodeFacts{});
      std::exception_ptr failure;
      std::thread other;
      if (half < n)
        other = std::thread([&] {
          try {
            check_nodes(d, *data, half, n, f2, m_pools[1]);
          } catch (...) {
            failure = std::current_exception();
          }
        });
      check_nodes(d, *data, 0, half, f1, m_pools[0]);
      if (other.joinable()) other.join();
      if (failure) std::rethrow_exception(failure);
      for (auto* fs : {&f1, &f2}) m_findings.insert(m_findings.end(), fs->begin(), fs->end());
      // Keyed by views of the model's own keys, inserted in entry order with
      // the first of a duplicated key kept: the same iteration order as a map
      // of id strings filled the same way (findings below are listed in it).
      m_node_at.reserve(n);
      for (std::size_t i = 0; i < n; ++i)
        if (m_facts[i].valid) m_node_at.emplace(data->entries[i].key, static_cast<std::uint32_t>(i));
      d.release_before(d.bytes().data() + d.bytes().size());
    }
    const Section* meta = d.section(coll::kDocMetadata);
    // The first node of each stored hash: keyed by the hash string's 64-bit
    // hash, with the entry index; a hit is compared with the entry's own
    // hash string (re-read), and a different string of the same 64-bit hash
    // goes to the exact map beside it.
    std::unordered_map<std::uint64_t, std::uint32_t> first_with_hash;
    std::unordered_map<std::string, std::string> first_with_hash_exact;
    auto stored_hash = [&](const Json& v) { return ts ? v.find("docHash") : v.find("doc_hash"); };
    if (meta && meta->outlined) {
      PageReleaser pages(d, *meta);
      for (std::size_t i = 0; i < meta->entries.size(); ++i) {
        const Entry& e = meta->entries[i];
        pages.passed(e);
        Json v = d.decode(e.raw);
        std::string path = "docstore/metadata." + std::string(e.key);
        if (!v.is_object()) {
          add("bad-shape", d.name(), path, fmt::format("metadata entry {} is not an object", e.key));
          continue;
        }
        const Json* h = stored_hash(v);
        const Json* r = ts ? v.find("refDocId") : v.find("ref_doc_id");
        const NodeFacts* node = find_node(e.key);
        if (!node) continue;  // a Document's hash record
        const std::string* ref = r && r->is_string() ? &r->as_string() : nullptr;
        const bool same_ref = ref && node->ref ? *ref == *node->ref : !ref && !node->ref;
        if (!same_ref && !(node->legacy && !r))
          add("ref-doc-mismatch", d.name(), path,
              fmt::format("node {}: metadata says ref doc {}, its SOURCE relationship {}", e.key, ref ? *ref : "(none)",
                          node->ref ? *node->ref : "(none)"));
        if (h && h->is_string()) {
          const std::string& hs = h->as_string();
          auto [it, inserted] = first_with_hash.emplace(std::hash<std::string>{}(hs), static_cast<std::uint32_t>(i));
          if (!inserted) {
            const Entry& first = meta->entries[it->second];
            const Json fv = d.decode(first.raw);
            const Json* fh = stored_hash(fv);
            if (fh && fh->is_string() && fh->as_string() == hs) {
              add("duplicate-node", d.name(), path, fmt::format("nodes {} and {} have the same hash", first.key, e.key));
            } else {
              auto [x, fresh] = first_with_hash_exact.emplace(hs, std::string(e.key));
              if (!fresh)
                add("duplicate-node", d.name(), path, fmt::format("nodes {} and {} have the same hash", x->second, e.key));
            }
          }
          if (node->has_hash) {
            std::array<unsigned char, 32> got;
            if (!pack_hex(hs, got) || got != node->content_hash)
              add("hash-mismatch", d.name(), path, fmt::format("node {}: stored hash {}, content hashes to {}", e.key,
                                                                hs.substr(0, 12), unpack_hex(node->content_hash).substr(0, 12)));
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
      PageReleaser pages(d, *info);
      for (const Entry& e : info->entries) {
        pages.passed(e);
        Json v = d.decode(e.raw);
        std::string path = "docstore/ref_doc_info." + std::string(e.key);
        // The dialect's own name: Python's RefDocInfo reads no "nodeIds".
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
          NodeFacts* node = find_node(id.as_string());
          if (!node) {
            if (!m_node_at.empty())
              add("ref-doc-dangling-node", d.name(), path, fmt::format("ref doc {} lists {}, which is not in docstore/data", e.key, id.as_string()));
            continue;  // (only nodes are asked whether a ref doc lists them)
          }
          if (!node->ref || *node->ref != e.key)
            add("ref-doc-mismatch", d.name(), path, fmt::format("ref doc {} lists {}, whose SOURCE is {}", e.key, id.as_string(),
                                                                 node->ref ? *node->ref : "(none)"));
          node->listed = true;
        }
      }
      for (const auto& [id, at] : m_node_at) {
        const NodeFacts& f = m_facts[at];
        if (f.ref && *f.type != "4" && *f.type != "DOCUMENT" && !f.listed && info->find(*f.ref) == nullptr)
          add("ref-doc-mismatch", d.name(), "docstore/data." + std::string(id),
              fmt::format("node {} has ref doc {}, which ref_doc_info does not have", id, *f.ref));
      }
    }
  }

  // Lets the pages of a section go behind a pass over its entries (they
  // would otherwise stay resident: hundreds of MB of a large store's
  // metadata); an entry looked up out of order is read back from the page cache.
  class PageReleaser {
   public:
    PageReleaser(const JsonDoc& d, const Section& s) : m_doc(d), m_section(s), m_from(s.raw.data()) {}
    ~PageReleaser() { m_doc.release_between(m_section.raw.data(), m_section.raw.data() + m_section.raw.size()); }
    PageReleaser(const PageReleaser&) = delete;
    PageReleaser& operator=(const PageReleaser&) = delete;
    void passed(const Entry& e) {
      if ((m_since += e.raw.size() + e.raw_key.size()) < (std::size_t{16} << 20)) return;
      m_doc.release_between(m_from, e.raw.data());
      m_from = std::max(m_from, e.raw.data());
      m_since = 0;
    }

   private:
    const JsonDoc& m_doc;
    const Section& m_section;
    const char* m_from;
    std::size_t m_since = 0;
  };

  // --- index structs ------------------------------------------------------------
  void indexes() {
    const Section* idx = m_store.index_collection();
    if (!idx) return;
    const JsonDoc& d = *m_store.index_store;
    const bool check_nodes = !m_node_at.empty() || [&] {
      for (const auto& v : m_store.vector_stores)
        if (vector_store_info(v).vectors > 0) return true;
      return false;
    }();
    for (const Entry& e : idx->entries) {
      std::optional<VectorStructRefs> r;
      if (!whole_structs() && (r = read_vector_struct_refs(e.raw))) {
        vector_struct_refs(d, idx->name + "." + std::string(e.key), e, *r, check_nodes);
        continue;
      }
      IndexStruct s;
      try {
        s = decode_index_struct(d, e);
      } catch (const Error& err) {
        add("bad-index-data", d.name(), err.place(), err.what());
        continue;
      }
      d.release_between(e.raw.data(), e.raw.data() + e.raw.size());  // decoded: its pages can go
      std::string path = idx->name + "." + std::string(e.key);
      // Views of the struct's own strings (it lives until the next struct).
      using Refs = std::vector<const std::string*>;
      auto refs = [&](const Json* v, bool values) {
        Refs out;
        if (!v) return out;
        if (v->is_object()) {
          for (const auto& [k, x] : v->as_object()) {
            if (!values) out.push_back(&k);
            else if (x.is_string()) out.push_back(&x.as_string());
            else if (x.is_array()) for (const Json& y : x.as_array()) if (y.is_string()) out.push_back(&y.as_string());
          }
        } else if (v->is_array()) {
          for (const Json& x : v->as_array()) if (x.is_string()) out.push_back(&x.as_string());
        } else {
          add("bad-shape", d.name(), path, fmt::format("index {}: a node reference field has the wrong type", e.key));
        }
        return out;
      };
      Refs nodes;
      const std::string& t = s.type;
      if (t == "vector_store" || t == "multimodal" || t == "simple_dict" || t == "dict") {
        const Json* nd = s.data.find("nodes_dict");
        if (nd && nd->is_object())
          for (const auto& [k, v] : nd->as_object()) mark_indexed(k);
        if (t != "simple_dict" && t != "dict") nodes = refs(nd, true);  // TS keeps whole nodes there
        else if (const Json* tsd = s.data.find("nodesDict"); tsd && tsd->is_object())
          for (const auto& [k, v] : tsd->as_object()) mark_indexed(k), nodes.push_back(&k);
      } else if (t == "list") {
        nodes = refs(s.data.find("nodes"), true);
      } else if (t == "tree") {
        nodes = refs(s.data.find("all_nodes"), true);
      } else if (t == "keyword_table" || t == "kg") {
        nodes = refs(s.data.find("table"), true);
      } else if (t == "document_summary") {
        nodes = refs(s.data.find("node_id_to_summary_id"), false);
        for (const std::string* x : refs(s.data.find("summary_id_to_node_ids"), false)) nodes.push_back(x), mark_indexed(*x);
      }
      // (only nodes are asked whether an index references them)
      for (const std::string* n : nodes)
        if (NodeFacts* f = find_node(*n)) f->referenced = true;
      m_any_node_ref = m_any_node_ref || !nodes.empty();
      // Only these index kinds reference every node they hold (a keyword or KG
      // table skips nodes without keywords; a property graph references none).
      if (t != "vector_store" && t != "multimodal" && t != "list" && t != "tree" && t != "simple_dict")
        m_unreferencing_index = true;
      if (!check_nodes || m_node_at.empty()) continue;
      std::unordered_set<std::string_view> reported;
      for (const std::string* n : nodes)
        if (!find_node(*n) && reported.insert(*n).second)
          add("index-dangling-node", d.name(), path, fmt::format("index {} references node {}, which is not in the docstore", e.key, *n));
    }
  }

  // The checks above for a vector_store struct read without its DOM: the
  // same marks, and the same findings in the same order.
  void vector_struct_refs(const JsonDoc& d, const std::string& path, const Entry& e, const VectorStructRefs& r,
                          bool check_nodes) {
    d.release_between(e.raw.data(), e.raw.data() + e.raw.size());
    for (const VectorStructRefs::Member& m : r.nodes) mark_indexed(r.key(m));
    for (const VectorStructRefs::Member& m : r.nodes)
      if (NodeFacts* f = find_node(r.value(m))) f->referenced = true;
    m_any_node_ref = m_any_node_ref || !r.nodes.empty();
    if (!check_nodes || m_node_at.empty()) return;
    std::unordered_set<std::string_view> reported;
    for (const VectorStructRefs::Member& m : r.nodes) {
      std::string_view n = r.value(m);
      if (!find_node(n) && reported.insert(n).second)
        add("index-dangling-node", d.name(), path, fmt::format("index {} references node {}, which is not in the docstore", e.key, n));
    }
  }

  // LSTORE_NO_STREAM=1 decodes every struct whole, as before the streamed
  // read of vector_store structs (tests/test_stream.py compares the two).
  static bool whole_structs() {
    static const bool on = [] {
      const char* off = std::getenv("LSTORE_NO_STREAM");
      return off && *off && std::string_view(off) != "0";
    }();
    return on;
  }

  // A vector id some index references: a node's flag, or (not a node) kept.
  void mark_indexed(std::string_view id) {
    if (NodeFacts* f = find_node(id)) f->indexed = true;
    else m_indexed_other.emplace(id);
  }
  bool is_indexed(std::string_view id) {
    if (const NodeFacts* f = find_node(id)) return f->indexed;
    return m_indexed_other.count(std::string(id)) > 0;
  }

  // --- vector stores --------------------------------------------------------------
  static VectorScan scan_vector(const Entry& e) { return scan_embedding(e.raw, e.elements); }

  // Nodes no index references: what a delete that stopped half way leaves
  // (LlamaIndex.TS's deleteRefDoc keeps the node, FORMAT.md §9). Stores with
  // an index kind that does not reference all its nodes are skipped.
  void unindexed_nodes() {
    if (m_unreferencing_index || !m_any_node_ref || !m_store.docstore) return;
    const Section* data = m_store.doc_collection(coll::kDocData);
    if (!data) return;
    for (const Entry& e : data->entries) {
      const NodeFacts* n = find_node(e.key);
      if (!n || *n->type == "4" || *n->type == "DOCUMENT" || *n->type == "Document") continue;
      if (!n->referenced)
        add("node-not-indexed", m_store.docstore->name(), "docstore/data." + std::string(e.key),
            fmt::format("node {} is in no index (left behind by an incomplete delete?)", e.key));
    }
  }

  // Scans every embedding of every namespace (run beside the docstore checks).
  void scan_all_vectors() {
    for (const auto& v : m_store.vector_stores) {
      VectorSections s = vector_sections(v.doc);
      auto& out = m_scans[&v];
      if (!s.embeddings || !s.embeddings->outlined) continue;
      out.reserve(s.embeddings->entries.size());
      std::size_t since = 0;
      for (const Entry& e : s.embeddings->entries) {
        out.push_back(scan_vector(e));
        m_progress.add(e.raw.size());
        if ((since += e.raw.size()) > (std::size_t{32} << 20)) {
          v.doc.release_before(e.raw.data());
          since = 0;
        }
      }
      v.doc.release_before(v.doc.bytes().data() + v.doc.bytes().size());
    }
  }

  void vectors() {
    // Property graph node ids: looked up in the model's own section.
    const Section* pg_nodes = nullptr;
    if (m_store.property_graph)
      if (const Section* n = m_store.property_graph->section("nodes"); n && n->outlined) pg_nodes = n;
    for (const auto& v : m_store.vector_stores) {
      VectorSections s = vector_sections(v.doc);
      const std::string& file = v.doc.name();
      if (!s.embeddings || !s.embeddings->outlined) continue;
      std::optional<std::size_t> dim;
      std::size_t n = 0;
      const auto& scans = m_scans[&v];
      std::optional<PageReleaser> ref_pages, metadata_pages;
      if (s.ref_doc_ids) ref_pages.emplace(v.doc, *s.ref_doc_ids);
      if (s.metadata) metadata_pages.emplace(v.doc, *s.metadata);
      for (const Entry& e : s.embeddings->entries) {
        const VectorScan& sc = scans[n];
        ++n;
        std::string path = s.embeddings->name + "." + std::string(e.key);
        if (!sc.is_list) {
          add("bad-shape", file, path, fmt::format("the embedding of {} is not a list", e.key));
          continue;
        }
        std::size_t count = sc.count;
        bool non_finite = sc.non_finite, zero = sc.all_zero;
        if (!dim) dim = count;
        else if (*dim != count)
          add("mixed-dimensions", file, path, fmt::format("{} has dimension {}, the first vector {}", e.key, count, *dim));
        if (non_finite) add("non-finite-vector", file, path, fmt::format("the embedding of {} holds NaN or Infinity", e.key));
        else if (zero && count > 0) add("zero-vector", file, path, fmt::format("the embedding of {} is all zeros", e.key));
        std::string id(e.key);
        if (pg_nodes && pg_nodes->find(id)) continue;  // a property graph's entity embedding: no docstore node, no index entry
        const NodeFacts* node = find_node(id);
        if (!m_node_at.empty() && !node)
          add("vector-without-node", file, path, fmt::format("vector {} has no node in the docstore", e.key));
        if (m_store.index_store && !is_indexed(id))
          add("vector-not-indexed", file, path, fmt::format("vector {} is in no index's nodes_dict", e.key));
        if (s.ref_doc_ids && node && m_store.dialect == Dialect::Python) {
          if (const Entry* r = s.ref_doc_ids->find(e.key)) {
            ref_pages->passed(*r);
            Json ref = v.doc.decode(r->raw);
            std::string want = node->ref ? *node->ref : "None";
            if (!ref.is_string() || ref.as_string() != want)
              add("vector-ref-doc-mismatch", file, s.ref_doc_ids->name + "." + id,
                  fmt::format("vector {} has ref doc {}, its node {}", id, ref.is_string() ? ref.as_string() : "?", want));
          }
        }
        if (s.metadata && node)
          if (const Entry* m = s.metadata->find(e.key)) {
            metadata_pages->passed(*m);
            check_metadata_dict(v.doc, *s.metadata, *m, *node);
          }
      }
      if (v.doc.section("text_id_to_doc_id"))
        add("legacy-doc-id-map", file, "text_id_to_doc_id",
            fmt::format("{} uses text_id_to_doc_id (LlamaIndex <= 0.6.17); newer versions ignore it", file));
      else if (n > 0 && (!s.metadata || s.metadata->size() == 0))
        add("metadata-dict-missing", file, "",
            fmt::format("{} has {} vector{} and no metadata_dict: LlamaIndex refuses metadata-filtered queries on it", file, n, n == 1 ? "" : "s"));
    }
  }

  void check_metadata_dict(const JsonDoc& doc, const Section& sec, const Entry& e, const NodeFacts& node) {
    Json got = doc.decode(e.raw);
    if (!got.is_object()) {
      add("bad-shape", doc.name(), sec.name + "." + std::string(e.key), "a metadata_dict entry is not an object");
      return;
    }
    if (metadata_digest(got) != node.metadata_digest)
      add("metadata-dict-mismatch", doc.name(), sec.name + "." + std::string(e.key),
          fmt::format("vector {}: its metadata_dict entry differs from the node's metadata", e.key));
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
  ProgressTicker m_progress;
  std::vector<Finding> m_findings;
  // The docstore's nodes: facts per docstore/data entry (valid when it
  // decoded), and the entry index by id (the model's key: no copy of it).
  std::vector<NodeFacts> m_facts;
  std::unordered_map<std::string_view, std::uint32_t> m_node_at;
  Pool m_pools[2];  // ref doc ids and type codes, per decoding thread
  std::unordered_set<std::string> m_indexed_other;  // ids an index has that are no node (rare)
  bool m_any_node_ref = false;  // some index struct references a node id
  std::map<const VectorStoreDoc*, std::vector<VectorScan>> m_scans;
  bool m_unreferencing_index = false;
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
