// Decoded views of the records a store holds: nodes, index structs, vector
// stores and graphs, across eras and dialects (FORMAT.md §3-§6, §9).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "lstore/json.hpp"
#include "lstore/store.hpp"

namespace lstore {

// A docstore node or document, whatever era or dialect wrote it.
struct Node {
  std::string id;
  std::string type_code;   // "1".."5", or the TS word, or "Document" (0.6)
  std::string class_name;  // TextNode, Document, ImageNode, ... (derived from the code if absent)
  std::string text;
  Json metadata;           // object
  std::optional<std::string> ref_doc_id;  // SOURCE relationship target
  std::optional<std::string> hash;
  Json data;               // the whole decoded __data__ object
};

// Decodes one docstore/data value. Throws Error(Data) naming the file and key.
Node decode_node(const JsonDoc& doc, const Entry& entry);
// Class name for a Python type code / TS word.
std::string class_for_type_code(const std::string& code);

struct IndexStruct {
  std::string id;
  std::string type;  // "vector_store", "list", "tree", ... (TS: "simple_dict", ...)
  Json data;         // the decoded __data__ (TS: the entry itself)
};

// Decodes one index-store entry (Python envelope with string or object
// __data__, or the TS plain object). Throws Error(Data).
IndexStruct decode_index_struct(const JsonDoc& doc, const Entry& entry);
// Node references held by the struct, per spec/CLI.md's counting rule.
std::size_t index_node_count(const IndexStruct& s);

// The member of a ref_doc_info entry that lists its node ids, in every era
// and dialect: "node_ids" (Python), "nodeIds" (TS), "doc_ids" (<= 0.6.33).
// The name, so that an edit writes the list back under it ("node_ids" when
// the entry has none); the list, or nullptr.
const char* ref_doc_ids_key(const Json& entry);
const Json* ref_doc_node_ids(const Json& entry);
// Is the struct type one LlamaIndex (Python) can load (FORMAT.md §4.1)?
bool index_type_loadable(const std::string& type);
// Type and node count of one index-store entry without building a DOM of a
// large nodes_dict (the struct's JSON is outlined, not parsed), for summaries.
struct IndexCount {
  std::string id;
  std::string type;
  std::size_t nodes = 0;
};
IndexCount count_index_struct(const JsonDoc& doc, const Entry& entry);

// Every index struct of the store, in stored order.
std::vector<IndexStruct> read_index_structs(const Store& store);

struct VectorStoreInfo {
  std::string ns;
  std::string file;
  std::size_t vectors = 0;
  std::optional<std::size_t> dim;  // of the first vector; nullopt when empty
  bool mixed_dims = false;
  bool has_metadata = false;       // metadata_dict present and covering the vectors
  bool legacy_doc_id_map = false;  // text_id_to_doc_id (<= 0.6.17)
  // A FAISS namespace (FaissVectorStore): libfaiss's class and the metric
  // ("l2", "ip"); both empty for a SimpleVectorStore.
  std::string faiss_type;
  std::string metric;
};
// Counts and dimensions without parsing a single float.
VectorStoreInfo vector_store_info(const VectorStoreDoc& v);

// Names of the vector-store sections in either dialect.
struct VectorSections {
  const Section* embeddings = nullptr;
  const Section* ref_doc_ids = nullptr;
  const Section* metadata = nullptr;
};
VectorSections vector_sections(const JsonDoc& doc);

struct GraphInfo {
  std::size_t subjects = 0;
  std::size_t triplets = 0;
};
GraphInfo graph_info(const Store& store);

struct PropertyGraphInfo {
  std::size_t nodes = 0;
  std::size_t relations = 0;
  std::size_t triplets = 0;
};
std::optional<PropertyGraphInfo> property_graph_info(const Store& store);

}  // namespace lstore
