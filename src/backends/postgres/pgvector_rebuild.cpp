// The docstore and index store of a table PGVectorStore wrote alone, rebuilt
// from its rows (see pgvector.hpp): what LlamaIndex 0.12's
// VectorStoreIndex(nodes, storage_context) over a SimpleVectorStore persists
// (_add_nodes_to_index: docstore.add_documents([node]) and
// index_struct.add_node(node, text_id=node.id) for each node, in order).
#include <stdexcept>
#include <unordered_set>

#include "core/hash.hpp"
#include "pgvector.hpp"

namespace lstore {

namespace {

// ObjectType codes (FORMAT.md §3.2) by class_name.
const char* type_code(const std::string& cls) {
  if (cls == "TextNode") return "1";
  if (cls == "ImageNode") return "2";
  if (cls == "IndexNode") return "3";
  if (cls == "Document" || cls == "ImageDocument") return "4";
  return nullptr;
}

std::string string_or(const Json* v, const char* none) {
  return v && v->is_string() && !v->as_string().empty() ? v->as_string() : none;
}

// node.hash as 0.12.35 computes it for each class (FORMAT.md §3.5).
std::string node_hash(const std::string& cls, const Json& node, const std::string& text, const Json& metadata) {
  if (cls == "ImageNode")  // 0.11.10+: image, path, url and text, not the metadata
    return sha256_hex(string_or(node.find("image"), "None") + "-" + string_or(node.find("image_path"), "None") + "-" +
                      string_or(node.find("image_url"), "None") + "-" + (text.empty() ? "None" : text));
  if (cls == "Document" || cls == "ImageDocument") {
    const Json* sep = node.find("metadata_separator");
    return document_hash_0_12_28(text, metadata, sep && sep->is_string() ? sep->as_string() : "\n");
  }
  return text_node_hash(text, metadata);
}

}  // namespace

RebuiltNode rebuild_node(std::string_view node_id, std::string_view text, std::string_view metadata_text) {
  Json meta;
  try {
    meta = parse(metadata_text);
  } catch (const std::exception&) {
    throw std::runtime_error("metadata_ is not JSON");
  }
  const Json* content = meta.is_object() ? meta.find("_node_content") : nullptr;
  if (!content || !content->is_string())
    throw std::runtime_error("metadata_ has no _node_content (the node PGVectorStore serialises): the node cannot be rebuilt");
  Json node;
  try {
    node = parse(content->as_string());
  } catch (const std::exception&) {
    throw std::runtime_error("metadata_._node_content is not JSON");
  }
  if (!node.is_object()) throw std::runtime_error("metadata_._node_content is not a node object");
  const Json* cls_v = node.find("class_name");
  const std::string cls = cls_v && cls_v->is_string() ? cls_v->as_string() : "TextNode";
  const char* code = type_code(cls);
  if (!code)
    throw std::runtime_error("a " + cls + " node: LlamaIndex 0.12's docstore cannot load its type back");
  // metadata_dict_to_node, then node.set_content(text): the text column is
  // the text (PGVectorStore stored "" in _node_content); a Document keeps it
  // in text_resource too.
  const std::string body(text);
  if (node.find("text")) node.set("text", Json(body));
  if (Json* res = node.find("text_resource"); res && res->is_object()) res->set("text", Json(body));
  // The docstore stores nodes without their embedding (the index strips it).
  if (node.find("embedding")) node.set("embedding", Json(nullptr));
  const Json* id = node.find("id_");
  if (!id || !id->is_string() || id->as_string() != node_id)
    throw std::runtime_error("node_id differs from the id_ of metadata_._node_content");

  RebuiltNode out;
  out.id = std::string(node_id);
  const Json* m = node.find("metadata");
  out.metadata = m && m->is_object() ? *m : Json(JsonObject{});
  Json record(JsonObject{});
  record.set("doc_hash", Json(node_hash(cls, node, body, out.metadata)));
  // add_documents records a ref doc for TextNode and its subclasses with a
  // SOURCE (FORMAT.md §3.6).
  if (const Json* rel = node.find("relationships"); rel && rel->is_object())
    if (const Json* src = rel->find("1"); src && src->is_object())
      if (const Json* ref = src->find("node_id"); ref && ref->is_string()) out.ref_doc_id = ref->as_string();
  if (out.ref_doc_id) record.set("ref_doc_id", Json(*out.ref_doc_id));
  out.metadata_record = dump(record);
  Json envelope(JsonObject{});
  envelope.set("__data__", std::move(node));
  envelope.set("__type__", Json(code));
  out.envelope = dump(envelope);
  return out;
}

void RefDocInfoBuilder::add(const RebuiltNode& n) {
  if (!n.ref_doc_id) return;
  auto [it, fresh] = m_info.try_emplace(*n.ref_doc_id);
  if (fresh) m_order.push_back(*n.ref_doc_id);
  Info& info = it->second;
  if (!info.seen.insert(n.id).second) return;  // de-duplicated since 0.11.21
  info.node_ids.push_back(n.id);
  if (info.metadata.as_object().empty()) info.metadata = n.metadata;
}

std::vector<std::pair<std::string, std::string>> RefDocInfoBuilder::entries() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const std::string& ref : m_order) {
    const Info& info = m_info.at(ref);
    JsonArray ids;
    for (const std::string& id : info.node_ids) ids.emplace_back(id);
    Json v(JsonObject{});
    v.set("node_ids", Json(std::move(ids)));
    v.set("metadata", info.metadata);
    out.emplace_back(ref, dump(v));
  }
  return out;
}

std::string rebuilt_index_struct(std::string_view index_id, const std::vector<std::string>& node_ids,
                                 std::string_view type) {
  // nodes_dict is a dict: a repeated id is one entry. Built directly, not by
  // Json::set, which looks each key up (quadratic at 100k nodes).
  JsonObject nodes;
  std::unordered_set<std::string_view> seen;
  for (const std::string& id : node_ids)
    if (seen.insert(id).second) nodes.emplace_back(id, Json(id));
  Json data(JsonObject{});
  data.set("index_id", Json(std::string(index_id)));
  data.set("summary", Json(nullptr));
  data.set("nodes_dict", Json(std::move(nodes)));
  data.set("doc_id_dict", Json(JsonObject{}));
  data.set("embeddings_dict", Json(JsonObject{}));
  Json envelope(JsonObject{});
  envelope.set("__type__", Json(std::string(type)));
  envelope.set("__data__", Json(dump(data)));  // dataclasses-json to_json(): a string (FORMAT.md §4)
  return dump(envelope);
}

std::string rebuilt_index_id(std::string_view qualified_table) {
  std::string h = sha256_hex("lstore rebuilt index of PGVectorStore table " + std::string(qualified_table));
  // The layout and version bits of a name-based (v5-style) UUID.
  h[12] = '5';
  h[16] = "89ab"[std::stoi(h.substr(16, 1), nullptr, 16) & 3];
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) + "-" + h.substr(20, 12);
}

}  // namespace lstore
