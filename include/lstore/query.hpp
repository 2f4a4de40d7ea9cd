// Vector search over a store's SimpleVectorStore data, as LlamaIndex computes
// it (FORMAT.md §5.3): the same ids in the same order, the same scores within
// float rounding, and a refusal wherever LlamaIndex raises.
//
// The search reads only what it needs: the embeddings of the candidates,
// parsed in parallel from the vector file straight into float64 (never a
// DOM), and the metadata_dict entries of candidates when there are filters.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "lstore/json.hpp"
#include "lstore/progress.hpp"
#include "lstore/store.hpp"

namespace lstore {

// ---------------------------------------------------------------- filters

// LlamaIndex's FilterOperator, by its JSON value ("==", "nin", "text_match", ...).
enum class FilterOp { Eq, Ne, Gt, Gte, Lt, Lte, In, Nin, Any, All, TextMatch, TextMatchInsensitive, Contains, IsEmpty };
const char* filter_op_token(FilterOp op);
std::optional<FilterOp> filter_op_from_token(std::string_view token);

// FilterCondition; Null is a JSON null, which pydantic accepts and the search
// then refuses (as LlamaIndex raises "Invalid filter condition: None").
enum class FilterCondition { And, Or, Not, Null };

// Which LlamaIndex's filter code a search follows. The two differ a lot, and
// the corpus goldens of both are reproduced:
//  - Current (llama-index-core 0.10.4x to 0.12): every operator, evaluated per
//    candidate with Python's semantics; a value type error is raised only when
//    a candidate's metadata reaches it.
//  - Legacy (0.10.13 and before, via MetadataFilters.legacy_filters()): only
//    "==" (anything else raises before the search), `condition` ignored (always
//    AND), list metadata matches when it holds the value; the pydantic v1
//    model accepted only int, float or str values and fewer operators.
enum class FilterSemantics { Current, Legacy };
// The semantics of the LlamaIndex that wrote a store (Store::era). Eras that
// cannot be told apart from 0.10.13 (no `mimetype` in nodes) get Legacy.
FilterSemantics filter_semantics_for_era(std::string_view era);

struct MetadataFilters;

struct MetadataFilter {
  std::string key;
  Json value;  // null, int, float, str, or a list of str / of numbers
  FilterOp op = FilterOp::Eq;
};

// One element of MetadataFilters.filters: a filter, or a nested
// MetadataFilters (parsed, because LlamaIndex parses it, then refused).
struct FilterItem {
  MetadataFilter filter;
  std::shared_ptr<const MetadataFilters> nested;
};

struct MetadataFilters {
  std::vector<FilterItem> filters;
  FilterCondition condition = FilterCondition::And;
};

// Builds MetadataFilters from LlamaIndex's JSON shape
// {"filters": [{"key", "value", "operator"}...], "condition": "and"|"or"},
// validating as that era's pydantic model does (strict int / float / str
// values or lists of one of them: a bool is refused). Throws Error(Usage).
MetadataFilters parse_metadata_filters(const Json& json, FilterSemantics semantics = FilterSemantics::Current);
// One `KEY OP VALUE` expression of the command line: KEY a word or a JSON
// string, OP a FilterOperator value, VALUE a JSON literal (may be left out
// for is_empty). Throws Error(Usage) naming what is wrong.
MetadataFilter parse_filter_expression(std::string_view text, FilterSemantics semantics = FilterSemantics::Current);
// Does `metadata` pass `filters`, as LlamaIndex's filter function decides for
// one node? Throws Error(Usage) where Python would raise (e.g. ordering a
// string against a number).
bool metadata_matches(const MetadataFilters& filters, const Json& metadata,
                      FilterSemantics semantics = FilterSemantics::Current);
// The JSON shape of `filters` (as LlamaIndex's model_dump writes it).
Json filters_to_json(const MetadataFilters& filters);

// ---------------------------------------------------------------- search

enum class QueryMode { Default, Mmr };

struct VectorQuery {
  std::vector<double> embedding;
  // VectorStoreQuery.similarity_top_k. Default mode: nullopt or 0 keeps every
  // candidate (LlamaIndex tests `if similarity_top_k`); MMR: nullopt keeps
  // every candidate and 0 none.
  std::optional<std::size_t> top_k = 2;
  QueryMode mode = QueryMode::Default;
  std::optional<double> mmr_threshold;  // nullopt or 0 means 0.5 (`mmr_threshold or 0.5`)
  std::optional<MetadataFilters> filters;
  // VectorStoreQuery.node_ids: only these ids are candidates (an empty list
  // leaves none); nullopt = no restriction.
  std::optional<std::vector<std::string>> node_ids;
  // Bytes of embeddings scanned from the vector file; may be empty.
  Progress progress;
  // nullopt: from the store's era.
  std::optional<FilterSemantics> semantics;
};

struct QueryHit {
  std::string id;
  double score = 0;  // cosine similarity, or the MMR score in MMR mode
};

namespace detail {
class VectorCacheView;  // a mapped warm cache (ops/vector_cache.hpp)
}

// The embeddings of one namespace as a packed row-major float64 matrix, rows
// in embedding_dict order (a duplicated key counts once, at its first place,
// with its last value, as json.load builds the dict). Backed by parsed
// vectors, or by a mapped warm cache whose every id, row and screening block
// is checked against its checksum when it is read (a damaged cache throws
// CorruptVectorCache, never answers).
class PackedVectors {
 public:
  std::size_t rows() const { return m_rows; }
  std::size_t dim() const { return m_dim; }
  std::string_view id(std::size_t i) const;
  // Every id (for a cache: read and checked on first use).
  const std::vector<std::string_view>& ids() const;
  const double* row(std::size_t i) const;
  // The ref doc id stored for row i (text_id_to_ref_doc_id), if any.
  std::optional<std::string_view> ref_doc_id(std::size_t i) const;
  // Row of `id`, or npos.
  std::size_t find(std::string_view id) const;
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

  // Parses every embedding of `ns` (in parallel). The ids point into
  // `store`, which must outlive the result. Throws Error(Data) on a malformed
  // vector or on vectors of different dimensions.
  static PackedVectors parse(const Store& store, std::string_view ns);

 private:
  friend struct PackedVectorsAccess;
  // The warm cache's int8 screening copy (ops/query_screen.cpp), if any:
  // `stride` codes per row, and per row its scale and the bound on the
  // norm of its quantisation residual (+inf: scored in float64 only).
  struct Screen {
    const std::int8_t* codes = nullptr;
    const float* params = nullptr;
    std::size_t stride = 0;
  };
  Screen m_screen;
  std::size_t m_rows = 0;
  std::size_t m_dim = 0;
  mutable std::vector<std::string_view> m_ids;
  std::vector<std::optional<std::string_view>> m_ref_doc_ids;
  const double* m_data = nullptr;
  std::shared_ptr<const void> m_owner;  // keeps ids, ref doc ids and data alive
  std::shared_ptr<const detail::VectorCacheView> m_cache;  // set for a warm cache
  mutable std::vector<std::pair<std::string_view, std::size_t>> m_index;  // sorted, built on first find()
};

// A warm cache whose bytes no longer match their checksums (a torn or
// damaged file): thrown while a cached search reads it, before any answer.
struct CorruptVectorCache : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Searches namespace `ns` of `store` as SimpleVectorStore.query does.
// `packed`, if given, supplies the vectors (a warm cache) instead of the
// vector file; it must hold this namespace's rows.
// Throws Error(Usage) where LlamaIndex raises on the query or its filters
// (message saying why) and for an unknown namespace or a query vector of the
// wrong dimension; Error(Data) where the store cannot be searched (filters on
// a store without metadata_dict, malformed vectors).
std::vector<QueryHit> query_vector_store(const Store& store, std::string_view ns, const VectorQuery& query,
                                         const PackedVectors* packed = nullptr);
// The same over packed vectors alone (no store at hand): filters are refused.
std::vector<QueryHit> query_packed(const PackedVectors& packed, const VectorQuery& query);

// ---------------------------------------------------------------- streamed cold search

// A cold search in bounded memory (issue #20) over a store read for its
// summary (Backend::load_streamed): the namespace's vector file is streamed
// through a top-k heap (k candidates kept, not N), its embeddings parsed and
// scored on every core, and only the hits' entries of the file's other
// sections are kept. The answer is query_vector_store's on the loaded store,
// byte for byte; wherever the stream cannot be sure of that (a duplicate
// key, a malformed or ragged entry, a filter that raises, a query vector of
// another dimension, FAISS, MMR, node_ids: every case where LlamaIndex
// raises or the loaded path says more), it throws NeedsLoadedStore and the
// caller searches the loaded store instead.
struct NeedsLoadedStore {};
struct StreamedSearch {
  std::vector<QueryHit> hits;
  // Candidates scored in float64, and those the screen ruled out (their
  // screened similarity, plus its proven error, below the k-th's).
  std::size_t scored = 0, ruled_out = 0;
  // The hits' entries of the vector file's ref doc and metadata sections
  // (text_id_to_ref_doc_id, metadata_dict, ... under their own names), as a
  // small document that answers for them as the loaded file would.
  std::optional<VectorStoreDoc> vectors;
};
StreamedSearch query_streamed(const Store& summary, std::string_view ns, const VectorQuery& query);
// The docstore/data entries of `ids` from the store's docstore (streamed
// when the summary holds only a sample of it), as a small document whose
// nodes decode as the loaded docstore's do. nullopt when there is no
// docstore; throws NeedsLoadedStore when an entry of `ids` does not decode
// (the loaded path then names the place).
std::optional<JsonDoc> docstore_entries(const Store& summary, const std::vector<std::string>& ids);

// The stored embedding of `id` in namespace `ns` (for "more like this").
// Throws Error(NotFound) if there is none.
std::vector<double> stored_embedding(const Store& store, std::string_view ns, std::string_view id);
// The node ids VectorIndexRetriever restricts a search to: the values of the
// index's nodes_dict (TS: its nodesDict keys). Throws Error(Usage) for an
// unknown index id, Error(Data) for an index without a nodes_dict.
std::vector<std::string> index_node_ids(const Store& store, std::string_view index_id);
// What BaseRetriever.retrieve() then does to the hits: a node whose hash
// (its text and metadata) equals a better-ranked node's is dropped, so
// `retriever` results can be shorter than top_k. Python stores only.
std::vector<QueryHit> dedupe_like_retriever(const Store& store, std::vector<QueryHit> hits);
// A query vector from JSON text: an array of numbers, or an object with a
// `vector` or `query_embedding` array. Throws Error(Usage).
std::vector<double> parse_query_vector(std::string_view json_text, const std::string& source);

// ---------------------------------------------------------------- warm cache

// Who a vector file is: device, inode, size, modification and change times
// (the change time moves on every write and rename, and cannot be set back),
// and a hash of its first and last 4 KiB. A cache made from another file,
// or from other bytes, is never used.
struct FileIdentity {
  std::uint64_t dev = 0;
  std::uint64_t ino = 0;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  std::int64_t ctime_ns = 0;
  std::uint64_t head_tail_hash = 0;
  bool operator==(const FileIdentity&) const = default;
};
FileIdentity file_identity(const std::filesystem::path& file);  // throws Error(Data)

// The cache directory: $LSTORE_CACHE_DIR, else $XDG_CACHE_HOME/lstore, else
// ~/.cache/lstore. Caches live there rather than in the persist dir, which may
// be read-only and whose every file `convert` copies.
std::filesystem::path vector_cache_dir();
// The cache file for namespace `ns` of the directory store `store_dir`.
std::filesystem::path vector_cache_path(const std::filesystem::path& store_dir, std::string_view ns);

// Reads a cache; nullopt when there is none or the vector file it was made
// from is no longer the same (stale). A file that is not a whole version 3
// cache (another version, a damaged header, cut short) throws
// CorruptVectorCache, as its rows do when they fail their checksums as they
// are read. Costs a few system calls and the header's checksum.
std::optional<PackedVectors> read_vector_cache(const std::filesystem::path& cache_file,
                                               const std::filesystem::path& store_dir);
// Parses every vector of namespace `ns` of a directory store and writes them
// (atomically, in batches: the matrix is never held whole) as its cache;
// returns the written cache, mapped, for the search at hand.
PackedVectors write_vector_cache(const std::filesystem::path& cache_file, const std::filesystem::path& store_dir,
                                 const Store& store, std::string_view ns);
// Only the docstore file of a directory store (docstore.json or TS
// doc_store.json), to print the hits of a cached search without outlining
// the vector file; nullopt when there is none.
std::optional<JsonDoc> read_docstore_file(const std::filesystem::path& store_dir);

}  // namespace lstore
