// Changes to a store with LlamaIndex's semantics (FORMAT.md §3.6, §4.2,
// §5.2). They edit the model in memory; the backend then writes the result
// all or nothing, and unchanged entries keep their bytes (edit_store.hpp is
// the transaction around them). One file per verb: delete_* in
// src/ops/delete.cpp, put_records / put_raw in src/ops/put.cpp, the chat and
// raw KV edits in src/ops/edit.cpp.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "lstore/store.hpp"

namespace lstore {

// What an edit did, per part ("docstore.json:docstore/data",
// "index_store.json:<index id>", ...): ids in the order they were touched.
struct ChangeSet {
  std::map<std::string, std::vector<std::string>> removed;
  std::map<std::string, std::vector<std::string>> changed;
  std::map<std::string, std::vector<std::string>> added;
  bool empty() const { return removed.empty() && changed.empty() && added.empty(); }
};

// index.delete_ref_doc(id, delete_from_docstore=True) for every index of the
// store at once: the document's vectors in every namespace, its nodes in
// every index struct, its nodes, metadata and ref_doc_info entries, and in a
// property graph what SimplePropertyGraphStore.delete(ids=[node]) removes for
// each of its nodes (the triplets naming the node, with their nodes and
// relations; part names "property_graph_store.json:nodes", ":relations",
// ":triplets", a triplet named as compact JSON).
// Throws Error(NotFound) naming the first id the store does not know, before
// changing anything.
ChangeSet delete_ref_docs(Store& store, const std::vector<std::string>& ref_doc_ids);

// Single nodes: docstore.delete_document semantics (the ref doc loses the
// node, and goes when it has no node left), plus index structs, vectors and
// the property graph as delete_ref_docs does.
ChangeSet delete_nodes(Store& store, const std::vector<std::string>& node_ids);

// The removals lstore repair reuses: node ids dropped from every index
// struct as delete_nodes drops them (nodes_dict, list, tree, tables,
// summaries), and vectors by id from every namespace (embedding,
// text_id_to_ref_doc_id and metadata_dict entries). Nothing else changes.
ChangeSet delete_index_references(Store& store, const std::vector<std::string>& node_ids);
ChangeSet delete_vectors(Store& store, const std::vector<std::string>& vector_ids);

struct PutOptions {
  std::string index_id;          // the index the nodes join; empty: the only vector index
  std::string ns = "default";    // the vector namespace their embeddings go to
};

// Adds or replaces nodes as index.insert_nodes() does (FORMAT.md §3.6, §5.2):
// the vector (embedding, ref doc, metadata_dict entry), the index struct's
// nodes_dict, the docstore node with its hash as the store's era computes
// it, its metadata entry and its ref doc's node_ids. Each record is a node as
// stored ({"__data__": ..., "__type__": ...}, the embedding in __data__ or
// beside it), a plain {"id", "text", "metadata", "ref_doc_id", "embedding"},
// or {"document": {"id", "text", "metadata"}}, whose hash is recorded after
// the nodes (set_document_hash). Throws Error(Data) for a record it cannot
// use, before changing anything.
ChangeSet put_records(Store& store, const std::vector<Json>& records, const PutOptions& options);

// Sets one raw entry of a KV collection (the collection is created if missing).
ChangeSet put_raw(Store& store, const std::string& collection, const std::string& key, const Json& value);

// Chat stores (lstore/side_files.hpp): BaseChatStore's operations on the
// store's chat file (the one named `file`, or the only one). `put_chat`
// appends `messages` to `key` (inserting from position `at` when given), or
// replaces all of them (`replace`); `delete_chat` removes the key, its
// message `message`, or its last one. Error(NotFound) for an unknown key.
ChangeSet put_chat(Store& store, const std::string& key, const std::vector<Json>& messages,
                   std::optional<long long> at, bool replace, const std::string& file = {});
ChangeSet delete_chat(Store& store, const std::string& key, std::optional<long long> message, bool last,
                      const std::string& file = {});
// A raw KV entry removed from the docstore, the index store or a KV file.
ChangeSet delete_raw(Store& store, const std::string& collection, const std::string& key);

}  // namespace lstore
