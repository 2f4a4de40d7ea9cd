// The store summary: counts, shapes, and the layout diagnosis (diagnose.cpp),
// which validate reports too.
#include "lstore/summary.hpp"

#include "ops/diagnose.hpp"
#include "lstore/error.hpp"
#include "lstore/faiss.hpp"
#include "rule_table.hpp"

namespace lstore {
namespace {

// Distinct keys of a collection: streamed, or counted in the model.
std::size_t distinct(const Store& store, const JsonDoc& doc, const Section& c) {
  if (const CollectionCounts* n = store.streamed_counts(doc, c.name)) return n->distinct;
  return c.size();
}

// vector_store_info() from the streamed counts (a streamed collection holds
// only its first entries in the model); the same rules.
VectorStoreInfo streamed_vector_store_info(const Store& store, const VectorStoreDoc& v) {
  VectorSections s = vector_sections(v.doc);
  const CollectionCounts* e = s.embeddings ? store.streamed_counts(v.doc, s.embeddings->name) : nullptr;
  const CollectionCounts* m = s.metadata ? store.streamed_counts(v.doc, s.metadata->name) : nullptr;
  if ((s.embeddings && !e) || (s.metadata && !m)) return vector_store_info(v);  // read whole
  VectorStoreInfo info;
  info.ns = v.ns;
  info.file = v.doc.name();
  info.legacy_doc_id_map = v.doc.section("text_id_to_doc_id") != nullptr;
  if (s.embeddings && s.embeddings->outlined) {
    info.vectors = e->distinct;
    info.dim = e->dim;
    info.mixed_dims = e->mixed_dims;
  }
  info.has_metadata = s.metadata && s.metadata->outlined && (m->distinct > 0 || info.vectors == 0);
  return info;
}

GraphInfo streamed_graph_info(const Store& store) {
  if (!store.graph_store) return {};
  const Section* gd = store.graph_store->section("graph_dict");
  const CollectionCounts* n = gd ? store.streamed_counts(*store.graph_store, gd->name) : nullptr;
  if (!n || !gd->outlined) return graph_info(store);
  return {n->distinct, n->triplets};
}

std::optional<PropertyGraphInfo> streamed_property_graph_info(const Store& store) {
  std::optional<PropertyGraphInfo> p = property_graph_info(store);
  if (!p) return p;
  const JsonDoc& d = *store.property_graph;
  if (const Section* s = d.section("nodes"); s && s->outlined) p->nodes = distinct(store, d, *s);
  if (const Section* s = d.section("relations"); s && s->outlined) p->relations = distinct(store, d, *s);
  if (const Section* s = d.section("triplets"); s && s->outlined)
    if (const CollectionCounts* n = store.streamed_counts(d, s->name)) p->triplets = n->entries;
  return p;
}

}  // namespace

Summary summarize(const Store& store) {
  Summary s;
  s.dialect = store.dialect == Dialect::TypeScript ? "ts" : "python";
  s.era = store.era;
  if (const Section* c = store.doc_collection(coll::kDocData)) s.nodes = distinct(store, *store.docstore, *c);
  if (const Section* c = store.doc_collection(coll::kRefDocInfo)) s.ref_docs = distinct(store, *store.docstore, *c);
  if (const Section* c = store.doc_collection(coll::kDocMetadata)) s.metadata = distinct(store, *store.docstore, *c);
  if (const Section* idx = store.index_collection()) {
    const CollectionCounts* streamed = store.streamed_counts(*store.index_store, idx->name);
    for (const Entry& e : idx->entries) {
      IndexCount c = count_index_struct(*store.index_store, e);
      if (streamed)  // a struct cut down in the sample: its count was taken as it streamed by
        if (auto n = streamed->struct_nodes.find(e.key); n != streamed->struct_nodes.end()) c.nodes = n->second;
      s.indexes.push_back({c.id, c.type, c.nodes});
    }
  }
  for (const auto& v : store.vector_stores)
    s.vector_stores.push_back(store.streamed ? streamed_vector_store_info(store, v) : vector_store_info(v));
  s.graph = store.streamed ? streamed_graph_info(store) : graph_info(store);
  s.property_graph = store.streamed ? streamed_property_graph_info(store) : property_graph_info(store);
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
