// Adding nodes as LlamaIndex's index.insert_nodes() writes them (FORMAT.md
// §3.3-§3.6, §4.2, §5.1-§5.2), and raw KV entries.
#include <cmath>
#include <fmt/format.h>

#include <map>

#include "lstore/edit.hpp"
#include "lstore/error.hpp"
#include "lstore/side_files.hpp"
#include "core/hash.hpp"
#include "lstore/model.hpp"
#include "put_internal.hpp"

namespace lstore {

void put_detail::bad_record(std::size_t i, const std::string& what) {
  throw Error(ErrorKind::Data, "input", what, fmt::format("record {}", i + 1));
}

namespace {

// Writes one entry and says so in the report, part by part: "added" for a
// new key, "changed" for a replaced entry, nothing when its bytes stay.
void put_reported(ChangeSet& changes, JsonDoc& doc, Section& sec, std::string_view key, const Json& value) {
  const Entry* before = sec.find(key);
  const std::string old = before ? std::string(before->raw) : std::string();
  doc.put(sec, key, value);
  const Entry* after = sec.find(key);
  if (before && after && after->raw == old) return;
  (before ? changes.changed : changes.added)[doc.name() + ":" + sec.name].push_back(std::string(key));
}

struct DocumentInput {
  std::string id, text;
  Json metadata = JsonObject{};
};

struct NodeInput {
  std::string id;
  std::string type_code = "1";
  Json data;  // the __data__ object as it will be stored
  Json embedding;
  std::optional<std::string> ref;
  std::string text;
  Json metadata = JsonObject{};
};

// Whether nodes go in as LlamaIndex 0.12 writes them (the 0.12.28 Document
// hash, JSON-mode vector metadata). A store dated to an older release keeps
// its era. One detect_era cannot date (no node to tell: the open-ended
// "0.9.0+" and "0.10.40+", or "unknown"; an empty store written by 0.10 and
// by 0.12 is the same bytes) is written as the newest LlamaIndex writes it,
// as query already reads such a store with the current filter code.
bool writes_as_0_12(const Store& s) {
  if (s.era.rfind("0.12", 0) == 0) return true;
  for (const char* undated : {"0.9.0+", "0.10.40+", "unknown", ""})
    if (s.era == undated) return true;
  return false;
}

// The field order of a new TextNode: that of the store's first node when it
// has one (so the store stays in its era's format), else 0.12.35's.
std::vector<std::string> text_node_fields(const Store& s) {
  if (const Section* data = s.doc_collection(coll::kDocData))
    for (const Entry& e : data->entries) {
      Json env = s.docstore->decode(e.raw);
      const Json* d = env.find("__data__");
      const Json* t = env.find("__type__");
      if (d && d->is_object() && t && t->is_string() && t->as_string() == "1") {
        std::vector<std::string> keys;
        for (const auto& [k, v] : d->as_object()) keys.push_back(k);
        return keys;
      }
    }
  return {"id_", "embedding", "metadata", "excluded_embed_metadata_keys", "excluded_llm_metadata_keys",
          "relationships", "metadata_template", "metadata_separator", "text", "mimetype", "start_char_idx",
          "end_char_idx", "metadata_seperator", "text_template", "class_name"};
}

Json default_field(const std::string& k) {
  if (k == "excluded_embed_metadata_keys" || k == "excluded_llm_metadata_keys") return JsonArray{};
  if (k == "metadata_template") return Json("{key}: {value}");
  if (k == "metadata_separator" || k == "metadata_seperator") return Json("\n");
  if (k == "mimetype") return Json("text/plain");
  if (k == "text_template") return Json("{metadata_str}\n\n{content}");
  if (k == "class_name") return Json("TextNode");
  return Json();
}

using put_detail::bad_record;

NodeInput read_node(const Store& store, const Json& r, std::size_t i, const std::vector<std::string>& fields,
                    const std::map<std::string, DocumentInput>& docs) {
  NodeInput n;
  if (const Json* d = r.find("__data__")) {  // a node as stored
    if (!d->is_object()) bad_record(i, "__data__ must be an object");
    n.data = *d;
    if (const Json* t = r.find("__type__"); t && t->is_string()) n.type_code = t->as_string();
    const Json* id = n.data.find("id_");
    if (!id || !id->is_string()) bad_record(i, "the node has no id_");
    n.id = id->as_string();
    if (const Json* e = n.data.find("embedding"); e && !e->is_null()) n.embedding = *e;
    if (const Json* e = r.find("embedding"); e && !e->is_null()) n.embedding = *e;
    n.data.set("embedding", Json());  // indexes store nodes without their embedding
  } else {  // {"id", "text", "metadata", "ref_doc_id", "embedding"}
    const Json* id = r.find("id");
    if (!id || !id->is_string()) bad_record(i, "a node needs an \"id\" string (or a stored node's __data__)");
    n.id = id->as_string();
    const Json* text = r.find("text");
    const Json* md = r.find("metadata");
    if (md && !md->is_object()) bad_record(i, "\"metadata\" must be an object");
    Json rels = JsonObject{};
    if (const Json* ref = r.find("ref_doc_id"); ref && ref->is_string()) {
      auto doc = docs.find(ref->as_string());
      Json doc_md = doc != docs.end() ? doc->second.metadata : (md ? *md : Json(JsonObject{}));
      Json doc_hash = doc == docs.end() ? Json()
                      : writes_as_0_12(store) ? Json(document_hash_0_12_28(doc->second.text, doc->second.metadata))
                                                 : Json(text_node_hash(doc->second.text, doc->second.metadata));
      rels.set("1", JsonObject{{"node_id", ref->as_string()}, {"node_type", "4"}, {"metadata", doc_md},
                               {"hash", doc_hash}, {"class_name", "RelatedNodeInfo"}});
    }
    JsonObject data;
    for (const std::string& k : fields) {
      if (k == "id_") data.emplace_back(k, n.id);
      else if (k == "metadata") data.emplace_back(k, md ? *md : Json(JsonObject{}));
      else if (k == "relationships") data.emplace_back(k, rels);
      else if (k == "text") data.emplace_back(k, text && text->is_string() ? *text : Json(""));
      else if (const Json* v = r.find(k); v && k != "embedding") data.emplace_back(k, *v);
      else data.emplace_back(k, default_field(k));
    }
    n.data = Json(std::move(data));
    if (const Json* e = r.find("embedding")) n.embedding = *e;
  }
  if (const Json* t = n.data.find("text"); t && t->is_string()) n.text = t->as_string();
  if (const Json* m = n.data.find("metadata"); m && m->is_object()) n.metadata = *m;
  if (const Json* rels = n.data.find("relationships"); rels && rels->is_object())
    if (const Json* src = rels->find("1"); src && src->find("node_id") && src->find("node_id")->is_string())
      n.ref = src->find("node_id")->as_string();
  if (!n.embedding.is_null()) {
    if (!n.embedding.is_array() || n.embedding.as_array().empty()) bad_record(i, "\"embedding\" must be a list of numbers");
    for (Json& x : n.embedding.as_array()) {
      if (!x.is_number()) bad_record(i, "\"embedding\" must be a list of numbers");
      // NaN, Infinity or 1e400 (read as infinity) would make every query fail.
      if (!std::isfinite(x.as_number())) bad_record(i, "\"embedding\" holds NaN or an infinity");
      if (!x.is_float()) x = Json(x.as_number());  // pydantic turns 2 into 2.0
    }
  }
  return n;
}

// The metadata_dict entry SimpleVectorStore.add writes: the node's metadata
// (0.12: a JSON-mode dump, so NaN becomes null) and four keys of its own,
// overwritten in place when the metadata already has them.
Json vector_metadata(const NodeInput& n, const std::string& class_name, bool json_mode) {
  Json md = n.metadata;
  if (json_mode) {
    std::function<void(Json&)> clean = [&](Json& v) {
      if (v.is_float() && !std::isfinite(v.as_float())) v = Json();
      else if (v.is_array()) for (Json& e : v.as_array()) clean(e);
      else if (v.is_object()) for (auto& [k, e] : v.as_object()) clean(e);
    };
    clean(md);
  }
  std::string ref = n.ref.value_or("None");
  md.set("_node_type", class_name);
  md.set("document_id", ref);
  md.set("doc_id", ref);
  md.set("ref_doc_id", ref);
  return md;
}

}  // namespace

ChangeSet put_records(Store& store, const std::vector<Json>& records, const PutOptions& options) {
  if (!store.docstore) throw Error(ErrorKind::Data, store.location, "the store has no docstore to put nodes into");
  if (store.dialect == Dialect::TypeScript) return put_records_ts(store, records, options);
  // Documents first: node relationships built from plain records use them.
  std::map<std::string, DocumentInput> docs;
  std::vector<std::string> doc_order;
  for (std::size_t i = 0; i < records.size(); ++i) {
    const Json* d = records[i].find("document");
    if (!d) continue;
    const Json* id = d->find("id");
    if (!id || !id->is_string()) bad_record(i, "a document needs an \"id\" string");
    DocumentInput doc{id->as_string(), "", JsonObject{}};
    if (const Json* t = d->find("text"); t && t->is_string()) doc.text = t->as_string();
    if (const Json* m = d->find("metadata"); m && m->is_object()) doc.metadata = *m;
    if (!docs.count(doc.id)) doc_order.push_back(doc.id);
    docs[doc.id] = doc;
  }
  std::vector<std::string> fields = text_node_fields(store);
  std::vector<NodeInput> nodes;
  std::vector<std::size_t> record_of;  // input record number of each node, for messages
  for (std::size_t i = 0; i < records.size(); ++i) {
    if (!records[i].is_object()) bad_record(i, "a record must be a JSON object");
    if (records[i].find("document")) continue;
    nodes.push_back(read_node(store, records[i], i, fields, docs));
    record_of.push_back(i);
  }
  // The target index and vector namespace.
  std::vector<IndexStruct> indexes = read_index_structs(store);
  const IndexStruct* target = nullptr;
  for (const IndexStruct& s : indexes) {
    bool vector = s.type == "vector_store" || s.type == "multimodal";
    if (options.index_id.empty() ? vector : s.id == options.index_id) {
      if (target && options.index_id.empty())
        throw Error(ErrorKind::Usage, store.location, "the store has several vector indexes", "", "choose one with --index ID");
      target = &s;
    }
  }
  if (!nodes.empty() && !target)
    throw Error(ErrorKind::Usage, store.location,
                options.index_id.empty() ? "the store has no vector index to put nodes into" : "no index '" + options.index_id + "'");
  VectorStoreDoc* vs = nullptr;
  for (auto& v : store.vector_stores)
    if (v.ns == options.ns) vs = &v;
  if (!nodes.empty() && !vs) throw Error(ErrorKind::Data, store.location, "no vector namespace '" + options.ns + "'");
  // One dimension per vector store: SimpleVectorStore's query stacks the
  // vectors with numpy, which raises on ragged ones.
  std::optional<std::size_t> dim = vs ? vector_store_info(*vs).dim : std::nullopt;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i].embedding.is_null())
      bad_record(record_of[i], "node '" + nodes[i].id + "' has no embedding; the vector index needs one");
    std::size_t n = nodes[i].embedding.as_array().size();
    if (dim && *dim != n)
      bad_record(record_of[i], "node '" + nodes[i].id + "' has an embedding of " + std::to_string(n) +
                                   " numbers; the vector store '" + options.ns + "' holds vectors of " + std::to_string(*dim));
    if (!dim) dim = n;
  }

  ChangeSet changes;
  const bool json_mode = writes_as_0_12(store);
  // 1. The vector store (SimpleVectorStore.add).
  if (vs) {
    JsonDoc& vdoc = vs->doc;
    auto section = [&](const char* name) -> Section& {
      Section* s = vdoc.section(name);
      return s ? *s : vdoc.add_section(name, true);
    };
    for (const NodeInput& n : nodes) {
      std::string cls = class_for_type_code(n.type_code);
      if (const Json* c = n.data.find("class_name"); c && c->is_string()) cls = c->as_string();
      put_reported(changes, vdoc, section("embedding_dict"), n.id, n.embedding);
      put_reported(changes, vdoc, section("text_id_to_ref_doc_id"), n.id, Json(n.ref.value_or("None")));
      if (vdoc.section("metadata_dict") || !vdoc.section("text_id_to_doc_id"))
        put_reported(changes, vdoc, section("metadata_dict"), n.id, vector_metadata(n, cls, json_mode));
    }
  }
  // 2. The index struct (IndexDict.add_node: nodes_dict[vector id] = node id).
  if (target && !nodes.empty()) {
    JsonDoc& idoc = *store.index_store;
    Section* coll_sec = idoc.section(coll::kIndexData);
    const Entry* e = coll_sec->find(target->id);
    Json env = idoc.decode(e->raw);
    Json data = target->data;
    Json* nd = data.find("nodes_dict");
    if (!nd) {
      data.set("nodes_dict", JsonObject{});
      nd = data.find("nodes_dict");
    }
    for (const NodeInput& n : nodes) nd->set(n.id, Json(n.id));
    Json* field = env.find("__data__");
    *field = field->is_string() ? Json(dump(data, {JsonDialect::Python})) : data;
    put_reported(changes, idoc, *coll_sec, target->id, env);
  }
  // 3. The docstore (add_documents: data, then metadata, then ref_doc_info).
  JsonDoc& ddoc = *store.docstore;
  auto dsec = [&](const char* name) -> Section& {
    Section* s = ddoc.section(name);
    return s ? *s : ddoc.add_section(name, true);
  };
  for (const NodeInput& n : nodes) {
    put_reported(changes, ddoc, dsec(coll::kDocData), n.id, JsonObject{{"__data__", n.data}, {"__type__", n.type_code}});
  }
  std::vector<std::string> refs;
  std::map<std::string, Json> ref_infos;
  for (const NodeInput& n : nodes) {
    JsonObject md{{"doc_hash", text_node_hash(n.text, n.metadata)}};
    if (n.ref) md.emplace_back("ref_doc_id", *n.ref);
    put_reported(changes, ddoc, dsec(coll::kDocMetadata), n.id, Json(std::move(md)));
    if (!n.ref) continue;
    auto it = ref_infos.find(*n.ref);
    if (it == ref_infos.end()) {
      const Section* info = ddoc.section(coll::kRefDocInfo);
      const Entry* e = info ? info->find(*n.ref) : nullptr;
      Json v = e ? ddoc.decode(e->raw) : Json(JsonObject{{"node_ids", JsonArray{}}, {"metadata", JsonObject{}}});
      it = ref_infos.emplace(*n.ref, std::move(v)).first;
      refs.push_back(*n.ref);
    }
    Json& info = it->second;
    Json* ids = info.find("node_ids");
    bool present = false;
    for (const Json& x : ids->as_array()) present |= x.is_string() && x.as_string() == n.id;
    if (!present) ids->as_array().emplace_back(n.id);
    Json* meta = info.find("metadata");
    if (meta && meta->is_object() && meta->as_object().empty()) *meta = n.metadata;
  }
  for (const std::string& r : refs) put_reported(changes, ddoc, dsec(coll::kRefDocInfo), r, ref_infos[r]);
  // 4. Documents' hashes (set_document_hash, after the nodes, as insert() does).
  for (const std::string& id : doc_order) {
    const DocumentInput& d = docs[id];
    std::string h = json_mode ? document_hash_0_12_28(d.text, d.metadata) : text_node_hash(d.text, d.metadata);
    put_reported(changes, ddoc, dsec(coll::kDocMetadata), id, JsonObject{{"doc_hash", h}});
  }
  return changes;
}

ChangeSet put_raw(Store& store, const std::string& collection, const std::string& key, const Json& value) {
  if (!value.is_object())
    throw Error(ErrorKind::Usage, "--value", "KV values are JSON objects (SimpleKVStore stores dicts)");
  JsonDoc* doc = nullptr;
  if (collection.rfind("index_store/", 0) == 0) doc = store.index_store ? &*store.index_store : nullptr;
  else doc = store.docstore ? &*store.docstore : nullptr;
  // A standalone KV file (side_files.hpp) that has the collection, or the
  // only KV file of a store without a docstore.
  std::vector<FileInfo*> kv = side_files(store, FileKind::KvStore);
  for (FileInfo* f : kv)
    for (const auto& [c, n] : kv_file_collections(*f))
      if (c == collection && (!doc || !doc->section(collection))) {
        ChangeSet c2;
        (kv_file_put(*f, collection, key, value) ? c2.changed : c2.added)[f->name + ":" + collection].push_back(key);
        return c2;
      }
  if (!doc && kv.size() == 1) {
    ChangeSet c2;
    (kv_file_put(*kv[0], collection, key, value) ? c2.changed : c2.added)[kv[0]->name + ":" + collection].push_back(key);
    return c2;
  }
  if (!doc) throw Error(ErrorKind::Data, store.location, "no KV file for collection '" + collection + "'");
  Section* s = doc->section(collection);
  bool existed = s && s->find(key);
  if (!s) s = &doc->add_section(collection, true);
  doc->put(*s, key, value);
  ChangeSet c;
  (existed ? c.changed : c.added)[doc->name() + ":" + collection].push_back(key);
  return c;
}

}  // namespace lstore
