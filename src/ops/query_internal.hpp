// Private pieces of the vector search (src/ops/query_*.cpp): the filter
// evaluator, embedding parsing, ranking.
#pragma once

#include "lstore/progress.hpp"

#include <cstddef>
#include <cstdint>
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
// The same for a screen (embedding_parse.cpp): true exactly where
// parse_embedding is, and each out[i] within a relative 2^-46 of
// parse_embedding's (equal where that is not finite).
bool screen_embedding(std::string_view raw, double* out, std::size_t dim);
// At least |cosine(q, v) - cosine(q, w)| for a `dim`-number row v and its
// screened w, both computed by cosine(), when every w[i] is finite and
// norm(w) is in [1e-100, 1e100] (as is q's).
double screen_margin(std::size_t dim);

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
  // A similarity below which a candidate pushed now would leave the heap,
  // hence the hits and their order, as they would be had it not been
  // pushed: the smallest held once top_k are held; -inf before, with no
  // top-k, or once a NaN was pushed (NaN has no place in the order: every
  // candidate then counts).
  double floor() const;
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

// Codes per screening row for vectors of `dim` numbers (a multiple of 32).
std::size_t screen_stride(std::size_t dim);
// The screening copy of one float64 row: codes[0..stride) the row divided by
// its norm in units of params[0] (int8, zero padded), params[1] an upper
// bound on the norm of what the codes miss. A row that is not finite, is
// zero, or is so large or small that float64 arithmetic on it may overflow
// or underflow gets params = {0, +inf}: it is always scored in float64.
void quantise_row(const double* v, std::size_t dim, std::size_t stride, std::int8_t* codes, float* params);
// quantise_row over `rows` rows (in parallel).
void build_screen(const double* data, std::size_t rows, std::size_t dim, std::int8_t* codes, float* params);
// The top-k search (default mode) over candidate rows `cands` (ascending) of
// `packed`, screened in int8 and re-scored in float64 wherever the screen
// cannot rule a row out: the same hits, scores and order as scoring every
// candidate with cosine(). nullopt when it does not apply (no screening
// copy, MMR, no top-k or one that keeps every candidate, an exact-only query
// vector, a NaN similarity); the caller then scores every candidate. The
// query's dimension must be checked. Throws CorruptVectorCache.
std::optional<std::vector<QueryHit>> search_screened(const VectorQuery& q, const PackedVectors& packed,
                                                     const std::vector<std::size_t>& cands);

// rank_default where candidate i's similarity is at most upper[i]: exact(i)
// gives it when the ranking needs it, which is for the first top_k
// candidates and for those whose upper bound reaches the heap's smallest
// similarity. The pushes and pops are rank_default's (a candidate below the
// whole heap is pushed and popped as a stand-in that compares below
// everything), so the result, ties included, is rank_default's. Returns
// (position, exact similarity) in rank order; nullopt when an exact
// similarity is NaN (the order of NaN is not a total one: the caller ranks
// the exact scores instead).
std::optional<std::vector<std::pair<std::size_t, double>>> rank_default_bounded(
    const double* upper, std::size_t n, std::size_t top_k, const std::function<std::string_view(std::size_t)>& id,
    const std::function<double(std::size_t)>& exact);

}  // namespace lstore::detail

namespace lstore {
// Builds PackedVectors (the parser and the cache reader fill one).
struct PackedVectorsAccess {
  static PackedVectors make(std::vector<std::string_view> ids, std::vector<std::optional<std::string_view>> ref_doc_ids,
                            std::size_t dim, const double* data, std::shared_ptr<const void> owner) {
    PackedVectors p;
    p.m_rows = ids.size();
    p.m_ids = std::move(ids);
    p.m_ref_doc_ids = std::move(ref_doc_ids);
    p.m_dim = dim;
    p.m_data = data;
    p.m_owner = std::move(owner);
    return p;
  }
  static PackedVectors make_cached(std::shared_ptr<const detail::VectorCacheView> view);
  using Screen = PackedVectors::Screen;
  static const Screen& screen(const PackedVectors& p) { return p.m_screen; }
  static void set_screen(PackedVectors& p, Screen s) { p.m_screen = s; }
  static const detail::VectorCacheView* cache(const PackedVectors& p) { return p.m_cache.get(); }
};
}  // namespace lstore
