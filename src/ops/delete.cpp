// Deleting documents and nodes as LlamaIndex does (FORMAT.md §3.6, §4.2, §5.2, §6.2).
// Python 0.12 semantics; TS stores are handled with their own field names.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "lstore/edit.hpp"
#include "lstore/error.hpp"
#include "lstore/model.hpp"
#include "core/plain_json.hpp"
#include "erase_keys.hpp"

namespace lstore {
namespace {

// An index struct's __data__ kept as a JSON string: decoded, or an error
// that names the file and the entry (not a bare "invalid key").
Json decode_data_string(const JsonDoc& doc, const std::string& path, const Json& field) {
  try {
    return parse(field.as_string());
  } catch (const ParseError& err) {
    throw Error(ErrorKind::Data, doc.name(), std::string("__data__ is not valid JSON: ") + err.what(),
                path + ".__data__");
  }
}


using IdSet = std::unordered_set<std::string>;

std::string part(const JsonDoc& d, std::string_view what) { return d.name() + ":" + std::string(what); }

// Field names differ between the Python and TS dialects.
const Json* field(const Json& v, const char* py, const char* ts) {
  const Json* f = v.find(py);
  return f ? f : v.find(ts);
}

std::vector<std::string> strings_of(const Json* v) {
  std::vector<std::string> out;
  if (v && v->is_array())
    for (const Json& s : v->as_array())
      if (s.is_string()) out.push_back(s.as_string());
  return out;
}

using Triplet = std::array<std::string, 3>;  // subject, relation label, object

// A property graph's triplets (property_graph_store.json "triplets", in file
// order) and, per node id, the triplets naming it as subject or object. An
// entry that is not three strings is left alone (nullopt).
struct GraphTriplets {
  std::vector<std::optional<Triplet>> triplets;
  std::vector<bool> gone;
  std::unordered_map<std::string, std::vector<std::size_t>> touching;

  const std::vector<std::size_t>& touching_node(const std::string& id) const {
    static const std::vector<std::size_t> none;
    auto it = touching.find(id);
    return it == touching.end() ? none : it->second;
  }
};

GraphTriplets read_triplets(const JsonDoc& doc, const Section& section) {
  GraphTriplets g;
  for (const Entry& e : section.entries) {
    Json v = doc.decode(e.raw);
    std::optional<Triplet> t;
    if (v.is_array() && v.as_array().size() == 3 &&
        std::all_of(v.as_array().begin(), v.as_array().end(), [](const Json& x) { return x.is_string(); }))
      t = Triplet{v.as_array()[0].as_string(), v.as_array()[1].as_string(), v.as_array()[2].as_string()};
    if (t) {
      g.touching[(*t)[0]].push_back(g.triplets.size());
      if ((*t)[2] != (*t)[0]) g.touching[(*t)[2]].push_back(g.triplets.size());
    }
    g.triplets.push_back(std::move(t));
  }
  g.gone.assign(g.triplets.size(), false);
  return g;
}

// How a triplet is named in the report: compact JSON, as lstore diff names it.
std::string triplet_text(const Triplet& t) {
  return dump(Json(JsonArray{Json(t[0]), Json(t[1]), Json(t[2])}), {JsonDialect::Compact});
}

// Is `raw` (a value of `doc`) a JSON string among `texts`? Which one. Decided
// on the bytes when they are a quoted run of printable ASCII without escapes,
// which decodes to itself (a 100k-vector store has 100k of them to look at);
// decoded otherwise, so bad bytes are reported as before.
std::optional<std::string_view> raw_string_in(const JsonDoc& doc, std::string_view raw,
                                              const std::unordered_set<std::string_view>& texts) {
  if (plain_ascii_string(raw)) {
    auto it = texts.find(raw.substr(1, raw.size() - 2));
    return it == texts.end() ? std::nullopt : std::optional<std::string_view>(*it);
  }
  Json r = doc.decode(raw);
  if (!r.is_string()) return std::nullopt;
  auto it = texts.find(r.as_string());
  return it == texts.end() ? std::nullopt : std::optional<std::string_view>(*it);
}

// Removes the triplet entries marked gone; the others keep their bytes and order.
void drop_triplets(Section& section, const std::vector<bool>& gone) {
  std::vector<Entry> kept;
  for (std::size_t i = 0; i < section.entries.size(); ++i)
    if (!gone[i]) kept.push_back(section.entries[i]);
  section.entries = std::move(kept);
  section.dirty = true;
  section.touched();
}

class Deleter {
 public:
  explicit Deleter(Store& s) : m_store(s) {}

  // The erased keys leave their collections here, each collection in one
  // pass that also tells which of them were there: erasing (or even finding)
  // k keys one by one in n entries would be O(n k), or an index of n keys.
  ChangeSet take() {
    write_structs();
    for (auto& [section, gone] : m_gone) {
      std::unordered_set<std::string_view> keys(gone.order.begin(), gone.order.end()), found;
      erase_keys(*const_cast<Section*>(section), keys, found);
      for (const std::string& key : gone.order)
        if (found.count(key)) m_changes.removed[gone.part].push_back(key);
    }
    m_gone.clear();
    return std::move(m_changes);
  }

  // Erases `key` (every copy of a duplicated key, as Python's dict has one).
  // Until take(), the entry stays in the collection but find() no longer
  // sees it; take() reports it (in the order of the calls) if it was there.
  void erase(JsonDoc& doc, const char* section, const std::string& key) {
    Section* s = doc.section(section);
    if (!s) return;
    Gone& gone = m_gone[s];
    if (!gone.doc) {
      gone.doc = &doc;
      gone.part = part(doc, section);
    }
    if (gone.keys.insert(key).second) gone.order.push_back(key);
  }

  // The entry of `key`, unless it was erased.
  const Entry* find(const Section* s, const std::string& key) const {
    if (!s) return nullptr;
    auto it = m_gone.find(s);
    if (it != m_gone.end() && it->second.keys.count(key)) return nullptr;
    return s->find(key);
  }

  // The ref doc of a node, from its metadata entry (Python ref_doc_id, TS refDocId).
  std::optional<std::string> ref_of(const std::string& node_id) {
    const Section* md = m_store.doc_collection(coll::kDocMetadata);
    const Entry* e = find(md, node_id);
    if (!e) return std::nullopt;
    Json v = m_store.docstore->decode(e->raw);
    if (const Json* r = field(v, "ref_doc_id", "refDocId"); r && r->is_string()) return r->as_string();
    return std::nullopt;
  }

  // node_ids of a ref_doc_info entry (Python node_ids, TS nodeIds, <= 0.6.33 doc_ids).
  std::optional<std::vector<std::string>> ref_doc_nodes(const std::string& ref) {
    const Section* info = m_store.doc_collection(coll::kRefDocInfo);
    const Entry* e = find(info, ref);
    if (!e) return std::nullopt;
    Json v = m_store.docstore->decode(e->raw);
    const Json* ids = ref_doc_node_ids(v);
    return strings_of(ids);
  }

  // The vector ids of each of `refs`, per namespace, in file order: one
  // pass over each text_id_to_ref_doc_id for all the documents.
  void find_vectors_of_refs(const std::vector<std::string>& refs) {
    std::unordered_set<std::string_view> wanted(refs.begin(), refs.end());
    m_vectors_of_ref.assign(m_store.vector_stores.size(), {});
    for (std::size_t i = 0; i < m_store.vector_stores.size(); ++i) {
      JsonDoc& doc = m_store.vector_stores[i].doc;
      VectorSections s = vector_sections(doc);
      if (!s.ref_doc_ids) continue;
      for (const Entry& e : s.ref_doc_ids->entries)
        if (auto ref = raw_string_in(doc, e.raw, wanted)) m_vectors_of_ref[i][std::string(*ref)].emplace_back(e.key);
    }
  }

  // Vectors of every namespace whose ref doc is `ref` (SimpleVectorStore.delete);
  // find_vectors_of_refs found them.
  void delete_vectors_of_ref(const std::string& ref) {
    for (std::size_t i = 0; i < m_vectors_of_ref.size(); ++i) {
      auto it = m_vectors_of_ref[i].find(ref);
      if (it == m_vectors_of_ref[i].end()) continue;
      for (const auto& id : it->second) delete_vector(m_store.vector_stores[i].doc, id);
    }
  }

  void delete_vector(JsonDoc& doc, const std::string& id) {
    VectorSections s = vector_sections(doc);
    for (const Section* sec : {s.embeddings, s.ref_doc_ids, s.metadata})
      if (sec) erase(doc, sec->name.c_str(), id);
  }

  void delete_vectors_by_id(const IdSet& ids) {
    for (auto& v : m_store.vector_stores) {
      VectorSections s = vector_sections(v.doc);
      if (!s.embeddings) continue;
      std::vector<std::string> hit;
      for (const Entry& e : s.embeddings->entries)
        if (ids.count(std::string(e.key))) hit.emplace_back(e.key);
      for (const auto& id : hit) delete_vector(v.doc, id);
    }
  }

  // Removes node ids from every index struct that references them (§4.2).
  void delete_from_indexes(const IdSet& nodes) {
    if (!m_store.index_store) return;
    JsonDoc& doc = *m_store.index_store;
    Section* idx = doc.section(coll::kIndexData);
    if (!idx) idx = doc.section(coll::kDocData);  // TS
    if (!idx) return;
    // Decoded once for all the documents of a delete, and written back by
    // take(): decoding and re-encoding each struct per document made --where
    // over k documents O(k x the index store), with a copy of it kept per
    // document. Duplicated index ids (each rewrite lands on the first copy)
    // keep the rewrite per document, whose results they depend on.
    if (idx->size() != idx->entries.size()) {
      delete_from_indexes_each(doc, *idx, nodes);
      return;
    }
    if (!m_structs) {
      m_structs.emplace();
      m_struct_section = idx;
      for (const Entry& e : idx->entries) {
        EditedStruct st;
        st.key = std::string(e.key);
        st.env = doc.decode(e.raw);
        Json* data_field = st.env.find("__data__");
        st.form = !data_field ? EditedStruct::kWhole : data_field->is_string() ? EditedStruct::kString : EditedStruct::kObject;
        st.data = !data_field ? st.env
                  : st.form == EditedStruct::kString ? decode_data_string(doc, idx->name + "." + st.key, *data_field)
                                                     : *data_field;
        st.type = data_field ? (st.env.find("__type__") && st.env.find("__type__")->is_string() ? st.env.find("__type__")->as_string() : "")
                             : (st.env.find("type") && st.env.find("type")->is_string() ? st.env.find("type")->as_string() : "");
        m_structs->push_back(std::move(st));
      }
    }
    std::vector<std::string> rewritten;
    for (EditedStruct& st : *m_structs) {
      std::vector<std::string> removed;
      if (!remove_from_struct(st.type, st.data, nodes, removed)) continue;
      st.changed = true;
      auto& list = m_changes.removed[part(doc, st.key)];
      list.insert(list.end(), removed.begin(), removed.end());
      rewritten.push_back(st.key);
    }
    for (const std::string& key : rewritten) m_changes.changed[part(doc, idx->name)].push_back(key);
  }

  // The structs delete_from_indexes changed, put back as each delete wrote them.
  void write_structs() {
    if (!m_structs) return;
    JsonDoc& doc = *m_store.index_store;
    for (EditedStruct& st : *m_structs) {
      if (!st.changed) continue;
      Json env = st.form == EditedStruct::kWhole ? st.data : st.env;
      if (st.form == EditedStruct::kString) *env.find("__data__") = Json(dump(st.data, {JsonDialect::Python}));  // dataclasses-json to_json()
      else if (st.form == EditedStruct::kObject) *env.find("__data__") = st.data;
      doc.put(*m_struct_section, st.key, env);
    }
    m_structs.reset();
  }

  // The same, decoded and written back per call.
  void delete_from_indexes_each(JsonDoc& doc, Section& idx, const IdSet& nodes) {
    std::vector<std::pair<std::string, Json>> rewrites;
    for (const Entry& e : idx.entries) {
      Json env = doc.decode(e.raw);
      Json* data_field = env.find("__data__");
      bool as_string = data_field && data_field->is_string();
      Json data = !data_field ? env : as_string ? decode_data_string(doc, idx.name + "." + std::string(e.key), *data_field) : *data_field;
      std::string type = data_field ? (env.find("__type__") && env.find("__type__")->is_string() ? env.find("__type__")->as_string() : "")
                                    : (env.find("type") && env.find("type")->is_string() ? env.find("type")->as_string() : "");
      std::vector<std::string> removed;
      if (!remove_from_struct(type, data, nodes, removed)) continue;
      if (!data_field) {
        env = std::move(data);
      } else if (as_string) {
        *data_field = Json(dump(data, {JsonDialect::Python}));  // dataclasses-json to_json()
      } else {
        *data_field = std::move(data);
      }
      auto& list = m_changes.removed[part(doc, e.key)];
      list.insert(list.end(), removed.begin(), removed.end());
      rewrites.emplace_back(std::string(e.key), std::move(env));
    }
    for (auto& [key, env] : rewrites) {
      doc.put(idx, key, env);
      m_changes.changed[part(doc, idx.name)].push_back(key);
    }
  }

  // Node deletions inside one struct, as each index class deletes a node.
  static bool remove_from_struct(const std::string& type, Json& data, const IdSet& nodes,
                                 std::vector<std::string>& removed) {
    auto in = [&](const Json& v) { return v.is_string() && nodes.count(v.as_string()) > 0; };
    auto erase_members = [&](Json* obj, bool by_key, bool by_value) {
      if (!obj || !obj->is_object()) return;
      auto& o = obj->as_object();
      for (auto it = o.begin(); it != o.end();) {
        if ((by_key && nodes.count(it->first)) || (by_value && in(it->second))) {
          removed.push_back(it->second.is_string() ? it->second.as_string() : it->first);
          it = o.erase(it);
        } else {
          ++it;
        }
      }
    };
    auto erase_elements = [&](Json* arr) {
      if (!arr || !arr->is_array()) return;
      auto& a = arr->as_array();
      for (auto it = a.begin(); it != a.end();) {
        if (in(*it)) {
          removed.push_back(it->as_string());
          it = a.erase(it);
        } else {
          ++it;
        }
      }
    };
    if (type == "vector_store" || type == "multimodal" || type == "simple_dict" || type == "dict") {
      erase_members(data.find("nodes_dict") ? data.find("nodes_dict") : data.find("nodesDict"), true, true);
    } else if (type == "list") {
      erase_elements(data.find("nodes"));
    } else if (type == "tree") {
      erase_members(data.find("all_nodes"), false, true);
      std::vector<std::string> ignore;
      std::swap(ignore, removed);
      erase_members(data.find("root_nodes"), false, true);
      erase_members(data.find("node_id_to_children_ids"), true, false);
      if (Json* children = data.find("node_id_to_children_ids"); children && children->is_object())
        for (auto& [k, v] : children->as_object()) erase_elements(&v);
      std::swap(ignore, removed);
    } else if (type == "keyword_table" || type == "kg" || type == "simple_kg") {
      // BaseKeywordTableIndex._delete_node: drop the id, then keywords left empty.
      Json* table = data.find("table");
      if (table && table->is_object()) {
        std::set<std::string> seen;
        auto& t = table->as_object();
        for (auto it = t.begin(); it != t.end();) {
          if (it->second.is_array()) {
            auto& a = it->second.as_array();
            for (auto e = a.begin(); e != a.end();) {
              if (in(*e)) {
                if (seen.insert(e->as_string()).second) removed.push_back(e->as_string());
                e = a.erase(e);
              } else {
                ++e;
              }
            }
            if (a.empty() && !removed.empty()) {
              it = t.erase(it);
              continue;
            }
          }
          ++it;
        }
      }
    } else if (type == "document_summary") {
      // IndexDocumentSummary.delete_nodes, then summaries left without nodes.
      Json* by_node = data.find("node_id_to_summary_id");
      erase_members(by_node, true, false);
      Json* by_summary = data.find("summary_id_to_node_ids");
      if (by_summary && by_summary->is_object()) {
        auto& o = by_summary->as_object();
        std::vector<std::string> ignore;
        for (auto& [k, v] : o) {
          std::swap(ignore, removed);
          erase_elements(&v);
          std::swap(ignore, removed);
        }
        std::set<std::string> empty;
        for (auto it = o.begin(); it != o.end();) {
          if (it->second.is_array() && it->second.as_array().empty() && !removed.empty()) {
            empty.insert(it->first);
            it = o.erase(it);
          } else {
            ++it;
          }
        }
        if (Json* by_doc = data.find("doc_id_to_summary_id"); by_doc && by_doc->is_object()) {
          auto& d = by_doc->as_object();
          d.erase(std::remove_if(d.begin(), d.end(),
                                 [&](const auto& kv) { return kv.second.is_string() && empty.count(kv.second.as_string()); }),
                  d.end());
        }
      }
    }
    return !removed.empty();
  }

  // PropertyGraphIndex._delete_node(id), called by delete_nodes and thus by
  // delete_ref_doc for each of the document's node ids (llama-index-core
  // 0.12: indices/property_graph/base.py), is SimplePropertyGraphStore.delete(
  // ids=[id]) (graph_stores/simple_labelled.py): every triplet with `id` as its
  // subject or object goes through LabelledPropertyGraph.delete_triplet
  // (graph_stores/types.py), which also deletes both of its nodes and its
  // relation (key "<subject>_<label>_<object>"); then the node `id` itself.
  // Entities the chunk mentioned and the relations extracted from it (their
  // triplet_source_id) stay, as they do in LlamaIndex. One departure: its
  // get_triplets looks up both nodes of every triplet, so LlamaIndex raises
  // KeyError once a triplet names a node an earlier call removed (the second
  // chunk of a document shares the document's node); here triplets are
  // matched by their ids, and go as delete_triplet would have removed them.
  void delete_from_property_graph(const std::vector<std::string>& ids) {
    if (!m_store.property_graph) return;
    JsonDoc& doc = *m_store.property_graph;
    Section* section = doc.section("triplets");
    if (!section || !section->outlined || !section->is_array) section = nullptr;
    GraphTriplets graph = section ? read_triplets(doc, *section) : GraphTriplets{};
    for (const std::string& id : ids) {
      for (std::size_t i : graph.touching_node(id))
        if (!graph.gone[i]) delete_triplet(doc, graph, i);
      erase(doc, "nodes", id);
    }
    if (std::find(graph.gone.begin(), graph.gone.end(), true) != graph.gone.end()) drop_triplets(*section, graph.gone);
  }

  // LabelledPropertyGraph.delete_triplet: the triplet (every copy of it: the
  // file's list is a set to Python), both of its nodes and its relation.
  void delete_triplet(JsonDoc& doc, GraphTriplets& graph, std::size_t i) {
    const Triplet t = *graph.triplets[i];
    for (std::size_t j : graph.touching_node(t[0]))
      if (graph.triplets[j] == t) graph.gone[j] = true;
    m_changes.removed[part(doc, "triplets")].push_back(triplet_text(t));
    erase(doc, "nodes", t[0]);
    erase(doc, "nodes", t[2]);
    erase(doc, "relations", t[0] + "_" + t[1] + "_" + t[2]);
  }

  // docstore.delete_document(id) (0.12.35): the ref doc loses the node and
  // goes when none is left; then the node's data and metadata.
  void delete_document(const std::string& id) {
    JsonDoc& doc = *m_store.docstore;
    if (auto ref = ref_of(id)) {
      if (auto ids = ref_doc_nodes(*ref)) {
        auto it = std::find(ids->begin(), ids->end(), id);
        if (it != ids->end()) ids->erase(it);  // list.remove: the first occurrence
        if (ids->empty()) {
          erase(doc, coll::kDocMetadata, *ref);
          erase(doc, coll::kDocData, *ref);
          erase(doc, coll::kRefDocInfo, *ref);
        } else {
          Section* info = doc.section(coll::kRefDocInfo);
          Json v = doc.decode(find(info, *ref)->raw);
          const char* name = ref_doc_ids_key(v);
          JsonArray arr;
          for (auto& s : *ids) arr.emplace_back(s);
          v.set(name, Json(std::move(arr)));
          doc.put(*info, *ref, v);
          m_changes.changed[part(doc, coll::kRefDocInfo)].push_back(*ref);
        }
      }
    }
    erase(doc, coll::kDocData, id);
    erase(doc, coll::kDocMetadata, id);
  }

 private:
  struct Gone {
    JsonDoc* doc = nullptr;
    std::string part;                      // its name in the report
    std::unordered_set<std::string> keys;  // erased
    std::vector<std::string> order;        // the same, in the order of the calls
  };
  Store& m_store;
  ChangeSet m_changes;
  std::map<const Section*, Gone> m_gone;
  // An index struct being edited by delete_from_indexes.
  struct EditedStruct {
    enum Form { kWhole, kString, kObject };  // no __data__ (TS), __data__ a JSON string, or an object
    std::string key;
    Json env;   // the entry as read
    Json data;  // its struct, as edited
    Form form = kWhole;
    std::string type;
    bool changed = false;
  };
  std::optional<std::vector<EditedStruct>> m_structs;
  Section* m_struct_section = nullptr;
  // Per vector store: ref doc id -> its vector ids (find_vectors_of_refs).
  std::vector<std::unordered_map<std::string, std::vector<std::string>>> m_vectors_of_ref;
};

void require_docstore(const Store& s) {
  if (!s.docstore) throw Error(ErrorKind::Data, s.location, "the store has no docstore to delete from");
  for (const FileInfo& f : s.files)
    if (f.kind == FileKind::Faiss)
      throw Error(ErrorKind::Data, s.location + "/" + f.name,
                  "is a FAISS binary index; lstore cannot delete vectors from it", "",
                  "delete through LlamaIndex's FaissVectorStore, or rebuild the index");
}

}  // namespace

ChangeSet delete_ref_docs(Store& store, const std::vector<std::string>& ids) {
  require_docstore(store);
  Deleter del(store);
  std::vector<std::vector<std::string>> nodes_of;
  for (const std::string& ref : ids) {  // check every id before changing anything
    auto nodes = del.ref_doc_nodes(ref);
    if (!nodes) throw Error(ErrorKind::NotFound, store.location, fmt::format("no ref doc '{}' in ref_doc_info", ref));
    nodes_of.push_back(*nodes);
  }
  del.find_vectors_of_refs(ids);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const std::string& ref = ids[i];
    IdSet nodes(nodes_of[i].begin(), nodes_of[i].end());
    del.delete_vectors_of_ref(ref);
    del.delete_from_indexes(nodes);
    JsonDoc& doc = *store.docstore;
    std::unordered_set<std::string> done;
    for (const std::string& n : nodes_of[i])
      if (done.insert(n).second) {
        del.erase(doc, coll::kDocData, n);
        del.erase(doc, coll::kDocMetadata, n);
      }
    del.erase(doc, coll::kRefDocInfo, ref);
    del.erase(doc, coll::kDocMetadata, ref);
    del.erase(doc, coll::kDocData, ref);
  }
  // One pass over the graph's triplets for all the documents' nodes, in order.
  std::vector<std::string> all_nodes;
  for (const auto& nodes : nodes_of) all_nodes.insert(all_nodes.end(), nodes.begin(), nodes.end());
  del.delete_from_property_graph(all_nodes);
  return del.take();
}

ChangeSet delete_nodes(Store& store, const std::vector<std::string>& ids) {
  require_docstore(store);
  const Section* data = store.doc_collection(coll::kDocData);
  for (const std::string& id : ids)
    if (!data || !data->find(id))
      throw Error(ErrorKind::NotFound, store.location, fmt::format("no node '{}' in docstore/data", id));
  Deleter del(store);
  IdSet set(ids.begin(), ids.end());
  del.delete_vectors_by_id(set);
  del.delete_from_indexes(set);
  del.delete_from_property_graph(ids);
  for (const std::string& id : ids) del.delete_document(id);
  return del.take();
}

ChangeSet delete_index_references(Store& store, const std::vector<std::string>& ids) {
  Deleter del(store);
  del.delete_from_indexes(IdSet(ids.begin(), ids.end()));
  return del.take();
}

ChangeSet delete_vectors(Store& store, const std::vector<std::string>& ids) {
  Deleter del(store);
  del.delete_vectors_by_id(IdSet(ids.begin(), ids.end()));
  return del.take();
}

}  // namespace lstore
