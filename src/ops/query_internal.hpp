// Private pieces of the vector search (src/ops/query_*.cpp): the filter
// evaluator, embedding parsing, ranking.
#pragma once

#include "lstore/progress.hpp"

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lstore/jsondoc.hpp"
#include "lstore/query.hpp"
#include "lstore/store.hpp"
#include "core/python_values.hpp"

namespace lstore::detail {

// Python values (PyError, py::eq, py::order, ...): core/python_values.hpp.

// ---------------------------------------------------------------- filters (query_filters.cpp)

// LlamaIndex's filter function for one MetadataFilters, in either semantics.
class FilterEvaluator {
 public:
  FilterEvaluator(const MetadataFilters* filters, FilterSemantics semantics);
  // False when there is nothing to test (no filters, or an empty list): then
  // LlamaIndex never looks at metadata_dict.
  bool active() const { return m_filters && !m_filters->filters.empty(); }
  // Legacy only: legacy_filters() refuses every operator but "==" before the
  // search starts. Throws PyError.
  void check_before_search() const;
  // Does a candidate's metadata_dict entry pass? Throws PyError where Python raises.
  bool matches(const Json& metadata) const;

 private:
  bool matches_current(const Json& metadata) const;
  bool matches_legacy(const Json& metadata) const;
  const MetadataFilters* m_filters;
  FilterSemantics m_semantics;
};

// ---------------------------------------------------------------- embeddings (query_vectors.cpp)

// The distinct entries of embedding_dict in dict order (first place, last value).
std::vector<const Entry*> distinct_entries(const Section& section);

// Serves byte ranges of a store file from a mapping of its own when the file
// on disk holds the bytes the model has: each range is populated before use
// and released after, so a 1 GB vector file is scanned with a few MB
// resident and without copying it. Otherwise serves the in-memory bytes.
class DocReader {
 public:
  DocReader(const Store& store, const JsonDoc& doc);
  ~DocReader();
  DocReader(const DocReader&) = delete;
  DocReader& operator=(const DocReader&) = delete;
  // The bytes [first, last_end) (a span of the document), ready to read.
  std::string_view range(const char* first, const char* last_end) const;
  // Done with a span returned by range(): its pages may leave memory.
  void release(std::string_view span) const;
  bool owns(std::string_view raw) const;

 private:
  std::string_view m_bytes;
  const char* m_map = nullptr;  // the file, mapped by this reader
};

// The distinct vectors of a namespace, checked to share one dimension.
struct NamespaceRows {
  const JsonDoc* doc = nullptr;
  std::vector<const Entry*> entries;
  std::size_t dim = 0;
};
// Throws Error(Data) when the namespace's file is there but unreadable.
void require_namespace_file(const Store& store, std::string_view ns);
NamespaceRows namespace_rows(const Store& store, std::string_view ns);  // throws Error
// Parses them all, row k into dst[k * dim ...].
void parse_rows(const Store& store, const NamespaceRows& rows, double* dst);

// Parses the embeddings `entries` (each a flat array of `dim` numbers) in
// parallel chunks and hands each to `fn(k, values)`; fn is called from several
// threads at once, for distinct k. Throws Error(Data) naming the id of the
// first malformed entry.
void scan_embeddings(const DocReader& reader, const JsonDoc& doc, const std::vector<const Entry*>& entries,
                     std::size_t dim, const std::function<void(std::size_t, const double*)>& fn,
                     const Progress& progress = {});
// Parses one JSON array of numbers (Python's NaN / Infinity included) into
// out[0..dim). Returns false when it is not exactly that.
bool parse_embedding(std::string_view raw, double* out, std::size_t dim);

// sqrt(v·v), and the cosine similarity numpy computes:
// dot(q, v) / (norm(q) * norm(v)) (0/0 gives NaN, as numpy does).
double norm(const double* v, std::size_t dim);
double cosine(const double* q, double q_norm, const double* v, std::size_t dim);

// Runs fn(i) for i in [0, n) on up to `threads` threads (1 when n is small).
void parallel_for(std::size_t n, std::size_t min_per_thread, const std::function<void(std::size_t, std::size_t)>& fn);

// ---------------------------------------------------------------- ranking (query_rank.cpp)

// get_top_k_embeddings: heapq of (similarity, id) with Python's tuple order,
// then sorted(key=similarity, reverse=True). Returns candidate positions in
// rank order.
std::vector<std::size_t> rank_default(const std::vector<double>& sims, const std::vector<std::string_view>& ids,
                                      std::optional<std::size_t> top_k);
// sorted(items, key=lambda x: x[0], reverse=True) as CPython computes it
// (exposed for tests: it matters only when NaN is among the keys).
void python_sort_desc(std::vector<std::pair<double, std::size_t>>& items);

struct MmrPick {
  std::size_t position;  // candidate position
  double score;          // the MMR score
};
// get_top_k_mmr_embeddings over candidate vectors `rows` (dim each).
std::vector<MmrPick> rank_mmr(const std::vector<const double*>& rows, std::size_t dim, const std::vector<double>& sims,
                              std::optional<std::size_t> top_k, std::optional<double> threshold);

}  // namespace lstore::detail

namespace lstore {
// Builds PackedVectors (the parser and the cache reader fill one).
struct PackedVectorsAccess {
  static PackedVectors make(std::vector<std::string_view> ids, std::vector<std::optional<std::string_view>> ref_doc_ids,
                            std::size_t dim, const double* data, std::shared_ptr<const void> owner) {
    PackedVectors p;
    p.m_ids = std::move(ids);
    p.m_ref_doc_ids = std::move(ref_doc_ids);
    p.m_dim = dim;
    p.m_data = data;
    p.m_owner = std::move(owner);
    return p;
  }
};
}  // namespace lstore
