// put for LlamaIndex.TS stores (FORMAT.md §9): camelCase nodes stored as JSON
// strings, base64 hashes, nodesDict holding whole nodes, no ref-doc entries
// for nodes without a SOURCE.
#include <fmt/format.h>

#include <map>

#include "lstore/edit.hpp"
#include "lstore/error.hpp"
#include "core/hash.hpp"
#include "lstore/model.hpp"
#include "put_internal.hpp"

namespace lstore {
namespace {

// The field order of the store's TEXT nodes (or TS 0.12's).
std::vector<std::string> ts_fields(const Store& s) {
  if (const Section* data = s.doc_collection(coll::kDocData))
    for (const Entry& e : data->entries) {
      Json env = s.docstore->decode(e.raw);
      const Json* t = env.find("__type__");
      const Json* d = env.find("__data__");
      if (t && t->is_string() && t->as_string() == "TEXT" && d && d->is_string()) {
        Json node = parse(d->as_string());
        std::vector<std::string> keys;
        for (const auto& [k, v] : node.as_object()) keys.push_back(k);
        return keys;
      }
    }
  return {"id_", "metadata", "excludedEmbedMetadataKeys", "excludedLlmMetadataKeys", "relationships", "text",
          "textTemplate", "metadataSeparator", "type", "hash"};
}

// TS omits falsy offsets from the node and hashes them as "undefined".
const Json* falsy_to_null(const Json* v) { return v && v->is_number() && v->as_number() != 0 ? v : nullptr; }

std::string str_of(const Json* v, std::string fallback = {}) { return v && v->is_string() ? v->as_string() : fallback; }

}  // namespace

ChangeSet put_records_ts(Store& store, const std::vector<Json>& records, const PutOptions& options) {
  std::vector<std::string> fields = ts_fields(store);
  struct TsNode {
    std::string id;
    Json node;  // camelCase, hash set
    Json embedding;
    std::optional<std::string> ref;
  };
  std::map<std::string, Json> doc_md;  // {"document"} records: metadata by id
  std::vector<std::pair<std::string, std::string>> doc_hashes;
  for (std::size_t i = 0; i < records.size(); ++i)
    if (const Json* d = records[i].find("document")) {
      std::string id = str_of(d->find("id"));
      if (id.empty()) put_detail::bad_record(i, "a document needs an \"id\" string");
      Json md = d->find("metadata") && d->find("metadata")->is_object() ? *d->find("metadata") : Json(JsonObject{});
      doc_md[id] = md;
      doc_hashes.emplace_back(id, ts_node_hash("DOCUMENT", str_of(d->find("text")), md, "\n", nullptr, nullptr));
    }
  std::vector<TsNode> nodes;
  for (std::size_t i = 0; i < records.size(); ++i) {
    const Json& r = records[i];
    if (!r.is_object()) put_detail::bad_record(i, "a record must be a JSON object");
    if (r.find("document")) continue;
    TsNode n;
    if (const Json* d = r.find("__data__")) {  // a TS node as stored (string or object)
      try {
        n.node = d->is_string() ? parse(d->as_string()) : *d;
      } catch (const ParseError& e) {
        put_detail::bad_record(i, std::string("__data__ is not JSON: ") + e.what());
      }
      if (!n.node.is_object()) put_detail::bad_record(i, "__data__ must be an object");
      n.id = str_of(n.node.find("id_"));
    } else {
      n.id = str_of(r.find("id"));
      JsonObject node;
      const Json* md = r.find("metadata");
      if (md && !md->is_object()) put_detail::bad_record(i, "\"metadata\" must be an object");
      Json rels = JsonObject{};
      if (const Json* ref = r.find("ref_doc_id"); ref && ref->is_string()) {
        auto doc = doc_md.find(ref->as_string());
        std::string doc_hash;
        for (const auto& [id, h] : doc_hashes)
          if (id == ref->as_string()) doc_hash = h;
        rels.set("SOURCE", JsonObject{{"nodeId", ref->as_string()},
                                      {"metadata", doc != doc_md.end() ? doc->second : (md ? *md : Json(JsonObject{}))},
                                      {"hash", doc_hash}});
      }
      for (const std::string& k : fields) {
        if (k == "id_") node.emplace_back(k, n.id);
        else if (k == "metadata") node.emplace_back(k, md ? *md : Json(JsonObject{}));
        else if (k == "relationships") node.emplace_back(k, rels);
        else if (k == "text") node.emplace_back(k, r.find("text") ? *r.find("text") : Json(""));
        else if (k == "excludedEmbedMetadataKeys" || k == "excludedLlmMetadataKeys") node.emplace_back(k, JsonArray{});
        else if (k == "textTemplate") node.emplace_back(k, "");
        else if (k == "metadataSeparator") node.emplace_back(k, "\n");
        else if (k == "type") node.emplace_back(k, "TEXT");
        else if (k == "hash") node.emplace_back(k, "");
      }
      n.node = Json(std::move(node));
    }
    if (n.id.empty()) put_detail::bad_record(i, "a node needs an id");
    if (const Json* e = r.find("embedding")) n.embedding = *e;
    if (n.embedding.is_null() || !n.embedding.is_array() || n.embedding.as_array().empty())
      put_detail::bad_record(i, "node '" + n.id + "' has no embedding (a list of numbers); the vector index needs one");
    for (const Json& x : n.embedding.as_array())
      if (!x.is_number()) put_detail::bad_record(i, "\"embedding\" must be a list of numbers");
    if (const Json* rels = n.node.find("relationships"); rels && rels->is_object())
      if (const Json* src = rels->find("SOURCE"); src && src->find("nodeId") && src->find("nodeId")->is_string())
        n.ref = src->find("nodeId")->as_string();
    const Json* md = n.node.find("metadata");
    n.node.set("hash", ts_node_hash(str_of(n.node.find("type"), "TEXT"), str_of(n.node.find("text")),
                                    md ? *md : Json(JsonObject{}), str_of(n.node.find("metadataSeparator"), "\n"),
                                    falsy_to_null(n.node.find("startCharIdx")), falsy_to_null(n.node.find("endCharIdx"))));
    nodes.push_back(std::move(n));
  }
  // The target index (TS: a simple_dict whose nodesDict holds whole nodes).
  JsonDoc& idoc = *store.index_store;
  Section* isec = idoc.section(coll::kDocData);
  const Entry* target = nullptr;
  if (isec)
    for (const Entry& e : isec->entries) {
      IndexStruct s = decode_index_struct(idoc, e);
      if (options.index_id.empty() ? s.type == "simple_dict" : s.id == options.index_id) {
        if (target && options.index_id.empty())
          throw Error(ErrorKind::Usage, store.location, "the store has several vector indexes", "", "choose one with --index ID");
        target = &e;
      }
    }
  if (!nodes.empty() && !target) throw Error(ErrorKind::Usage, store.location, "the store has no vector index to put nodes into");
  VectorStoreDoc* vs = nullptr;
  for (auto& v : store.vector_stores)
    if (v.ns == options.ns) vs = &v;
  if (!nodes.empty() && !vs) throw Error(ErrorKind::Data, store.location, "no vector namespace '" + options.ns + "'");

  ChangeSet changes;
  if (vs) {
    JsonDoc& v = vs->doc;
    auto sec = [&](const char* n) -> Section& { Section* s = v.section(n); return s ? *s : v.add_section(n, true); };
    for (const TsNode& n : nodes) {
      v.put(sec("embeddingDict"), n.id, n.embedding);
      if (n.ref) {  // nodes without a SOURCE get only an embedding (§9)
        v.put(sec("textIdToRefDocId"), n.id, Json(*n.ref));
        if (v.section("metadataDict")) {
          Json md = n.node.find("metadata") ? *n.node.find("metadata") : Json(JsonObject{});
          md.set("_node_type", "TextNode");
          md.set("document_id", *n.ref);
          md.set("doc_id", *n.ref);
          md.set("ref_doc_id", *n.ref);
          v.put(sec("metadataDict"), n.id, md);
        }
      }
      changes.added[v.name() + ":embeddingDict"].push_back(n.id);
    }
  }
  if (target && !nodes.empty()) {
    std::string key(target->key);
    Json entry = idoc.decode(target->raw);
    Json* nd = entry.find("nodesDict");
    if (!nd) {
      entry.set("nodesDict", JsonObject{});
      nd = entry.find("nodesDict");
    }
    for (const TsNode& n : nodes) nd->set(n.id, n.node);
    idoc.put(*isec, key, entry);
    changes.changed[idoc.name() + ":" + coll::kDocData].push_back(key);
  }
  JsonDoc& ddoc = *store.docstore;
  auto dsec = [&](const char* n) -> Section& { Section* s = ddoc.section(n); return s ? *s : ddoc.add_section(n, true); };
  for (const TsNode& n : nodes) {
    ddoc.put(dsec(coll::kDocData), n.id, JsonObject{{"__data__", dump(n.node, {JsonDialect::JavaScript})}, {"__type__", "TEXT"}});
    JsonObject md{{"docHash", *n.node.find("hash")}};
    if (n.ref) md.emplace_back("refDocId", *n.ref);
    ddoc.put(dsec(coll::kDocMetadata), n.id, Json(std::move(md)));
    changes.added[ddoc.name() + ":" + coll::kDocData].push_back(n.id);
    if (!n.ref) continue;
    Section& info = dsec(coll::kRefDocInfo);
    const Entry* e = info.find(*n.ref);
    Json v = e ? ddoc.decode(e->raw) : Json(JsonObject{{"nodeIds", JsonArray{}}, {"extraInfo", JsonObject{}}});
    Json* ids = v.find("nodeIds");
    bool present = false;
    for (const Json& x : ids->as_array()) present |= x.is_string() && x.as_string() == n.id;
    if (!present) ids->as_array().emplace_back(n.id);
    ddoc.put(info, *n.ref, v);
    changes.changed[ddoc.name() + ":" + coll::kRefDocInfo].push_back(*n.ref);
  }
  for (const auto& [id, h] : doc_hashes) {
    ddoc.put(dsec(coll::kDocMetadata), id, JsonObject{{"docHash", h}});
    changes.changed[ddoc.name() + ":" + coll::kDocMetadata].push_back(id);
  }
  return changes;
}

}  // namespace lstore
