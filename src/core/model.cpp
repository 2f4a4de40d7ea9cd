// Decoding records across eras and dialects (FORMAT.md §3-§6, §9).
#include "lstore/model.hpp"

#include <set>
#include <unordered_set>

#include "lstore/error.hpp"
#include "core/outline.hpp"

namespace lstore {
namespace {

std::string str_or(const Json* v, std::string fallback = {}) {
  return v && v->is_string() ? v->as_string() : fallback;
}

[[noreturn]] void bad(const JsonDoc& doc, const std::string& path, const std::string& what) {
  throw Error(ErrorKind::Data, doc.name(), what, path);
}

// SOURCE relationship target in any era: {"1": {"node_id"}}, {"SOURCE": {"nodeId"}}, {"1": "id"}.
std::optional<std::string> source_of(const Json& rels) {
  const Json* src = rels.find("1");
  if (!src) src = rels.find("SOURCE");
  if (!src) return std::nullopt;
  if (src->is_string()) return src->as_string();
  if (const Json* id = src->find("node_id"); id && id->is_string()) return id->as_string();
  if (const Json* id = src->find("nodeId"); id && id->is_string()) return id->as_string();
  return std::nullopt;
}

}  // namespace

std::string class_for_type_code(const std::string& code) {
  if (code == "1" || code == "TEXT") return "TextNode";
  if (code == "2" || code == "IMAGE") return "ImageNode";
  if (code == "3" || code == "INDEX") return "IndexNode";
  if (code == "4" || code == "DOCUMENT" || code == "Document") return "Document";
  if (code == "5") return "Node";
  if (code == "IMAGE_DOCUMENT") return "ImageDocument";
  return "unknown(" + code + ")";
}

Node decode_node(const JsonDoc& doc, const Entry& entry) {
  const std::string path = "docstore/data." + std::string(entry.key);
  Json env = doc.decode(entry.raw);
  if (!env.is_object()) bad(doc, path, std::string("node entry is a ") + env.type_name() + ", expected an object");
  Node n;
  n.type_code = str_or(env.find("__type__"));
  const Json* data = env.find("__data__");
  if (!data) {
    // gpt_index 0.5 merged the fields into the entry itself.
    data = &env;
  }
  if (data->is_string()) {
    try {
      n.data = parse(data->as_string());  // TS: __data__ is a JSON string
    } catch (const ParseError& e) {
      bad(doc, path + ".__data__", std::string("__data__ is not valid JSON: ") + e.what());
    }
  } else {
    n.data = *data;
  }
  if (!n.data.is_object()) bad(doc, path + ".__data__", std::string("__data__ is a ") + n.data.type_name() + ", expected an object");
  const Json& d = n.data;
  n.id = str_or(d.find("id_"), str_or(d.find("doc_id"), std::string(entry.key)));
  n.class_name = str_or(d.find("class_name"), class_for_type_code(n.type_code));
  if (const Json* t = d.find("text"); t && t->is_string()) n.text = t->as_string();
  else if (const Json* r = d.find("text_resource"); r && r->is_object()) n.text = str_or(r->find("text"));
  if (const Json* m = d.find("metadata"); m && m->is_object()) n.metadata = *m;
  else if (const Json* x = d.find("extra_info"); x && x->is_object()) n.metadata = *x;
  else n.metadata = JsonObject{};
  if (const Json* rels = d.find("relationships"); rels && rels->is_object()) n.ref_doc_id = source_of(*rels);
  if (const Json* h = d.find("hash"); h && h->is_string()) n.hash = h->as_string();
  else if (const Json* h2 = d.find("doc_hash"); h2 && h2->is_string()) n.hash = h2->as_string();
  return n;
}

const char* ref_doc_ids_key(const Json& entry) {
  if (!entry.is_object()) return "node_ids";
  for (const char* name : {"node_ids", "nodeIds", "doc_ids"})
    if (entry.find(name)) return name;
  return "node_ids";
}

const Json* ref_doc_node_ids(const Json& entry) { return entry.is_object() ? entry.find(ref_doc_ids_key(entry)) : nullptr; }

IndexStruct decode_index_struct(const JsonDoc& doc, const Entry& entry) {
  const std::string path = doc.sections().empty() ? std::string(entry.key) : "index_store/data." + std::string(entry.key);
  Json env = doc.decode(entry.raw);
  if (!env.is_object()) bad(doc, path, std::string("index entry is a ") + env.type_name() + ", expected an object");
  IndexStruct s;
  s.id = entry.key;
  if (const Json* data = env.find("__data__")) {
    s.type = str_or(env.find("__type__"));
    if (data->is_string()) {
      try {
        s.data = parse(data->as_string());
      } catch (const ParseError& e) {
        bad(doc, path + ".__data__", std::string("__data__ is not valid JSON: ") + e.what());
      }
    } else {
      s.data = *data;  // 0.6.0-0.6.15 wrote an object
    }
    if (!s.data.is_object()) bad(doc, path + ".__data__", std::string("__data__ is a ") + s.data.type_name() + ", expected an object");
  } else {
    s.type = str_or(env.find("type"));  // TS: the entry is the struct
    s.data = std::move(env);
  }
  return s;
}

std::size_t index_node_count(const IndexStruct& s) {
  const Json& d = s.data;
  auto size_of = [&](const char* a, const char* b = nullptr) -> std::size_t {
    const Json* v = d.find(a);
    if (!v && b) v = d.find(b);
    if (!v) return 0;
    if (v->is_object()) return v->as_object().size();
    if (v->is_array()) return v->as_array().size();
    return 0;
  };
  const std::string& t = s.type;
  if (t == "vector_store" || t == "multimodal" || t == "simple_dict" || t == "dict")
    return size_of("nodes_dict", "nodesDict");
  if (t == "list") return size_of("nodes");
  if (t == "tree") return size_of("all_nodes");
  if (t == "keyword_table" || t == "kg" || t == "simple_kg") {
    const Json* table = d.find("table");
    if (!table || !table->is_object()) return 0;
    std::unordered_set<std::string> ids;
    for (const auto& [k, v] : table->as_object())
      if (v.is_array())
        for (const Json& id : v.as_array())
          if (id.is_string()) ids.insert(id.as_string());
    return ids.size();
  }
  if (t == "document_summary") {
    // Each summary is a node of its own, then the nodes it summarises.
    const Json* map = d.find("summary_id_to_node_ids");
    if (!map || !map->is_object()) return 0;
    std::unordered_set<std::string> ids;
    for (const auto& [summary, nodes] : map->as_object()) {
      ids.insert(summary);
      if (nodes.is_array())
        for (const Json& id : nodes.as_array())
          if (id.is_string()) ids.insert(id.as_string());
    }
    return ids.size();
  }
  return 0;
}

IndexCount count_index_struct(const JsonDoc& doc, const Entry& entry) {
  IndexCount out;
  out.id = entry.key;
  // Only these types are counted from the outline; the others need the DOM
  // (keyword and KG tables count distinct ids across their lists).
  // Streamed: a struct of a million nodes is counted without a Member each.
  struct Counter : OutlineVisitor {
    const char* a;
    const char* b;
    std::optional<std::size_t> found;  // the first member named a or b: its entries (0 unless a container)
    bool counting = false;
    void section(std::string_view name, std::string_view, bool container, bool, std::string_view) override {
      const bool first = !found && (name == a || (b && name == b));
      if (first) found = 0;
      counting = first && container;
    }
    void entry(const StreamEntry&) override {
      if (counting) ++*found;
    }
    void section_end(const Span&) override { counting = false; }
  };
  auto outlined_count = [](std::string_view text, const char* a, const char* b) -> std::optional<std::size_t> {
    try {
      Counter c;
      c.a = a;
      c.b = b;
      stream_object(text, c);
      return c.found.value_or(0);
    } catch (const ParseError&) {
      return std::nullopt;  // let the full decode report it
    }
  };
  std::optional<std::size_t> count;
  try {
    Outline env = outline_object(entry.raw, 1);
    std::string_view data;
    for (const Member& m : env.root.members) {
      std::string_view v = m.value.in(entry.raw);
      if ((m.name == "__type__" || m.name == "type") && v.size() >= 2 && v[0] == '"') {
        Json t = parse(v);
        if (t.is_string()) out.type = t.as_string();
      }
      if (m.name == "__data__") data = v;
    }
    const std::string& t = out.type;
    const char* a = nullptr;
    const char* b = nullptr;
    if (t == "vector_store" || t == "multimodal" || t == "simple_dict" || t == "dict") a = "nodes_dict", b = "nodesDict";
    else if (t == "list") a = "nodes";
    else if (t == "tree") a = "all_nodes";
    if (a) {
      if (data.empty()) {
        count = outlined_count(entry.raw, a, b);  // TS: the entry is the struct
      } else if (data[0] == '"') {
        std::string inner;
        if (unescape_string(data.substr(1, data.size() - 2), inner)) count = outlined_count(inner, a, b);
      } else {
        count = outlined_count(data, a, b);
      }
    }
  } catch (const ParseError&) {
  }
  if (count) {
    out.nodes = *count;
    return out;
  }
  IndexStruct s = decode_index_struct(doc, entry);  // reports malformed entries with their place
  out.type = s.type;
  out.nodes = index_node_count(s);
  return out;
}

bool index_type_loadable(const std::string& type) {
  static const std::set<std::string> loadable = {"vector_store", "multimodal", "list", "tree", "keyword_table", "kg",
                                                 "document_summary", "simple_lpg", "empty", "sql", "pandas"};
  return loadable.count(type) > 0;
}

std::vector<IndexStruct> read_index_structs(const Store& store) {
  std::vector<IndexStruct> out;
  const Section* idx = store.index_collection();
  if (!idx) return out;
  for (const Entry& e : idx->entries) out.push_back(decode_index_struct(*store.index_store, e));
  return out;
}

VectorSections vector_sections(const JsonDoc& doc) {
  VectorSections v;
  v.embeddings = doc.section("embedding_dict");
  if (!v.embeddings) v.embeddings = doc.section("embeddingDict");
  v.ref_doc_ids = doc.section("text_id_to_ref_doc_id");
  if (!v.ref_doc_ids) v.ref_doc_ids = doc.section("textIdToRefDocId");
  if (!v.ref_doc_ids) v.ref_doc_ids = doc.section("text_id_to_doc_id");
  v.metadata = doc.section("metadata_dict");
  if (!v.metadata) v.metadata = doc.section("metadataDict");
  return v;
}

VectorStoreInfo vector_store_info(const VectorStoreDoc& v) {
  VectorStoreInfo info;
  info.ns = v.ns;
  info.file = v.doc.name();
  VectorSections s = vector_sections(v.doc);
  info.legacy_doc_id_map = v.doc.section("text_id_to_doc_id") != nullptr;
  std::string_view text = v.doc.bytes();
  if (s.embeddings && s.embeddings->outlined) {
    info.vectors = s.embeddings->size();
    for (const Entry& e : s.embeddings->entries) {
      std::size_t n = e.elements;
      if (e.elements == Member::kNotCounted) {  // not a flat array: count it here
        std::size_t begin = static_cast<std::size_t>(e.raw.data() - text.data());
        n = (!e.raw.empty() && e.raw[0] == '[' && begin < text.size())
                ? count_array_elements(text, {begin, begin + e.raw.size()})
                : 0;
      }
      if (!info.dim) info.dim = n;
      else if (*info.dim != n) info.mixed_dims = true;
    }
  }
  info.has_metadata = s.metadata && s.metadata->outlined && (s.metadata->size() > 0 || info.vectors == 0);
  return info;
}

GraphInfo graph_info(const Store& store) {
  GraphInfo g;
  if (!store.graph_store) return g;
  const Section* gd = store.graph_store->section("graph_dict");
  if (!gd || !gd->outlined) return g;
  g.subjects = gd->size();
  for (const Entry& e : gd->entries) {
    Json rels = store.graph_store->decode(e.raw);
    if (rels.is_array()) g.triplets += rels.as_array().size();
  }
  return g;
}

std::optional<PropertyGraphInfo> property_graph_info(const Store& store) {
  if (!store.property_graph) return std::nullopt;
  PropertyGraphInfo p;
  const JsonDoc& d = *store.property_graph;
  if (const Section* s = d.section("nodes"); s && s->outlined) p.nodes = s->size();
  if (const Section* s = d.section("relations"); s && s->outlined) p.relations = s->size();
  if (const Section* s = d.section("triplets"); s && s->outlined) p.triplets = s->entries.size();
  return p;
}

}  // namespace lstore
