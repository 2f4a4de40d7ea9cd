// SimpleVectorStore.query (FORMAT.md §5.3) over the store model: the checks
// LlamaIndex makes before searching, the candidate set (embedding_dict order,
// node_ids, metadata filters), cosine scores, then its top-k or MMR ranking.
#include "lstore/query.hpp"

#include <cstring>
#include <unordered_set>

#include "lstore/error.hpp"
#include "lstore/faiss.hpp"
#include "lstore/model.hpp"
#include "core/outline.hpp"
#include "query_internal.hpp"

namespace lstore {
namespace {

const char* kNoMetadata =
    "Cannot filter stores that were persisted without metadata. Please rebuild the store with metadata to enable "
    "filtering.";

const VectorStoreDoc& namespace_doc(const Store& store, std::string_view ns) {
  if (const VectorStoreDoc* v = store.vector_store(ns)) return *v;
  detail::require_namespace_file(store, ns);
  std::string have;
  for (const auto& v : store.vector_stores) have += (have.empty() ? "" : ", ") + v.ns;
  throw Error(ErrorKind::Usage, store.location,
              "no vector store namespace '" + std::string(ns) + "'" +
                  (have.empty() ? " (the store has no vector store)" : " (namespaces: " + have + ")"));
}

std::vector<const Entry*> embedding_entries(const JsonDoc& doc, const VectorSections& s) {
  if (!s.embeddings) return {};  // a missing key loads as {} (dataclasses default)
  if (!s.embeddings->outlined || s.embeddings->is_array)
    throw Error(ErrorKind::Data, doc.name(), "the embeddings are not an object", s.embeddings->name);
  return detail::distinct_entries(*s.embeddings);
}

std::size_t candidate_dim(const JsonDoc& doc, const std::vector<const Entry*>& entries, const std::vector<std::size_t>& cands) {
  std::size_t dim = entries[cands.front()]->elements;
  for (std::size_t c : cands) {
    const Entry& e = *entries[c];
    if (e.elements == Member::kNotCounted)
      throw Error(ErrorKind::Data, doc.name(), "the embedding of '" + std::string(e.key) + "' is not a flat list of numbers",
                  "embedding_dict." + std::string(e.key));
    if (e.elements != dim)  // np.array() of ragged lists raises
      throw Error(ErrorKind::Data, doc.name(),
                  "vectors of different dimensions (" + std::to_string(dim) + " and " + std::to_string(e.elements) + ")",
                  "embedding_dict." + std::string(e.key));
  }
  return dim;
}

void check_query_dim(const VectorQuery& q, std::size_t dim, std::string_view ns, const std::string& where) {
  if (q.embedding.size() != dim)  // np.dot raises: shapes not aligned
    throw Error(ErrorKind::Usage, where,
                "the query vector has " + std::to_string(q.embedding.size()) + " numbers, the vectors" +
                    (ns.empty() ? std::string() : " of namespace '" + std::string(ns) + "'") + " have " +
                    std::to_string(dim));
}

// Top-k or MMR over the scored candidates.
std::vector<QueryHit> finish(const VectorQuery& q, const std::vector<std::string_view>& ids, const std::vector<double>& sims,
                             const std::vector<const double*>& rows, std::size_t dim) {
  std::vector<QueryHit> hits;
  if (q.mode == QueryMode::Mmr) {
    for (const auto& p : detail::rank_mmr(rows, dim, sims, q.top_k, q.mmr_threshold))
      hits.push_back({std::string(ids[p.position]), p.score});
  } else {
    for (std::size_t i : detail::rank_default(sims, ids, q.top_k)) hits.push_back({std::string(ids[i]), sims[i]});
  }
  return hits;
}

// Scores candidate rows of packed vectors (the warm path).
std::vector<QueryHit> search_packed(const VectorQuery& q, const PackedVectors& packed, const std::vector<std::size_t>& cands,
                                    std::string_view ns, const std::string& where) {
  if (!cands.empty()) check_query_dim(q, packed.dim(), ns, where);
  // A warm cache's int8 copy screens the top-k (same hits, same scores),
  // reading only the candidates it cannot rule out.
  if (auto hits = detail::search_screened(q, packed, cands)) return std::move(*hits);
  std::vector<std::string_view> ids;
  std::vector<const double*> rows;
  for (std::size_t c : cands) {
    ids.push_back(packed.id(c));
    rows.push_back(packed.row(c));
  }
  std::vector<double> sims(cands.size());
  const double qn = detail::norm(q.embedding.data(), q.embedding.size());
  detail::parallel_for(cands.size(), 4096, [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) sims[i] = detail::cosine(q.embedding.data(), qn, rows[i], packed.dim());
  });
  return finish(q, ids, sims, rows, packed.dim());
}

}  // namespace

std::vector<QueryHit> query_vector_store(const Store& store, std::string_view ns, const VectorQuery& q,
                                         const PackedVectors* packed) {
  // A FAISS namespace answers as FaissVectorStore does (its own values, no filters).
  if (!packed && faiss_namespace_file(store, ns)) return query_faiss(open_faiss_namespace(store, ns), q);
  const JsonDoc& doc = namespace_doc(store, ns).doc;
  VectorSections s = vector_sections(doc);
  const FilterSemantics semantics = q.semantics.value_or(filter_semantics_for_era(store.era));
  std::vector<const Entry*> entries = embedding_entries(doc, s);
  if (packed && packed->rows() != entries.size())
    throw Error(ErrorKind::Data, doc.name(), "the cached vectors do not match this vector store");

  // 1. Filters need metadata: SimpleVectorStore refuses a non-empty store
  // with an empty (or missing) metadata_dict, even for an empty filter list.
  bool no_metadata = !s.metadata || !s.metadata->outlined || s.metadata->is_array || s.metadata->entries.empty();
  if (q.filters && !entries.empty() && no_metadata)
    throw Error(ErrorKind::Data, doc.name(), kNoMetadata, "", "LlamaIndex raises ValueError for this store; search without filters");
  detail::FilterEvaluator filter(q.filters ? &*q.filters : nullptr, semantics);
  try {
    filter.check_before_search();
  } catch (const detail::PyError& e) {
    throw Error(ErrorKind::Usage, doc.name(), e.message, "",
                "this store was written by LlamaIndex 0.10.x, whose SimpleVectorStore has only \"==\" filters");
  }

  // 2. Candidates, in embedding_dict order.
  std::unordered_set<std::string_view> allowed;
  if (q.node_ids) allowed.insert(q.node_ids->begin(), q.node_ids->end());
  std::vector<std::size_t> cands;
  for (std::size_t r = 0; r < entries.size(); ++r) {
    const std::string_view id = entries[r]->key;
    if (q.node_ids && !allowed.count(id)) continue;
    if (filter.active()) {
      const Entry* m = no_metadata ? nullptr : s.metadata->find(id);
      if (!m)
        throw Error(ErrorKind::Data, doc.name(), "'" + std::string(id) + "' has no metadata_dict entry (LlamaIndex raises KeyError)",
                    "metadata_dict");
      Json md = doc.decode(m->raw);
      try {
        if (!filter.matches(md)) continue;
      } catch (const detail::PyError& e) {
        throw Error(ErrorKind::Usage, doc.name(), "the filters cannot be applied: " + e.text(), "metadata_dict." + std::string(id),
                    "LlamaIndex raises this error for the same query");
      }
    }
    cands.push_back(r);
  }
  if (packed) return search_packed(q, *packed, cands, ns, doc.name());

  // 3. Scores, parsed straight from the file.
  std::vector<std::string_view> ids;
  std::vector<const Entry*> cand_entries;
  for (std::size_t c : cands) {
    ids.push_back(entries[c]->key);
    cand_entries.push_back(entries[c]);
  }
  std::size_t dim = 0;
  if (!cands.empty()) {
    dim = candidate_dim(doc, entries, cands);
    check_query_dim(q, dim, ns, doc.name());
  }
  std::vector<double> sims(cands.size());
  std::vector<double> matrix;  // MMR compares candidates with each other
  if (q.mode == QueryMode::Mmr) matrix.resize(cands.size() * dim);
  const double qn = detail::norm(q.embedding.data(), q.embedding.size());
  detail::DocReader reader(store, doc);
  detail::scan_embeddings(reader, doc, cand_entries, dim, [&](std::size_t k, const double* v) {
    sims[k] = detail::cosine(q.embedding.data(), qn, v, dim);
    if (!matrix.empty()) std::memcpy(matrix.data() + k * dim, v, dim * sizeof(double));
  }, q.progress);
  std::vector<const double*> rows;
  if (!matrix.empty())
    for (std::size_t k = 0; k < cands.size(); ++k) rows.push_back(matrix.data() + k * dim);
  else if (q.mode == QueryMode::Mmr)
    rows.assign(cands.size(), nullptr);  // dim 0
  return finish(q, ids, sims, rows, dim);
}

std::vector<QueryHit> query_packed(const PackedVectors& packed, const VectorQuery& q) {
  if (q.filters)
    throw Error(ErrorKind::Usage, "", "metadata filters need the store (its metadata_dict), not only cached vectors");
  std::unordered_set<std::string_view> allowed;
  if (q.node_ids) allowed.insert(q.node_ids->begin(), q.node_ids->end());
  std::vector<std::size_t> cands;
  for (std::size_t r = 0; r < packed.rows(); ++r)
    if (!q.node_ids || allowed.count(packed.id(r))) cands.push_back(r);
  return search_packed(q, packed, cands, "", "cached vectors");
}

std::vector<double> stored_embedding(const Store& store, std::string_view ns, std::string_view id) {
  if (faiss_namespace_file(store, ns)) return faiss_stored_embedding(open_faiss_namespace(store, ns), id);
  const JsonDoc& doc = namespace_doc(store, ns).doc;
  VectorSections s = vector_sections(doc);
  const Entry* e = s.embeddings && s.embeddings->outlined ? s.embeddings->find(id) : nullptr;
  if (!e)
    throw Error(ErrorKind::NotFound, doc.name(), "no embedding with id '" + std::string(id) + "' in namespace '" + std::string(ns) + "'");
  if (e->elements == Member::kNotCounted)
    throw Error(ErrorKind::Data, doc.name(), "the embedding of '" + std::string(e->key) + "' is not a flat list of numbers",
                "embedding_dict." + std::string(e->key));
  std::vector<double> v(e->elements);
  detail::DocReader reader(store, doc);
  std::string_view raw = reader.range(e->raw.data(), e->raw.data() + e->raw.size());
  if (!detail::parse_embedding(raw, v.data(), v.size()))
    throw Error(ErrorKind::Data, doc.name(), "the embedding of '" + std::string(e->key) + "' is not a list of numbers",
                "embedding_dict." + std::string(e->key));
  return v;
}

std::vector<std::string> index_node_ids(const Store& store, std::string_view index_id) {
  std::vector<IndexStruct> structs = read_index_structs(store);
  std::string have;
  for (const IndexStruct& s : structs) {
    if (s.id != index_id) {
      have += (have.empty() ? "" : ", ") + s.id;
      continue;
    }
    std::vector<std::string> ids;
    if (const Json* d = s.data.find("nodes_dict"); d && d->is_object()) {
      for (const auto& [vector_id, node_id] : d->as_object())
        if (node_id.is_string()) ids.push_back(node_id.as_string());  // VectorStoreIndex.as_retriever: the values
      return ids;
    }
    if (const Json* d = s.data.find("nodesDict"); d && d->is_object()) {
      for (const auto& kv : d->as_object()) ids.push_back(kv.first);  // TS: vector id -> whole node
      return ids;
    }
    throw Error(ErrorKind::Data, store.location,
                "index '" + s.id + "' (" + s.type + ") has no nodes_dict; only vector indexes restrict a search");
  }
  throw Error(ErrorKind::Usage, store.location,
              "no index '" + std::string(index_id) + "'" + (have.empty() ? " (the store has none)" : " (indexes: " + have + ")"));
}

std::vector<QueryHit> dedupe_like_retriever(const Store& store, std::vector<QueryHit> hits) {
  const Section* data = store.doc_collection(coll::kDocData);
  if (store.dialect != Dialect::Python || !data || !data->outlined) return hits;
  // TextNode.hash = sha256(str(text) + str(metadata)): equal exactly when the
  // text and the metadata (keys in order, values with their types) are.
  std::unordered_set<std::string> seen;
  std::vector<QueryHit> out;
  for (QueryHit& h : hits) {
    const Entry* e = data->find(h.id);
    if (!e) {
      out.push_back(std::move(h));
      continue;
    }
    Node n = decode_node(*store.docstore, *e);
    if (seen.insert(n.text + '\0' + dump(n.metadata, {JsonDialect::Python})).second) out.push_back(std::move(h));
  }
  return out;
}

std::vector<double> parse_query_vector(std::string_view json_text, const std::string& source) {
  Json v;
  try {
    v = parse(json_text);
  } catch (const ParseError& e) {
    throw Error(ErrorKind::Usage, source, std::string("not JSON: ") + e.what(),
                line_column(json_text.data(), json_text.size(), e.offset()));
  }
  if (v.is_object()) {
    const Json* inner = v.find("vector");
    if (!inner) inner = v.find("query_embedding");
    if (!inner) throw Error(ErrorKind::Usage, source, "an object needs a \"vector\" or \"query_embedding\" array");
    v = Json(*inner);
  }
  if (!v.is_array()) throw Error(ErrorKind::Usage, source, std::string("expected a JSON array of numbers, got ") + v.type_name());
  std::vector<double> out;
  for (const Json& x : v.as_array()) {
    if (!x.is_number())
      throw Error(ErrorKind::Usage, source, std::string("expected a JSON array of numbers, found a ") + x.type_name());
    out.push_back(x.as_number());
  }
  return out;
}

}  // namespace lstore
