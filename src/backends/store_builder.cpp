// Which file fills which slot of the model (see store_builder.hpp).
#include "store_builder.hpp"

#include "core/sniff.hpp"

namespace lstore {

void StoreBuilder::add(FileInfo info, std::optional<JsonDoc> doc, Dialect dialect) {
  if (!doc) {
    m_bytes.push_back(info.bytes);
    m_store.files.push_back(std::move(info));
    return;
  }
  const std::string name = info.name;
  // Graph stores exist only in Python's format (TS has none; a TS store can
  // carry one for the way back), so they cast no vote.
  bool votes = info.kind != FileKind::ForeignJson && info.kind != FileKind::KvStore &&
               info.kind != FileKind::GraphStore && info.kind != FileKind::PropertyGraph;
  if (dialect == Dialect::TypeScript) ++m_ts_votes;
  else if (votes) ++m_py_votes;
  // The first file of a kind takes the slot, and the canonical name takes it
  // from an earlier one; a file that loses its slot keeps its bytes, so a
  // conversion still carries it along.
  auto take = [&](std::optional<JsonDoc>& slot, const char* canonical, const char* ts_name = nullptr) {
    if (slot && name != canonical && !(ts_name && name == ts_name)) return false;
    if (slot) {
      for (std::size_t i = 0; i < m_store.files.size(); ++i)
        if (m_store.files[i].name == slot->name()) m_store.files[i].bytes = m_bytes[i];
    }
    slot = std::move(*doc);
    return true;
  };
  bool modelled = false;
  switch (info.kind) {
    case FileKind::DocStore: modelled = take(m_store.docstore, "docstore.json", "doc_store.json"); break;
    case FileKind::IndexStore: modelled = take(m_store.index_store, "index_store.json"); break;
    case FileKind::GraphStore: modelled = take(m_store.graph_store, "graph_store.json"); break;
    case FileKind::PropertyGraph: modelled = take(m_store.property_graph, "property_graph_store.json"); break;
    case FileKind::VectorStore: {
      std::string base = name.substr(name.rfind('/') + 1);
      std::string ns;
      if (name.rfind("images/", 0) == 0) ns = "images";
      else if (auto p = base.find("__"); p != std::string::npos) ns = base.substr(0, p);
      else if (base == "vector_store.json") ns = "default";
      else ns = base.substr(0, base.size() - 5);
      if (!m_store.vector_store(ns)) {
        m_store.vector_stores.push_back({ns, std::move(*doc)});
        modelled = true;
      }
      break;
    }
    default: break;
  }
  m_bytes.push_back(info.bytes);
  if (modelled) info.bytes.reset();
  m_store.files.push_back(std::move(info));
}

Store StoreBuilder::finish() {
  m_store.dialect = m_ts_votes > m_py_votes ? Dialect::TypeScript : Dialect::Python;
  for (auto& v : m_store.vector_stores)
    if (m_store.dialect == Dialect::TypeScript) v.doc.set_dialect(JsonDialect::JavaScript);
  m_store.era = detect_era(m_store);
  return std::move(m_store);
}

}  // namespace lstore
