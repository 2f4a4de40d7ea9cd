// The store summary: counts, shapes, and the layout diagnosis (diagnose.cpp),
// which validate reports too.
#include "lstore/summary.hpp"

#include "lstore/diagnose.hpp"

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
  return s;
}

}  // namespace lstore
