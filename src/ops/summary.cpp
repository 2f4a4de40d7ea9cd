// The store summary: counts, shapes, and the layout diagnosis (diagnose.cpp),
// which validate reports too.
#include "lstore/summary.hpp"

#include "ops/diagnose.hpp"
#include "lstore/error.hpp"
#include "lstore/faiss.hpp"
#include "rule_table.hpp"

namespace lstore {
Summary summarize(const Store& store) {
  Summary s;
  s.dialect = store.dialect == Dialect::TypeScript ? "ts" : "python";
  s.era = store.era;
  if (const Section* c = store.doc_collection(coll::kDocData)) s.nodes = c->size();
  if (const Section* c = store.doc_collection(coll::kRefDocInfo)) s.ref_docs = c->size();
  if (const Section* c = store.doc_collection(coll::kDocMetadata)) s.metadata = c->size();
  if (const Section* idx = store.index_collection())
    for (const Entry& e : idx->entries) {
      IndexCount c = count_index_struct(*store.index_store, e);
      s.indexes.push_back({c.id, c.type, c.nodes});
    }
  for (const auto& v : store.vector_stores) s.vector_stores.push_back(vector_store_info(v));
  s.graph = graph_info(store);
  s.property_graph = property_graph_info(store);
  LayoutFacts facts;
  for (const IndexSummary& i : s.indexes) facts.indexes.push_back({i.id, i.type, i.nodes});
  facts.vector_stores = s.vector_stores;
  s.problems = diagnose_layout(store, facts);
  // FAISS namespaces after the diagnosis, whose SimpleVectorStore checks
  // (metadata_dict, ...) do not apply to them. An index libfaiss cannot read
  // is listed as validate lists it (faiss-unreadable), not left out unsaid.
  for (const std::string& ns : faiss_namespaces(store)) {
    if (!faiss_compiled_in()) break;
    const FileInfo& f = *faiss_namespace_file(store, ns);
    try {
      // A flat index's counts are in its header (no copy of its rows through
      // libfaiss); any other index is read by libfaiss, which may refuse it.
      const std::string_view bytes = f.bytes ? f.bytes->view() : std::string_view{};
      std::optional<FaissFlatFile> flat = faiss_flat_file(bytes);
      const FaissIndexInfo info = flat ? flat->info : FaissIndex::read(bytes, f.name).info();
      VectorStoreInfo v;
      v.ns = ns;
      v.file = f.name;
      v.vectors = static_cast<std::size_t>(info.ntotal);
      v.dim = static_cast<std::size_t>(info.dim);
      v.faiss_type = info.type;
      v.metric = faiss_metric_name(info.metric);
      s.vector_stores.insert(ns == "default" ? s.vector_stores.begin() : s.vector_stores.end(), std::move(v));
    } catch (const Error& e) {
      s.problems.push_back(make_finding("faiss-unreadable", f.name, e.place(), f.name + ": " + e.what()));
    }
  }
  return s;
}

}  // namespace lstore
