// FAISS vector stores (FaissVectorStore, spec/VECTOR_STORES.md §2): the index
// read and written through libfaiss itself, so that every index type that
// keeps its vectors reads (Flat, HNSW-Flat, IVF-Flat, IDMap), and the store
// level on top of it: which namespace is a FAISS file, its nodes_dict, search,
// and the conversions to and from a SimpleVectorStore dir.
//
// lstore built without FAISS (-DLSTORE_WITH_FAISS=OFF) still recognises the
// file; every call here that needs the index throws Error(Data) naming the
// file and saying "built without FAISS".
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "lstore/query.hpp"
#include "lstore/store.hpp"
#include "lstore/validate.hpp"

namespace lstore {

bool faiss_compiled_in();

enum class FaissMetric { L2, InnerProduct, Other };
const char* faiss_metric_name(FaissMetric m);  // "l2", "ip", "other"

struct FaissIndexInfo {
  std::string type;  // libfaiss's class: IndexFlatL2, IndexHNSWFlat, IndexIVFFlat, IndexIDMap, ...
  std::int64_t ntotal = 0;
  int dim = 0;
  FaissMetric metric = FaissMetric::L2;
};

class FaissIndex {
 public:
  // Reads an index from the bytes of a file (`file` names it in errors).
  // Throws Error(Data) on bytes libfaiss refuses, or when built without FAISS.
  static FaissIndex read(std::string_view bytes, const std::string& file);
  FaissIndex(FaissIndex&&) noexcept;
  FaissIndex& operator=(FaissIndex&&) noexcept;
  ~FaissIndex();

  const FaissIndexInfo& info() const;
  // The labels of the stored rows, in storage order (0..n-1, or an IDMap's ids).
  std::vector<std::int64_t> labels() const;
  // Every stored vector, row-major, in labels() order. Throws Error(Data)
  // for an index type that does not keep its vectors (PQ, SQ codes...).
  std::vector<float> vectors() const;
  // The one stored vector at storage position `pos` (< ntotal), without
  // copying the others.
  std::vector<float> vector_at(std::size_t pos) const;
  // FAISS's own search: (label, raw value) best first, label -1 padding kept
  // out, exactly as FaissVectorStore.query returns them.
  std::vector<std::pair<std::int64_t, float>> search(const std::vector<float>& query, std::size_t k) const;

 private:
  struct Impl;
  explicit FaissIndex(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m;
};

// The bytes faiss.write_index writes for an IndexFlatL2 / IndexFlatIP of
// `rows` (row-major, rows.size() / dim vectors). Throws Error(Data) when
// built without FAISS (`file` names the file it is meant for).
std::string faiss_flat_index_bytes(FaissMetric metric, int dim, const std::vector<float>& rows, const std::string& file);

// An IndexFlatL2 / IndexFlatIP file in the layout faiss.write_index gives it
// (a 45-byte header, then ntotal * dim float32 rows), read without libfaiss
// (faiss_flat.cpp): ls counts from the header, get reads one row, and a
// conversion streams the rows from the mapped file. nullopt for any other
// index type, or bytes that do not add up (libfaiss then reads or refuses them).
struct FaissFlatFile {
  FaissIndexInfo info;
  std::string_view rows;  // ntotal * dim little-endian float32, unaligned
  void row(std::size_t i, float* out) const;
};
std::optional<FaissFlatFile> faiss_flat_file(std::string_view bytes);
// The bytes faiss.write_index writes for an IndexFlatL2 / IndexFlatIP of
// `ntotal` rows before the rows themselves: header + rows (row-major
// float32) is the file, byte for byte.
std::string faiss_flat_header(FaissMetric metric, int dim, std::int64_t ntotal);

// ------------------------------------------------------------ store level

// The FAISS file holding namespace `ns` (<ns>__vector_store.json, or
// vector_store.json for "default"), or nullptr when that namespace is not FAISS.
const FileInfo* faiss_namespace_file(const Store& store, std::string_view ns);

// Every namespace of the store held by a FAISS file, default first.
std::vector<std::string> faiss_namespaces(const Store& store);

// A nodes_dict key as the FAISS label it names ("12" -> 12), or -1 for a key
// that is no label (a SimpleVectorStore's nodes_dict maps node ids).
std::int64_t faiss_label_of_key(std::string_view key);

// A FAISS namespace opened: the index and the nodes_dict (FAISS label as a
// string -> node id) of the index struct over it.
struct FaissNamespace {
  const FileInfo* file = nullptr;
  std::optional<FaissFlatFile> flat;  // an IndexFlatL2/IP, read straight from the file's bytes
  std::string index_id;
  std::vector<std::pair<std::string, std::string>> nodes_dict;
  // The node id of a label, or nullptr.
  const std::string* node_of(std::int64_t label) const;
  // The label of a node id, or -1.
  std::int64_t label_of(std::string_view node_id) const;

  // libfaiss's index of the file: read when opened for any other index type,
  // on first use (a search) for a flat one.
  const FaissIndex& index() const;
  const FaissIndexInfo& info() const;
  // The labels of the stored rows in storage order (a flat index: 0..n-1).
  std::vector<std::int64_t> labels() const;
  // The stored vector at storage position `pos`.
  std::vector<float> vector_at(std::size_t pos) const;
  mutable std::optional<FaissIndex> m_index;

  // Built on first use: a look-up per row must not scan nodes_dict.
  mutable std::unordered_map<std::int64_t, std::size_t> m_by_label;
  mutable std::unordered_map<std::string_view, std::int64_t> m_by_node;
  void index_nodes_dict() const;
};
// Throws Error(Data) when the file does not read.
FaissNamespace open_faiss_namespace(const Store& store, std::string_view ns);

// FaissVectorStore.query then the retriever's nodes_dict look-up: node ids
// with FAISS's own values (squared L2 ascending, inner product descending).
// Refuses filters and MMR (Usage), as FaissVectorStore does; a label without
// a node (an empty IndexFlatL2 answers label 0) is Error(Data), as the
// retriever's KeyError.
std::vector<QueryHit> query_faiss(const FaissNamespace& ns, const VectorQuery& query);

// The stored vector of `node_id` (float32 widened); Error(NotFound) if none.
std::vector<double> faiss_stored_embedding(const FaissNamespace& ns, std::string_view node_id);

// The persist dir FaissVectorStore writes for the store's vector index
// (spec/VECTOR_STORES.md §2.1), with an IndexFlatL2 or IndexFlatIP. Every
// loss (other indexes, other namespaces, document hashes, float32) is one
// line in `notes`. Throws Error(Data) when the store cannot be migrated.
// `dim` is needed only for a store without vectors (it records no dimension).
Store convert_to_faiss(const Store& src, FaissMetric metric, std::optional<int> dim, std::vector<std::string>& notes);
// A FAISS persist dir back to a SimpleVectorStore dir, as LlamaIndex's
// VectorStoreIndex would persist the same nodes with their stored vectors.
Store convert_faiss_to_simple(const Store& src, std::vector<std::string>& notes);

// What differs between two FAISS files, for diff: "index type", "metric",
// "dimension", "rows", "vectors" (rows at the same place with other values),
// "labels". False when either does not read (diff then says "bytes").
bool faiss_index_changes(const FileInfo& a, const FileInfo& b, std::vector<std::string>& out);

// validate's FAISS rules over every FAISS namespace of the store
// (faiss-rows, faiss-empty-l2, faiss-multimodal, faiss-unreadable,
// faiss-unchecked); severities as validation_rules() declares them.
std::vector<Finding> check_faiss_namespaces(const Store& store);

}  // namespace lstore
