// Which LlamaIndex wrote a store: markers from FORMAT.md's timeline and
// corpus/wild/INDEX.md ("Era markers"), newest first.
#include <string>

#include "core/sniff.hpp"

namespace lstore {
namespace {

bool contains(std::string_view s, std::string_view needle) { return s.find(needle) != std::string_view::npos; }

}  // namespace

std::string detect_era(const Store& store) {
  if (store.dialect == Dialect::TypeScript) {
    for (const auto& v : store.vector_stores)
      if (v.doc.section("embeddingDict") && !v.doc.section("metadataDict")) return "TS, an early release (no metadataDict)";
    return "TS";
  }
  bool namespaced = false, metadata_dict = false, ref_doc_map = false, doc_id_map = false;
  for (const auto& v : store.vector_stores) {
    if (v.doc.name().find("__") != std::string::npos) namespaced = true;
    if (v.doc.section("metadata_dict")) metadata_dict = true;
    if (v.doc.section("text_id_to_ref_doc_id")) ref_doc_map = true;
    if (v.doc.section("text_id_to_doc_id")) doc_id_map = true;
  }
  bool lpg = store.property_graph.has_value();
  if (const Section* idx = store.index_collection())
    for (const Entry& e : idx->entries)
      if (contains(e.raw.substr(0, 40), "simple_lpg")) lpg = true;

  // The first stored node tells the most: its field set changed with most releases.
  std::string_view node;
  if (const Section* data = store.doc_collection(coll::kDocData); data && !data->entries.empty())
    node = data->entries.front().raw;
  if (!node.empty()) {
    // metadata_separator is the newest marker (0.12, Nov 2024): later releases
    // write the same fields, so the evidence says "0.12 or later".
    if (contains(node, "\"metadata_separator\"")) return "0.12+";
    if (contains(node, "\"mimetype\"")) return "0.10.48-0.11.x";
    if (lpg) return "0.10.40-0.10.47";
    if (contains(node, "\"class_name\"")) return namespaced ? "0.9.x-0.10.x" : "0.8.x-0.9.x";
    if (contains(node, "\"id_\"")) {
      if (namespaced) return "0.9.x";
      return metadata_dict ? "0.8.29-0.8.x" : "0.6.34-0.8.28";
    }
    if (contains(node, "\"extra_info\"")) return doc_id_map ? "0.6.0-0.6.17" : "0.6.18-0.6.33";
  }
  if (lpg) return "0.10.40+";
  if (namespaced) return "0.9.0+";
  if (metadata_dict) return "0.8.29+";
  if (ref_doc_map) return "0.6.18+";
  if (doc_id_map) return "0.6.0-0.6.17";
  return "unknown";
}

}  // namespace lstore
