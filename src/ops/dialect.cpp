// Python <-> TypeScript store conversion (see lstore/dialect.hpp).
//
// Nodes are decoded one by one and re-encoded in the target's field names
// and order (FORMAT.md §3.3 for Python 0.12.35, §9 for TS 0.12); hashes are
// recomputed with the target's formula, relationship hashes too when the
// related node is in the store (a SOURCE document that was never stored
// keeps the hash it had). Embeddings go from text to doubles to text without
// a DOM.
#include "lstore/dialect.hpp"

#include "dialect_carry.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <unordered_map>

#include "lstore/error.hpp"
#include "core/hash.hpp"
#include "core/numbers.hpp"
#include "lstore/model.hpp"
#include "lstore/side_files.hpp"
#include "core/sniff.hpp"

namespace lstore {
namespace {

const char* kRelNames[] = {"SOURCE", "PREVIOUS", "NEXT", "PARENT", "CHILD"};

std::string rel_to_ts(const std::string& code) {
  if (code.size() == 1 && code[0] >= '1' && code[0] <= '5') return kRelNames[code[0] - '1'];
  return code;
}

std::string rel_to_py(const std::string& name) {
  for (int i = 0; i < 5; ++i)
    if (name == kRelNames[i]) return std::string(1, static_cast<char>('1' + i));
  return name;
}

// LlamaIndex.TS's docstore loads only TEXT and DOCUMENT nodes (jsonToDoc
// throws "Unknown doc type" on IMAGE, INDEX, IMAGE_DOCUMENT): an ImageNode or
// IndexNode is written as TEXT, an ImageDocument as DOCUMENT, and named.
std::string type_to_ts(const std::string& code) {
  if (code == "4" || code == "Document") return "DOCUMENT";
  return "TEXT";
}

std::string type_to_py(const std::string& word) {
  if (word == "DOCUMENT" || word == "IMAGE_DOCUMENT") return "4";
  if (word == "IMAGE") return "2";
  if (word == "INDEX") return "3";
  return "1";
}

const Json* member(const Json& o, std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (const Json* v = o.find(n)) return v;
  return nullptr;
}

Json member_or(const Json& o, std::initializer_list<const char*> names, Json fallback) {
  const Json* v = member(o, names);
  return v ? *v : fallback;
}

bool truthy_int(const Json* v) { return v && v->is_int() && v->as_int() != 0; }

// A node as gpt_index / LlamaIndex <= 0.6.33 wrote it (FORMAT.md §3.2):
// extra_info and doc_id fields, ids as relationship values, or the
// "Document" type word. 0.12 reads these through a lossy legacy path.
bool legacy_node(const Json& envelope) {
  const Json* d = envelope.find("__data__");
  const Json* t = envelope.find("__type__");
  if (t && t->is_string() && t->as_string() == "Document") return true;
  if (!d || !d->is_object()) return false;
  if (d->find("extra_info") || (d->find("doc_id") && !d->find("id_"))) return true;
  if (const Json* r = d->find("relationships"); r && r->is_object())
    for (const auto& [k, v] : r->as_object())
      if (v.is_string() || (v.is_array() && !v.as_array().empty() && v.as_array()[0].is_string())) return true;
  return false;
}

// What both dialects say about a node, read from either.
struct NodeFacts {
  std::string id;
  std::string py_type;  // "1".."4"
  std::string ts_type;  // TEXT, DOCUMENT, ...
  std::string class_name;
  std::string text;
  Json metadata = JsonObject{};
  Json excluded_embed = JsonArray{}, excluded_llm = JsonArray{};
  std::string separator = "\n";
  Json start, end;           // ints or null
  Json relationships = JsonObject{};  // as stored (either dialect)
  std::string key;       // its key in docstore/data
  std::string_view raw;  // its entry as stored
  bool legacy = false;
  bool ts_source = false;
  Json data;  // the decoded __data__
};

NodeFacts facts_of(const Node& n) {
  NodeFacts f;
  f.id = n.id;
  f.class_name = n.class_name;
  bool ts = n.data.find("excludedEmbedMetadataKeys") || n.data.find("metadataSeparator") ||
            n.type_code == "TEXT" || n.type_code == "DOCUMENT";
  f.ts_type = ts ? n.type_code : type_to_ts(n.type_code);
  f.py_type = ts ? type_to_py(n.type_code) : (n.type_code == "Document" ? "4" : n.type_code);
  if (ts) f.class_name = f.py_type == "4" ? (n.type_code == "IMAGE_DOCUMENT" ? "ImageDocument" : "Document") : "TextNode";
  f.text = n.text;
  f.metadata = n.metadata.is_object() ? n.metadata : Json(JsonObject{});
  f.excluded_embed = member_or(n.data, {"excluded_embed_metadata_keys", "excludedEmbedMetadataKeys"}, JsonArray{});
  f.excluded_llm = member_or(n.data, {"excluded_llm_metadata_keys", "excludedLlmMetadataKeys"}, JsonArray{});
  if (const Json* s = member(n.data, {"metadata_seperator", "metadata_separator", "metadataSeparator"}); s && s->is_string())
    f.separator = s->as_string();
  f.start = member_or(n.data, {"start_char_idx", "startCharIdx"}, Json());
  f.end = member_or(n.data, {"end_char_idx", "endCharIdx"}, Json());
  if (const Json* info = n.data.find("node_info"); info && info->is_object()) {  // 0.6
    f.start = member_or(*info, {"start"}, Json());
    f.end = member_or(*info, {"end"}, Json());
  }
  f.relationships = member_or(n.data, {"relationships"}, JsonObject{});
  f.ts_source = ts;
  f.data = n.data;
  return f;
}

std::string ts_hash(const NodeFacts& f, const Json& metadata) {
  return ts_node_hash(f.ts_type, f.text, metadata, f.separator, truthy_int(&f.start) ? &f.start : nullptr,
                      truthy_int(&f.end) ? &f.end : nullptr);
}

std::string py_hash(const NodeFacts& f, const Json& metadata) {
  if (f.py_type == "4") return document_hash_0_12_28(f.text, metadata, f.separator);
  return text_node_hash(f.text, metadata);
}

// NaN or Infinity anywhere in a value: JSON.stringify writes them as null.
bool has_non_finite(const Json& v) {
  if (v.is_float()) return !std::isfinite(v.as_float());
  if (v.is_array())
    for (const Json& e : v.as_array())
      if (has_non_finite(e)) return true;
  if (v.is_object())
    for (const auto& [k, e] : v.as_object())
      if (has_non_finite(e)) return true;
  return false;
}

// The Python node's own template, when it is not the one LlamaIndex.TS
// applies ("{key}: {value}" lines, then the text): TS ignores it.
bool custom_templates(const NodeFacts& f) {
  const Json* mt = f.data.find("metadata_template");
  const Json* tt = f.data.find("text_template");
  return (mt && mt->is_string() && mt->as_string() != "{key}: {value}") ||
         (tt && tt->is_string() && tt->as_string() != "{metadata_str}\n\n{content}");
}

// Notes gathered by kind, written as one line each: "<count> <what>: ids ...".
class Tally {
 public:
  void add(const std::string& what, std::string id) {
    auto it = std::find_if(m_kinds.begin(), m_kinds.end(), [&](const auto& k) { return k.first == what; });
    if (it == m_kinds.end()) it = m_kinds.insert(m_kinds.end(), {what, {}});
    if (it->second.empty() || it->second.back() != id) it->second.push_back(std::move(id));
  }
  void flush(std::vector<std::string>& notes) {
    for (const auto& [what, ids] : m_kinds) {
      std::string line = std::to_string(ids.size()) + " " + what + ": ids";
      std::size_t shown = std::min<std::size_t>(ids.size(), kShown);
      for (std::size_t i = 0; i < shown; ++i) line += (i ? ", " : " ") + ids[i];
      if (ids.size() > shown) line += ", ... (" + std::to_string(ids.size() - shown) + " more)";
      notes.push_back(std::move(line));
    }
    m_kinds.clear();
  }

 private:
  static constexpr std::size_t kShown = 10;
  std::vector<std::pair<std::string, std::vector<std::string>>> m_kinds;
};

std::string vector_file_id(std::string_view ns) {
  return std::string("vector:") + (ns == "images" ? "image" : std::string(ns));
}

// One JSON object file written collection by collection.
class KvText {
 public:
  explicit KvText(JsonDialect d) : m_d(d), m_py(d == JsonDialect::Python) {}
  void collection(std::string_view name) {
    end_collection();
    m_out += m_collections++ ? (m_py ? ", " : ",") : "";
    dump_string(m_out, name, m_d);
    m_out += m_py ? ": {" : ":{";
    m_entries = 0;
    m_open = true;
  }
  void entry_text(std::string_view key, std::string_view value_text) {
    if (m_entries++) m_out += m_py ? ", " : ",";
    dump_string(m_out, key, m_d);
    m_out += m_py ? ": " : ":";
    m_out += value_text;
  }
  void entry(std::string_view key, const Json& value) { entry_text(key, dump(value, WriteStyle{m_d})); }
  std::string finish() {
    end_collection();
    return "{" + m_out + "}";
  }

 private:
  void end_collection() {
    if (m_open) m_out += "}";
    m_open = false;
  }
  JsonDialect m_d;
  bool m_py;
  std::string m_out;
  std::size_t m_collections = 0, m_entries = 0;
  bool m_open = false;
};

// An embedding's text in another dialect's number form, each element read
// as json.loads reads it (an int is float(int)).
std::string convert_vector(std::string_view raw, JsonDialect to) {
  std::string out = "[";
  bool first = true;
  char buf[numbers::kMaxFormatted];
  auto err = numbers::scan_array(raw, [&](const numbers::Token& t) {
    if (!t.finite()) throw Error(ErrorKind::Data, "embedding", "not a finite number: " + std::string(t.text));
    if (!first) out += to == JsonDialect::Python ? ", " : ",";
    first = false;
    out.append(buf, numbers::format(buf, t.value, to));
    return true;
  });
  if (err) throw Error(ErrorKind::Data, "embedding", "not an array of numbers: " + err->what);
  return out + "]";
}

class Converter {
 public:
  Converter(const Store& src, Dialect target, std::vector<std::string>& notes, bool upgrade = false,
            const carry::Plan* plan = nullptr)
      : m_src(src), m_target(target), m_notes(notes), m_upgrade(upgrade), m_plan(plan),
        m_d(target == Dialect::TypeScript ? JsonDialect::JavaScript : JsonDialect::Python) {}

  Store run() {
    Store out = build();
    m_tally.flush(m_notes);
    return out;
  }

 private:
  Store build() {
    read_nodes();
    read_asides();
    Store out;
    out.location = m_src.location;
    out.dialect = m_target;
    auto add = [&](std::string name, FileKind kind, std::string text, std::optional<JsonDoc>* slot) {
      auto buffer = Buffer::own(std::move(text));
      FileInfo info;
      info.name = name;
      info.kind = kind;
      info.size = buffer->view().size();
      JsonDoc doc = JsonDoc::read(name, buffer, m_d);
      if (slot) *slot = std::move(doc);
      else out.vector_stores.push_back({m_ns, std::move(doc)});
      out.files.push_back(std::move(info));
    };
    bool ts = m_target == Dialect::TypeScript;
    // Chat stores and KV files alone are not a persist dir: nothing to add.
    bool persist_dir = m_src.docstore || m_src.index_store || !m_src.vector_stores.empty() || m_src.graph_store ||
                       m_src.property_graph;
    if (!persist_dir) {
      for (const FileInfo& f : m_src.files)
        if (f.bytes) out.files.push_back(f);
      out.era = m_src.era;
      return out;
    }
    if (m_src.docstore) add(ts ? "doc_store.json" : "docstore.json", FileKind::DocStore, docstore(), &out.docstore);
    if (m_src.index_store || !ts) add("index_store.json", FileKind::IndexStore, index_store(), &out.index_store);
    // LlamaIndex.TS reads only doc_store, index_store and vector_store.json:
    // a graph store rides along in its file, unread, for the way back (a TS
    // source's graph store can only be one that came from Python so).
    bool graph_empty = !m_src.graph_store || m_src.graph_store->bytes().find("\"graph_dict\": {}") != std::string_view::npos;
    if (!ts) {
      std::string graph = m_src.graph_store ? std::string(m_src.graph_store->bytes()) : "{\"graph_dict\": {}}";
      add("graph_store.json", FileKind::GraphStore, graph, &out.graph_store);
    } else if (!graph_empty) {
      add("graph_store.json", FileKind::GraphStore, std::string(m_src.graph_store->bytes()), &out.graph_store);
      m_tally.add("graph store LlamaIndex.TS does not read (it has none), carried as it is for the way back", "graph_store.json");
    }
    if (m_src.property_graph) {
      add("property_graph_store.json", FileKind::PropertyGraph, std::string(m_src.property_graph->bytes()), &out.property_graph);
      if (ts)
        m_tally.add("property graph store LlamaIndex.TS does not read (it has none), carried as it is for the way back",
                    "property_graph_store.json");
    }
    bool wrote_image = false;
    for (const VectorStoreDoc& v : m_src.vector_stores) {
      bool image = v.ns == "image" || v.ns == "images";
      VectorSections s = vector_sections(v.doc);
      bool empty = !s.embeddings || s.embeddings->entries.empty();
      std::string name;
      if (ts) {
        if (image && empty) continue;
        name = image ? "images/vector_store.json" : v.ns == "default" ? "vector_store.json" : v.ns + "__vector_store.json";
      } else {
        name = (image ? std::string("image") : v.ns) + "__vector_store.json";
        wrote_image |= image;
      }
      m_ns = image ? (ts ? "images" : "image") : v.ns;
      add(name, FileKind::VectorStore, vector_store(v), nullptr);
    }
    if (!ts && !wrote_image) {
      m_ns = "image";
      add("image__vector_store.json", FileKind::VectorStore,
          "{\"embedding_dict\": {}, \"text_id_to_ref_doc_id\": {}, \"metadata_dict\": {}}", nullptr);
    }
    // Files the model does not hold travel as they are.
    for (const FileInfo& f : m_src.files)
      if (!m_src.document(f.name) && f.bytes) {
        out.files.push_back(f);
        if (ts && f.kind == FileKind::Faiss)
          m_tally.add("FAISS files carried as they are (LlamaIndex.TS has no FAISS store and reads no vectors from them)", f.name);
      }
    out.era = detect_era(out);
    return out;
  }

  void read_nodes() {
    const Section* data = m_src.doc_collection(coll::kDocData);
    if (!data) return;
    for (const Entry& e : data->entries) {
      if (data->find(e.key) != &e) continue;  // shadowed duplicate
      NodeFacts f = facts_of(decode_node(*m_src.docstore, e));
      f.raw = e.raw;
      f.key = std::string(e.key);
      f.legacy = legacy_node(m_src.docstore->decode(e.raw));
      if (f.legacy) m_rewritten.insert(f.id);
      if (m_target == Dialect::TypeScript && !f.ts_source) tally_ts_changes(f);
      m_index[f.id] = m_nodes.size();
      m_nodes.push_back(std::move(f));
    }
  }
  // What LlamaIndex.TS will not see as Python does; the Python entry itself
  // is set aside for the way back (dialect_carry.hpp).
  void tally_ts_changes(const NodeFacts& f) {
    const std::string kept = ", the Python node kept aside for the way back";
    if (f.class_name == "ImageNode" || f.class_name == "IndexNode" || f.class_name == "ImageDocument")
      m_tally.add(f.class_name + "s written as " + (f.ts_type == "DOCUMENT" ? "Documents" : "TextNodes") +
                      " (LlamaIndex.TS loads only TEXT and DOCUMENT nodes; it sees no " +
                      (f.class_name == "IndexNode" ? std::string("index_id") : std::string("image")) + ")" + kept,
                  f.id);
    if (has_non_finite(f.metadata) || has_non_finite(f.relationships))
      m_tally.add("nodes with NaN or Infinity in metadata, written as null as JSON.stringify does" + kept, f.id);
    if (custom_templates(f))
      m_tally.add("nodes with a metadata_template or text_template LlamaIndex.TS does not apply" + kept, f.id);
    if (const Json* e = f.data.find("embedding"); e && !e->is_null())
      m_tally.add("nodes with an embedding inside the docstore node, which LlamaIndex.TS does not read there" + kept, f.id);
  }

  // Set-aside Python entries found in a TS source, by file.
  void read_asides() {
    if (m_src.dialect != Dialect::TypeScript || m_target != Dialect::Python) return;
    if (m_src.docstore) m_asides["docstore"] = carry::read_asides(*m_src.docstore);
    if (m_src.index_store) m_asides["index_store"] = carry::read_asides(*m_src.index_store);
    for (const VectorStoreDoc& v : m_src.vector_stores) m_asides[vector_file_id(v.ns)] = carry::read_asides(v.doc);
  }

  // TS target: writes one entry; when its Python entry is set aside,
  // remembers the TS entry's sha256 so that the way back can tell whether
  // TS changed the entry since.
  void ts_entry(KvText& kv, const std::string& file, const std::string& py_coll, const std::string& py_key,
                std::string_view ts_key, std::string text) {
    if (m_plan)
      if (auto f = m_plan->by_file.find(file); f != m_plan->by_file.end())
        if (auto c = f->second.find(py_coll); c != f->second.end() && c->second.find(py_key))
          m_ts_sha[file + '\n' + py_coll + '\n' + py_key] = sha256_hex(text);
    kv.entry_text(ts_key, text);
  }

  // TS target: the set-aside collections of one file, after its own.
  void write_asides(KvText& kv, const std::string& file) {
    if (!m_plan) return;
    auto f = m_plan->by_file.find(file);
    if (f == m_plan->by_file.end()) return;
    for (const auto& [coll, list] : f->second) {
      kv.collection(std::string(carry::kPrefix) + coll);
      for (const carry::Aside& a : list.entries) {
        auto sha = m_ts_sha.find(file + '\n' + coll + '\n' + a.key);
        kv.entry(a.key, Json(JsonObject{{"ts", sha == m_ts_sha.end() ? std::string() : sha->second}, {"python", a.python}}));
      }
    }
  }

  // Python target: the set-aside Python text of an entry TS still holds as
  // lstore wrote it.
  const carry::Aside* restored(const std::string& file, const std::string& coll, std::string_view key,
                               std::string_view ts_raw) {
    auto f = m_asides.find(file);
    if (f == m_asides.end()) return nullptr;
    std::size_t stale = 0;
    const carry::Aside* a = carry::restorable(f->second, coll, key, ts_raw, stale);
    if (stale)
      m_tally.add("entries changed in TS since lstore wrote them: what was set aside for the way back is not used",
                  std::string(key));
    if (a) m_used.insert(file + '\n' + coll + '\n' + std::string(key));
    return a;
  }

  // Python target: set-aside entries TS never held (an index TS cannot
  // load, a key the way back would drop), at the end of their collection.
  void rest_of_collection(KvText& kv, const std::string& file, const std::string& coll) {
    auto f = m_asides.find(file);
    if (f == m_asides.end()) return;
    auto c = f->second.find(coll);
    if (c == f->second.end()) return;
    for (const carry::Aside& a : c->second.entries)
      if (a.ts_sha.empty() && m_used.insert(file + '\n' + coll + '\n' + a.key).second) kv.entry_text(a.key, a.python);
  }

  // Python target: whole set-aside collections the conversion writes none of.
  void other_collections(KvText& kv, const std::string& file, std::initializer_list<const char*> written) {
    auto f = m_asides.find(file);
    if (f == m_asides.end()) return;
    for (const auto& [coll, list] : f->second) {
      if (std::find_if(written.begin(), written.end(), [&](const char* w) { return coll == w; }) != written.end())
        continue;
      kv.collection(coll);
      rest_of_collection(kv, file, coll);
    }
  }

  const NodeFacts* node(const std::string& id) const {
    auto it = m_index.find(id);
    return it == m_index.end() ? nullptr : &m_nodes[it->second];
  }
  std::string hash_in_target(const NodeFacts& f, const Json& metadata) const {
    return m_target == Dialect::TypeScript ? ts_hash(f, metadata) : py_hash(f, metadata);
  }

  // The hash LlamaIndex.TS's splitter stores in a relationship, as found in
  // its output: NEXT is hashed before the next node gets its offsets
  // (both "undefined"), PREVIOUS after (a first chunk's start prints "0").
  static std::string ts_related_hash(const std::string& rel_code, const NodeFacts& t, const Json& md) {
    if (rel_code == "3") return ts_node_hash(t.ts_type, t.text, md, t.separator, nullptr, nullptr);
    if (rel_code == "2") {
      Json start = t.start.is_int() ? t.start : Json(0);
      return ts_node_hash(t.ts_type, t.text, md, t.separator, &start, t.end.is_int() ? &t.end : nullptr);
    }
    return ts_hash(t, md);
  }

  // A relationship value in the target's shape.
  Json related(const std::string& rel_code, const Json& r) const {
    std::string id;
    Json md = JsonObject{};
    Json hash;
    Json node_type;
    if (r.is_string()) {
      id = r.as_string();  // 0.6: ids only
    } else if (r.is_object()) {
      if (const Json* v = member(r, {"node_id", "nodeId"}); v && v->is_string()) id = v->as_string();
      if (const Json* v = r.find("metadata"); v && v->is_object()) md = *v;
      hash = member_or(r, {"hash"}, Json());
      node_type = member_or(r, {"node_type", "nodeType"}, Json());
    }
    const NodeFacts* target = node(id);
    if (target && m_target == Dialect::TypeScript) hash = ts_related_hash(rel_code, *target, md);
    else if (target) hash = py_hash(*target, md);
    if (m_target == Dialect::TypeScript)
      return Json(JsonObject{{"nodeId", id}, {"metadata", md}, {"hash", hash.is_null() ? Json("") : hash}});
    if (node_type.is_string() && !node_type.as_string().empty() && !std::isdigit(static_cast<unsigned char>(node_type.as_string()[0])))
      node_type = type_to_py(node_type.as_string());
    if (node_type.is_null()) node_type = target ? Json(target->py_type) : Json(rel_code == "1" ? "4" : "1");
    return Json(JsonObject{{"node_id", id}, {"node_type", node_type}, {"metadata", md}, {"hash", hash},
                           {"class_name", "RelatedNodeInfo"}});
  }

  Json relationships(const NodeFacts& f) const {
    JsonObject out;
    if (!f.relationships.is_object()) return Json(std::move(out));
    for (const auto& [k, v] : f.relationships.as_object()) {
      std::string code = rel_to_py(k);
      std::string key = m_target == Dialect::TypeScript ? rel_to_ts(code) : code;
      if (v.is_array()) {
        JsonArray a;
        for (const Json& r : v.as_array()) a.push_back(related(code, r));
        out.emplace_back(key, Json(std::move(a)));
      } else {
        out.emplace_back(key, related(code, v));
      }
    }
    return Json(std::move(out));
  }

  // The node as the target's docstore holds it (TS: the object inside the
  // __data__ string; Python: __data__ itself).
  Json encode(const NodeFacts& f) const {
    if (m_target == Dialect::TypeScript) {
      JsonObject o{{"id_", f.id},
                   {"metadata", f.metadata},
                   {"excludedEmbedMetadataKeys", f.excluded_embed},
                   {"excludedLlmMetadataKeys", f.excluded_llm},
                   {"relationships", relationships(f)},
                   {"text", f.text},
                   {"textTemplate", ""}};
      // TS itself omits a 0 offset (falsy); it reads neither back, so a 0
      // kept here costs nothing and tells the way back it was 0, not null.
      if (f.start.is_int()) o.emplace_back("startCharIdx", f.start);
      if (f.end.is_int()) o.emplace_back("endCharIdx", f.end);
      o.emplace_back("metadataSeparator", f.separator);
      o.emplace_back("type", f.ts_type);
      o.emplace_back("hash", ts_hash(f, f.metadata));
      return Json(std::move(o));
    }
    JsonObject o{{"id_", f.id},
                 {"embedding", nullptr},
                 {"metadata", f.metadata},
                 {"excluded_embed_metadata_keys", f.excluded_embed},
                 {"excluded_llm_metadata_keys", f.excluded_llm},
                 {"relationships", relationships(f)},
                 {"metadata_template", "{key}: {value}"},
                 {"metadata_separator", f.separator}};
    if (f.py_type == "4") {  // 0.12.35 Document: text_resource, class_name, then text
      o.emplace_back("text_resource", JsonObject{{"embeddings", nullptr}, {"text", f.text}, {"path", nullptr},
                                                 {"url", nullptr}, {"mimetype", nullptr}});
      o.emplace_back("image_resource", nullptr);
      o.emplace_back("audio_resource", nullptr);
      o.emplace_back("video_resource", nullptr);
      o.emplace_back("text_template", "{metadata_str}\n\n{content}");
      o.emplace_back("class_name", f.class_name.empty() ? "Document" : f.class_name);
      o.emplace_back("text", f.text);
      return Json(std::move(o));
    }
    o.emplace_back("text", f.text);
    o.emplace_back("mimetype", "text/plain");
    o.emplace_back("start_char_idx", f.start);
    o.emplace_back("end_char_idx", f.end);
    o.emplace_back("metadata_seperator", f.separator);
    o.emplace_back("text_template", "{metadata_str}\n\n{content}");
    o.emplace_back("class_name", "TextNode");
    return Json(std::move(o));
  }

  std::string docstore() {
    KvText kv(m_d);
    bool ts = m_target == Dialect::TypeScript;
    // Collections in the source's order (Python writes them in first-use order).
    std::vector<std::string> order;
    if (m_src.docstore)
      for (const Section& sec : m_src.docstore->sections()) order.push_back(sec.name);
    for (const char* c : {coll::kDocData, coll::kDocMetadata, coll::kRefDocInfo})
      if (std::find(order.begin(), order.end(), c) == order.end()) order.push_back(c);
    if (!m_upgrade) order = {coll::kDocData, coll::kDocMetadata, coll::kRefDocInfo};
    for (const std::string& name : order) {
      if (name == coll::kDocData) {
        kv.collection(coll::kDocData);
      for (const NodeFacts& f : m_nodes) {
        if (m_upgrade && !f.legacy) {
          if (f.py_type == "4" && !f.data.find("class_name")) kv.entry(f.key, with_class_name(f));
          else kv.entry_text(f.key, f.raw);
          continue;
        }
        if (!ts)
          if (const carry::Aside* a = restored("docstore", coll::kDocData, f.id, f.raw)) {
            kv.entry_text(f.id, a->python);
            continue;
          }
        Json node = encode(f);
        if (ts)
          ts_entry(kv, "docstore", coll::kDocData, f.key, f.id,
                   dump(Json(JsonObject{{"__data__", dump(node, WriteStyle{JsonDialect::JavaScript})}, {"__type__", f.ts_type}}),
                        WriteStyle{m_d}));
        else
          kv.entry(m_upgrade ? f.key : f.id, Json(JsonObject{{"__data__", std::move(node)}, {"__type__", f.py_type}}));
      }
      } else if (name == coll::kDocMetadata) {
        kv.collection(coll::kDocMetadata);
      if (const Section* meta = m_src.doc_collection(coll::kDocMetadata))
        for (const Entry& e : meta->entries) {
          if (meta->find(e.key) != &e) continue;
          std::string key(e.key);
          if (m_upgrade && !m_rewritten.count(key)) {
            kv.entry_text(key, e.raw);
            continue;
          }
          if (!ts)
            if (const carry::Aside* a = restored("docstore", coll::kDocMetadata, key, e.raw)) {
              kv.entry_text(key, a->python);
              continue;
            }
          Json v = m_src.docstore->decode(e.raw);
          Json hash = member_or(v, {"doc_hash", "docHash"}, Json());
          if (const NodeFacts* f = node(key)) hash = hash_in_target(*f, f->metadata);
          Json ref = member_or(v, {"ref_doc_id", "refDocId"}, Json());
          // LlamaIndex records a node's ref doc here since 0.6.34.
          if (const NodeFacts* f = node(key); f && ref.is_null() && f->relationships.is_object())
            if (const Json* src = member(f->relationships, {"1", "SOURCE"}))
              ref = src->is_string() ? *src : member_or(*src, {"node_id", "nodeId"}, Json());
          JsonObject o{{ts ? "docHash" : "doc_hash", hash}};
          if (!ref.is_null()) o.emplace_back(ts ? "refDocId" : "ref_doc_id", ref);
          if (ts) ts_entry(kv, "docstore", coll::kDocMetadata, key, key, dump(Json(std::move(o)), WriteStyle{m_d}));
          else kv.entry(key, Json(std::move(o)));
        }
      } else if (name == coll::kRefDocInfo) {
        kv.collection(coll::kRefDocInfo);
        if (const Section* refs = m_src.doc_collection(coll::kRefDocInfo))
          for (const Entry& e : refs->entries) {
            if (refs->find(e.key) != &e) continue;
            if (!ts)
              if (const carry::Aside* a = restored("docstore", coll::kRefDocInfo, e.key, e.raw)) {
                kv.entry_text(e.key, a->python);
                continue;
              }
            Json v = m_src.docstore->decode(e.raw);
            if (m_upgrade && !v.find("doc_ids") && !v.find("extra_info")) {
              kv.entry_text(e.key, e.raw);
              continue;
            }
            const Json* listed = ref_doc_node_ids(v);
            Json ids = listed ? *listed : Json(JsonArray{});
            if (ts) {
              ts_entry(kv, "docstore", coll::kRefDocInfo, std::string(e.key), e.key,
                       dump(Json(JsonObject{{"nodeIds", ids}, {"extraInfo", JsonObject{}}}), WriteStyle{m_d}));
              continue;
            }
            // The ids as they are: duplicates too (TS and LlamaIndex 0.10 write
            // them; Python reads them, and collapsing them would be a change
            // the way back cannot undo). The document's (else its first
            // node's) metadata, as Python keeps it.
            JsonArray unique = ids.is_array() ? ids.as_array() : JsonArray{};
            Json md = member_or(v, {"metadata", "extra_info"}, JsonObject{});
            if (md.is_null()) md = JsonObject{};
            if (const NodeFacts* doc = node(std::string(e.key))) md = doc->metadata;
            else if (!unique.empty() && unique[0].is_string())
              if (const NodeFacts* first = node(unique[0].as_string())) md = first->metadata;
            kv.entry(e.key, Json(JsonObject{{"node_ids", Json(std::move(unique))}, {"metadata", md}}));
          }
        if (m_upgrade) add_missing_ref_docs(kv);
      }
      if (!ts) rest_of_collection(kv, "docstore", name);
    }
    if (ts) write_asides(kv, "docstore");
    else other_collections(kv, "docstore", {coll::kDocData, coll::kDocMetadata, coll::kRefDocInfo});
    return kv.finish();
  }

  // 0.12's json_to_doc reads __data__["class_name"] of a type "4" node (to
  // tell an ImageDocument): without it, docstore.docs raises KeyError. The
  // name goes where to_dict puts it: after the fields, before the "text" key
  // that 0.12 appends last, else at the end (0.10's layout).
  Json with_class_name(const NodeFacts& f) const {
    Json env = m_src.docstore->decode(f.raw);
    JsonObject data;
    const JsonObject& old = f.data.as_object();
    const char* name = f.data.find("image") ? "ImageDocument" : "Document";
    bool text_last = !old.empty() && old.back().first == "text";
    for (std::size_t i = 0; i < old.size(); ++i) {
      if (text_last && i + 1 == old.size()) data.emplace_back("class_name", name);
      data.emplace_back(old[i].first, old[i].second);
    }
    if (!text_last) data.emplace_back("class_name", name);
    env.set("__data__", Json(std::move(data)));
    return env;
  }

  // Before 0.6.16 there was no ref_doc_info; 0.12 needs it to delete or
  // refresh a document. One entry per SOURCE document, as LlamaIndex builds it.
  void add_missing_ref_docs(KvText& kv) const {
    const Section* refs = m_src.doc_collection(coll::kRefDocInfo);
    std::vector<std::string> order;
    std::map<std::string, std::pair<JsonArray, Json>> docs;
    for (const NodeFacts& f : m_nodes) {
      const Json* src = f.relationships.is_object() ? member(f.relationships, {"1"}) : nullptr;
      std::string ref = !src ? "" : src->is_string() ? src->as_string() : member_or(*src, {"node_id"}, Json("")).as_string();
      if (ref.empty() || (refs && refs->find(ref))) continue;
      auto [it, fresh] = docs.try_emplace(ref, JsonArray{}, f.metadata);
      if (fresh) order.push_back(ref);
      it->second.first.push_back(f.id);
    }
    for (const std::string& ref : order)
      kv.entry(ref, Json(JsonObject{{"node_ids", Json(docs[ref].first)}, {"metadata", docs[ref].second}}));
  }

  std::string index_store() {
    bool ts = m_target == Dialect::TypeScript;
    KvText kv(m_d);
    kv.collection(ts ? coll::kDocData : coll::kIndexData);
    if (m_upgrade) {  // 0.6-0.8 kept __data__ as an object; 0.9+ reads a JSON string
      if (const Section* idx = m_src.index_collection())
        for (const Entry& e : idx->entries) {
          Json env = m_src.index_store->decode(e.raw);
          const Json* data = env.find("__data__");
          if (!data || data->is_string()) {
            kv.entry_text(e.key, e.raw);
            continue;
          }
          kv.entry(e.key, Json(JsonObject{{"__type__", member_or(env, {"__type__"}, Json("vector_store"))},
                                          {"__data__", dump(*data, WriteStyle{JsonDialect::Python})}}));
        }
      return kv.finish();
    }
    const Section* ts_structs = ts ? nullptr : m_src.index_collection();
    for (const IndexStruct& s : read_index_structs(m_src)) {
      if (const Entry* te = ts_structs ? ts_structs->find(s.id) : nullptr)
        if (const carry::Aside* a = restored("index_store", coll::kIndexData, s.id, te->raw)) {
          kv.entry_text(s.id, a->python);
          continue;
        }
      const Json& d = s.data;
      Json summary = member_or(d, {"summary"}, Json());
      std::string type = s.type == "simple_dict" ? "vector_store" : s.type;
      if (ts) {
        JsonObject o{{"indexId", s.id}};
        if (!summary.is_null()) o.emplace_back("summary", summary);
        if (type == "vector_store") {
          JsonObject nodes;
          if (const Json* nd = member(d, {"nodes_dict", "nodesDict"}); nd && nd->is_object())
            for (const auto& [vid, v] : nd->as_object()) {
              std::string nid = v.is_string() ? v.as_string() : vid;
              if (const NodeFacts* f = node(nid)) nodes.emplace_back(nid, encode(*f));
              else m_tally.add("nodes of index " + s.id + " not in the docstore, left out of its nodesDict", nid);
            }
          o.emplace_back("nodesDict", Json(std::move(nodes)));
          o.emplace_back("type", "simple_dict");
        } else if (type == "list") {
          o.emplace_back("nodes", member_or(d, {"nodes"}, JsonArray{}));
          o.emplace_back("type", "list");
        } else {
          // jsonToIndexStruct throws on any other type (a keyword table too),
          // which would fail every getIndexStructs() of the store.
          m_tally.add(type + " indexes LlamaIndex.TS cannot load, kept aside for the way back (TS does not see them)", s.id);
          continue;
        }
        ts_entry(kv, "index_store", coll::kIndexData, s.id, s.id, dump(Json(std::move(o)), WriteStyle{m_d}));
        continue;
      }
      JsonObject o{{"index_id", s.id}, {"summary", summary}};
      if (type == "vector_store") {
        JsonObject nodes;
        if (const Json* nd = member(d, {"nodes_dict", "nodesDict"}); nd && nd->is_object())
          for (const auto& [vid, v] : nd->as_object()) nodes.emplace_back(vid, v.is_string() ? v : Json(vid));
        o.emplace_back("nodes_dict", Json(std::move(nodes)));
        o.emplace_back("doc_id_dict", member_or(d, {"doc_id_dict"}, JsonObject{}));
        o.emplace_back("embeddings_dict", member_or(d, {"embeddings_dict"}, JsonObject{}));
      } else {
        // Other structs keep their own fields (already Python's).
        for (const auto& [k, v] : d.as_object())
          if (k != "index_id" && k != "indexId" && k != "summary" && k != "type") o.emplace_back(k, v);
      }
      kv.entry(s.id, Json(JsonObject{{"__type__", type}, {"__data__", dump(Json(std::move(o)), WriteStyle{JsonDialect::Python})}}));
    }
    if (ts) {
      write_asides(kv, "index_store");
    } else {
      rest_of_collection(kv, "index_store", coll::kIndexData);
      other_collections(kv, "index_store", {coll::kIndexData});
    }
    return kv.finish();
  }

  std::string vector_store(const VectorStoreDoc& v) {
    bool ts = m_target == Dialect::TypeScript;
    VectorSections s = vector_sections(v.doc);
    const std::string file = vector_file_id(v.ns);
    KvText kv(m_d);
    // One entry in the target's form: through what was set aside when TS
    // still holds what lstore wrote, else converted by `convert`.
    auto put = [&](const char* py_coll, const Entry& e, auto convert) {
      std::string key(e.key);
      if (ts) return ts_entry(kv, file, py_coll, key, e.key, convert());
      if (const carry::Aside* a = restored(file, py_coll, e.key, e.raw)) return kv.entry_text(e.key, a->python);
      kv.entry_text(e.key, convert());
    };
    kv.collection(ts ? "embeddingDict" : "embedding_dict");
    if (s.embeddings)
      for (const Entry& e : s.embeddings->entries) {
        if (m_upgrade) kv.entry_text(e.key, e.raw);
        else put("embedding_dict", e, [&] { return convert_vector(e.raw, m_d); });
      }
    if (!ts) rest_of_collection(kv, file, "embedding_dict");
    // A 0.6 store's text_id_to_doc_id comes back under its own name.
    std::string ref_coll = "text_id_to_ref_doc_id";
    if (ts && s.ref_doc_ids && !m_upgrade) ref_coll = s.ref_doc_ids->name;
    if (auto f = m_asides.find(file); !ts && f != m_asides.end() && f->second.count("text_id_to_doc_id"))
      ref_coll = "text_id_to_doc_id";
    kv.collection(ts ? "textIdToRefDocId" : ref_coll);
    if (s.ref_doc_ids)
      for (const Entry& e : s.ref_doc_ids->entries)
        put(ref_coll.c_str(), e, [&] { return dump(v.doc.decode(e.raw), WriteStyle{m_d}); });
    if (!ts) rest_of_collection(kv, file, ref_coll);
    kv.collection(ts ? "metadataDict" : "metadata_dict");
    if (s.metadata) {
      for (const Entry& e : s.metadata->entries)
        put("metadata_dict", e, [&] {
          Json md = v.doc.decode(e.raw);
          if (ts && has_non_finite(md))
            m_tally.add("vector-store metadata entries with NaN or Infinity, written as null as JSON.stringify does, "
                        "the Python entry kept aside for the way back",
                        std::string(e.key));
          return dump(md, WriteStyle{m_d});
        });
    } else if (m_upgrade && s.embeddings) {
      // Before 0.6.18 there was no metadata_dict; metadata filters need one.
      // Each entry is what SimpleVectorStore.add writes for the node.
      for (const Entry& e : s.embeddings->entries)
        if (const NodeFacts* f = node(std::string(e.key))) {
          Json md = f->metadata;
          std::string ref = "None";
          if (f->relationships.is_object())
            if (const Json* src = f->relationships.find("1"))
              ref = src->is_string() ? src->as_string() : member_or(*src, {"node_id"}, Json("None")).as_string();
          md.set("_node_type", f->py_type == "4" ? "Document" : "TextNode");
          md.set("document_id", ref);
          md.set("doc_id", ref);
          md.set("ref_doc_id", ref);
          kv.entry(e.key, md);
        }
    }
    if (ts) {
      write_asides(kv, file);
    } else {
      rest_of_collection(kv, file, "metadata_dict");
      other_collections(kv, file, {"embedding_dict", ref_coll.c_str(), "metadata_dict"});
    }
    return kv.finish();
  }

  const Store& m_src;
  Dialect m_target;
  std::vector<std::string>& m_notes;
  bool m_upgrade;  // same dialect, old era: rewrite only what 0.12 cannot read as it is
  std::set<std::string> m_rewritten;  // upgrade: node ids re-encoded
  const carry::Plan* m_plan;          // TS target: Python entries to set aside
  std::unordered_map<std::string, std::string> m_ts_sha;  // file\ncollection\nkey -> sha256 of the TS entry
  std::map<std::string, carry::Collections> m_asides;     // Python target: set aside in the TS source, by file
  std::set<std::string> m_used;                            // file\ncollection\nkey already written
  Tally m_tally;
  JsonDialect m_d;
  std::vector<NodeFacts> m_nodes;
  std::unordered_map<std::string, std::size_t> m_index;
  std::string m_ns;
};

// A store LlamaIndex cannot load at all is not upgraded into one that looks
// loadable (wild/INDEX.md lists such stores): the first reason, by file.
void refuse_unloadable(const Store& source) {
  auto refuse = [](const std::string& file, const std::string& why, const std::string& hint) {
    throw Error(ErrorKind::Data, file, why + ": LlamaIndex cannot load this store, so there is nothing to upgrade", "", hint);
  };
  for (const FileInfo& f : source.files) {
    bool store_name = f.name.find("store.json") != std::string::npos;
    if (f.kind == FileKind::LfsPointer)
      refuse(f.name, "a Git LFS pointer, not the file it stands for", "fetch the file (git lfs pull) and upgrade that");
    if (f.kind == FileKind::Faiss && store_name)
      refuse(f.name, "a binary FAISS index under a SimpleVectorStore name (StorageContext reads it as JSON)",
             "load it with FaissVectorStore.from_persist_dir, or rename it to default__vector_store.faiss");
    if (f.kind == FileKind::ForeignJson && store_name)  // LangChain's docstore.json, networkx's graph_store.json
      refuse(f.name, "not LlamaIndex's JSON under a LlamaIndex file name" + (f.detail.empty() ? "" : " (" + f.detail + ")"),
             "");
    if (f.kind == FileKind::Empty && store_name) refuse(f.name, "an empty file under a store name", "");
  }
  // A persist dir (any store file present) needs its docstore: a chat store
  // or KV file alone is not one.
  bool persist_dir = source.index_store || !source.vector_stores.empty() || source.graph_store || source.property_graph;
  if (persist_dir && !source.docstore)
    refuse(source.location, "no docstore.json (StorageContext.from_defaults reads one from every persist dir)", "");
}

}  // namespace

Store convert_dialect(const Store& source, Dialect target, std::vector<std::string>& notes) {
  if (source.dialect == target) return source;
  if (target == Dialect::Python) return Converter(source, target, notes).run();
  // To TS: convert, convert that back, and set aside every Python entry the
  // way back does not give back byte for byte; then convert again with them.
  std::vector<std::string> first_notes, scratch;
  Store ts = Converter(source, target, first_notes).run();
  Store back = Converter(ts, Dialect::Python, scratch).run();
  carry::Plan plan = carry::entries_not_restored(source, back);
  if (plan.by_file.empty()) {
    notes.insert(notes.end(), first_notes.begin(), first_notes.end());
    return ts;
  }
  return Converter(source, target, notes, false, &plan).run();
}

Store upgrade_store(const Store& source, std::vector<std::string>& notes) {
  if (source.dialect == Dialect::TypeScript)
    throw Error(ErrorKind::Usage, "--upgrade", "upgrades old Python stores; for a TS store use --dialect python");
  for (const FileInfo& f : source.files)
    if (f.kind == FileKind::LegacySaveToDisk)
      throw Error(ErrorKind::Data, f.name, "a gpt_index 0.5 save_to_disk() file: it holds no persist-dir store to upgrade",
                  "", "rebuild the index with a current LlamaIndex");
  refuse_unloadable(source);
  Store out = Converter(source, Dialect::Python, notes, true).run();
  // 0.10 chat stores (a JSON string, messages with "content") become 0.12's.
  for (FileInfo* f : side_files(out, FileKind::ChatStore)) {
    ChatStore chat = read_chat_file(*f);
    if (chat.era() == ChatStore::Era::V012) continue;
    chat.upgrade();
    write_chat_file(*f, chat);
    f->detail = "SimpleChatStore";
  }
  return out;
}

}  // namespace lstore
