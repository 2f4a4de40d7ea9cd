// PGVectorStore's tables (llama-index-vector-stores-postgres 0.5.2,
// VECTOR_STORES.md §1): what postgresql://...?vectors=pgvector&table=NAME
// writes and reads beside the docstore and index store tables.
//
// Everything here is text and values, no libpq: the backend (pgvector_tables.cpp, source.cpp) sends it. So
// the rows can be checked against the goldens without a server.
#pragma once

#include <charconv>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lstore/json.hpp"
#include "lstore/query.hpp"
#include "lstore/store.hpp"

namespace lstore {

// The URI parameters PGVectorStore's users set (from_params arguments).
struct PgVectorOptions {
  bool enabled = false;                 // vectors=pgvector
  std::string table = "llamaindex";     // table=NAME (lower-cased, as LlamaIndex does)
  std::optional<int> embed_dim;         // embed_dim=N; else the stored vectors' dimension
  bool use_jsonb = false;               // use_jsonb=true: metadata_ JSONB
  bool hybrid_search = false;           // hybrid_search=true: text_search_tsv column + GIN index
  std::string text_search_config = "english";  // text_search_config=CFG
  // hnsw_m / hnsw_ef_construction / hnsw_dist_method: an HNSW index (hnsw_kwargs).
  std::optional<int> hnsw_m, hnsw_ef_construction;
  std::string hnsw_dist_method = "vector_cosine_ops";
  bool hnsw() const { return hnsw_m || hnsw_ef_construction; }
};

// Takes one URI query parameter when it is PGVectorStore's (true), throwing
// a usage error for a bad value; false leaves it to libpq.
bool take_pgvector_param(PgVectorOptions& o, std::string_view name, const std::string& value, const std::string& where);

// The table name (without schema) of a vector store namespace: data_<table>
// for "default", data_<table>_<ns> for another (one table per namespace, as
// the image golden's llamaindex / llamaindex_image).
std::string pgvector_table_name(const PgVectorOptions& o, std::string_view ns);
// The index-name stem for the namespace: the table name without "data_".
std::string pgvector_index_stem(const PgVectorOptions& o, std::string_view ns);

// The statements PGVectorStore sends to create a table (after CREATE
// EXTENSION), for a schema already quoted; `quoted_table` is schema.table.
std::vector<std::string> pgvector_ddl(const PgVectorOptions& o, const std::string& quoted_schema,
                                      std::string_view ns, int dim);

struct PgVectorRow {
  std::string text, metadata, node_id, embedding;  // the column texts
};

// What a namespace's rows need beyond the rows themselves: the losses the
// table makes, to be said in a note.
struct PgVectorRowsReport {
  std::size_t nonfinite_metadata = 0;  // NaN / Infinity stored as null (pydantic's JSON mode)
  std::size_t float32_changed = 0;     // embeddings whose values float32 does not hold exactly
  double max_change = 0;               // the largest |float32(v) - v|
};

// One row per embedding of the vector store in embedding_dict order, built
// from the node's docstore entry as PGVectorStore builds it (§1.4). Throws a
// Data error naming the node when a vector has no docstore node.
std::vector<PgVectorRow> pgvector_rows(const Store& store, const VectorStoreDoc& vs, int& dim,
                                       PgVectorRowsReport& report);
// The same, one row at a time (the writer streams them into INSERTs, so
// memory does not grow with the store); `report` is complete at the end.
void pgvector_each_row(const Store& store, const VectorStoreDoc& vs, int& dim, PgVectorRowsReport& report,
                       const std::function<void(PgVectorRow&&)>& fn);
// The dimension of the namespace's first embedding (0: none), which the
// table is created with before its rows stream in.
int pgvector_first_dim(const VectorStoreDoc& vs);

// pgvector's text form of float32 values: "[v1,v2,...]", shortest float32 digits.
std::string pgvector_text(std::span<const double> v);
// Parses pgvector's text form into the float32 values as doubles.
bool parse_pgvector_text(std::string_view text, std::vector<double>& out);
// The numbers of `text` between `open` and `close`, comma-separated, each read
// as T (float: pgvector's values; double: a float8[] array's): false when the
// text is not such a list. One reader for both column kinds.
template <typename T>
bool parse_number_list(std::string_view text, char open, char close, std::vector<double>& out) {
  out.clear();
  if (text.size() < 2 || text.front() != open || text.back() != close) return false;
  const char* p = text.data() + 1;
  const char* end = text.data() + text.size() - 1;
  while (p < end) {
    T v = 0;
    auto [next, ec] = std::from_chars(p, end, v);
    if (ec != std::errc()) return false;
    out.push_back(v);
    p = next;
    if (p < end && *p++ != ',') return false;
  }
  return true;
}

// A metadata_ text as the entries of a SimpleVectorStore: the ref_doc_id
// (text_id_to_ref_doc_id's value, JSON) and the metadata_dict value (JSON,
// metadata_ without _node_content), in Python json.dumps form.
struct SimpleEntriesFromRow {
  std::string ref_doc_id_json, metadata_json;
};
SimpleEntriesFromRow simple_entries_from_metadata(std::string_view metadata_text);

// PGVectorStore.query in mode default as SQL: the columns node_id, distance
// (cosine, `<=>`), text, metadata_ text, ordered by distance, LIMIT top_k;
// the filters with PGVectorStore's semantics (§1.7) but every value bound.
// Throws Error(Usage) where PGVectorStore raises (mmr, not, any/all/is_empty,
// comparing with null or a list).
struct PgVectorQuerySql {
  std::string sql;
  std::vector<std::string> params;
};
PgVectorQuerySql pgvector_query_sql(const std::string& qualified_table, const VectorQuery& q);

// ---------------------------------------------------------------- rebuilding a folder store
//
// A table PGVectorStore wrote alone (no PostgresDocumentStore/IndexStore
// tables) holds each node in its row: metadata_._node_content is the node's
// JSON with text "" (node_to_metadata_dict), the text column its text. From
// those, the docstore and index store LlamaIndex 0.12 persists after
// VectorStoreIndex(nodes) over a SimpleVectorStore (pgvector_rebuild.cpp).

// One row as the node metadata_dict_to_node rebuilds, in docstore form.
struct RebuiltNode {
  std::string id;
  std::string envelope;         // docstore/data value: {"__data__": node, "__type__": code}
  std::string metadata_record;  // docstore/metadata value: {"doc_hash": h[, "ref_doc_id": r]}
  std::optional<std::string> ref_doc_id;  // the SOURCE, when add_documents records it in ref_doc_info
  Json metadata;                // node.metadata (ref_doc_info takes the first non-empty one)
};
// Throws std::runtime_error saying what is wrong with the row (the caller
// names the table and node_id).
RebuiltNode rebuild_node(std::string_view node_id, std::string_view text, std::string_view metadata_text);

// docstore/ref_doc_info as add_documents leaves it after adding the nodes
// one by one: ref docs in first-seen order, node ids in row order, metadata
// the first non-empty metadata of its nodes.
class RefDocInfoBuilder {
 public:
  void add(const RebuiltNode& n);
  std::size_t size() const { return m_order.size(); }
  // (ref doc id, value JSON) in first-seen order.
  std::vector<std::pair<std::string, std::string>> entries() const;

 private:
  struct Info {
    std::vector<std::string> node_ids;
    std::set<std::string> seen;  // node_ids as a set: a ref doc may have 100k nodes
    Json metadata{JsonObject{}};
  };
  std::vector<std::string> m_order;
  std::map<std::string, Info> m_info;
};

// The index store entry of a VectorStoreIndex over `node_ids` (nodes_dict id
// -> id, as for a SimpleVectorStore): {"__type__": type, "__data__": "..."}.
std::string rebuilt_index_struct(std::string_view index_id, const std::vector<std::string>& node_ids,
                                 std::string_view type = "vector_store");
// The index id given to the rebuilt index: the table does not keep the one
// LlamaIndex made (a uuid4), so a UUID derived from the table's name, the
// same on every conversion of that table.
std::string rebuilt_index_id(std::string_view qualified_table);

}  // namespace lstore
