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
// rank_default over candidates handed over one at a time (the streamed cold
// search): the same hits in the same order, ties and NaN included, keeping
// top_k + 1 candidates (every one when top_k is 0 or nullopt, as LlamaIndex).
class StreamingTopK {
 public:
  explicit StreamingTopK(std::optional<std::size_t> top_k);
  ~StreamingTopK();
  StreamingTopK(const StreamingTopK&) = delete;
  StreamingTopK& operator=(const StreamingTopK&) = delete;
  // The next candidate, in embedding_dict order.
  void push(double similarity, std::string_view id);
  std::size_t size() const;  // candidates held
  // The hits in rank order.
  std::vector<QueryHit> finish() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> m;
};
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

// ---------------------------------------------------------------- screened warm search (query_screen.cpp)

// Floats per screening row for vectors of `dim` numbers (a multiple of 16).
std::size_t screen_stride(std::size_t dim);
// Fills the screening copy of `rows` float64 rows of `dim` numbers: row i
// divided by its norm in float32 at out[i * stride ...] (zero padded), and
// exact_only[i] = 1 where the row is not finite, is zero, or is so large or
// small that float64 arithmetic on it may overflow or underflow.
void build_screen(const double* data, std::size_t rows, std::size_t dim, float* out, unsigned char* exact_only);
// The top-k search (default mode) over candidate rows `cands` of `packed`,
// screened in float32 and re-scored in float64 wherever the screening
// cannot decide: the same hits, scores and order as scoring every candidate
// with cosine(). nullopt when it does not apply (no screening copy, MMR, no
// top-k or one that keeps every candidate, an exact-only query vector); the
// caller then scores every candidate. The query's dimension must be checked.
std::optional<std::vector<QueryHit>> search_screened(const VectorQuery& q, const PackedVectors& packed,
                                                     const std::vector<std::size_t>& cands);
// The bound on |float64 cosine - float32 screened score| for rows of `stride` floats.
double screen_bound(std::size_t stride);

// rank_default where each candidate's similarity is known only within
// `bound` of screened[i] (unless exact_only[i]): exact(i) gives it when a
// comparison needs it. Every comparison has the outcome it has on the exact
// similarities, so the result is rank_default's. Returns (position, exact
// similarity) in rank order.
std::vector<std::pair<std::size_t, double>> rank_default_screened(const std::vector<float>& screened,
                                                                  const std::vector<unsigned char>& exact_only,
                                                                  double bound, const std::vector<std::string_view>& ids,
                                                                  std::size_t top_k,
                                                                  const std::function<double(std::size_t)>& exact);

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
  using Screen = PackedVectors::Screen;
  static const Screen& screen(const PackedVectors& p) { return p.m_screen; }
  static void set_screen(PackedVectors& p, Screen s) { p.m_screen = s; }
  // find()'s index, as it sorts it ((id, row) pairs in order), given ready.
  static void set_index(PackedVectors& p, std::vector<std::pair<std::string_view, std::size_t>> index) {
    p.m_index = std::move(index);
  }
};
}  // namespace lstore
