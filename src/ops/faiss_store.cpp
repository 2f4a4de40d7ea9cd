// FAISS persist dirs as stores (spec/VECTOR_STORES.md §2): the namespace
// file, its nodes_dict, search and stored vectors as FaissVectorStore and
// its retriever give them.
#include <algorithm>
#include <charconv>
#include <cmath>

#include "lstore/error.hpp"
#include "lstore/faiss.hpp"
#include "lstore/model.hpp"

namespace lstore {

const char* faiss_metric_name(FaissMetric m) {
  switch (m) {
    case FaissMetric::L2: return "l2";
    case FaissMetric::InnerProduct: return "ip";
    default: return "other";
  }
}

const FileInfo* faiss_namespace_file(const Store& store, std::string_view ns) {
  const std::string name = std::string(ns) + "__vector_store.json";
  for (const FileInfo& f : store.files)
    if (f.kind == FileKind::Faiss && (f.name == name || (ns == "default" && f.name == "vector_store.json"))) return &f;
  return nullptr;
}

std::vector<std::string> faiss_namespaces(const Store& store) {
  static const std::string suffix = "__vector_store.json";
  std::vector<std::string> out;
  for (const FileInfo& f : store.files) {
    if (f.kind != FileKind::Faiss) continue;
    std::string ns;
    if (f.name == "vector_store.json") ns = "default";
    else if (f.name.size() > suffix.size() && f.name.compare(f.name.size() - suffix.size(), suffix.size(), suffix) == 0)
      ns = f.name.substr(0, f.name.size() - suffix.size());
    if (ns.empty() || faiss_namespace_file(store, ns) != &f) continue;
    out.insert(ns == "default" ? out.begin() : out.end(), ns);
  }
  return out;
}

std::int64_t faiss_label_of_key(std::string_view key) {
  std::int64_t label = -1;
  auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), label);
  return ec == std::errc() && end == key.data() + key.size() && label >= 0 ? label : -1;
}

void FaissNamespace::index_nodes_dict() const {
  if (!m_by_label.empty() || !m_by_node.empty() || nodes_dict.empty()) return;
  for (std::size_t i = 0; i < nodes_dict.size(); ++i) {
    const auto& [key, node] = nodes_dict[i];
    const std::int64_t label = faiss_label_of_key(key);  // -1: maps no row
    if (label >= 0) m_by_label[label] = i;  // json.load: a repeated key's last value wins
    m_by_node.emplace(node, label);         // the first key naming the node
  }
}

const std::string* FaissNamespace::node_of(std::int64_t label) const {
  index_nodes_dict();
  auto it = m_by_label.find(label);
  return it == m_by_label.end() ? nullptr : &nodes_dict[it->second].second;
}

std::int64_t FaissNamespace::label_of(std::string_view node_id) const {
  index_nodes_dict();
  auto it = m_by_node.find(node_id);
  return it == m_by_node.end() ? -1 : it->second;
}

FaissNamespace open_faiss_namespace(const Store& store, std::string_view ns) {
  const FileInfo* f = faiss_namespace_file(store, ns);
  if (!f) throw Error(ErrorKind::Usage, store.location, "namespace '" + std::string(ns) + "' is not a FAISS index");
  if (!f->bytes) throw Error(ErrorKind::Data, f->name, "the FAISS index's bytes were not read");
  FaissNamespace out;
  out.file = f;
  // A flat index is read from its header, its rows left in the mapped file;
  // any other is read (or refused) by libfaiss now.
  out.flat = faiss_flat_file(f->bytes->view());
  if (!out.flat) out.m_index.emplace(FaissIndex::read(f->bytes->view(), f->name));
  // FaissVectorStore keeps no ids: the index struct's nodes_dict (label ->
  // node id) is the only way from a row to a node. The first IndexDict has it.
  for (const IndexStruct& s : read_index_structs(store)) {
    const Json* d = s.data.find("nodes_dict");
    if (!d || !d->is_object()) continue;
    out.index_id = s.id;
    for (const auto& [k, v] : d->as_object())
      if (v.is_string()) out.nodes_dict.emplace_back(k, v.as_string());
    break;
  }
  return out;
}

const FaissIndex& FaissNamespace::index() const {
  if (!m_index) m_index.emplace(FaissIndex::read(file->bytes->view(), file->name));
  return *m_index;
}

const FaissIndexInfo& FaissNamespace::info() const { return flat ? flat->info : index().info(); }

std::vector<std::int64_t> FaissNamespace::labels() const {
  if (!flat) return index().labels();
  std::vector<std::int64_t> out(static_cast<std::size_t>(flat->info.ntotal));
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<std::int64_t>(i);
  return out;
}

std::vector<float> FaissNamespace::vector_at(std::size_t pos) const {
  if (!flat) return index().vector_at(pos);
  std::vector<float> out(static_cast<std::size_t>(flat->info.dim));
  flat->row(pos, out.data());
  return out;
}

std::vector<QueryHit> query_faiss(const FaissNamespace& ns, const VectorQuery& query) {
  const FaissIndexInfo& info = ns.info();
  if (query.filters)
    throw Error(ErrorKind::Usage, ns.file->name, "metadata filters are not implemented for FAISS",
                "", "FaissVectorStore raises 'ValueError: Metadata filters not implemented for Faiss yet.'");
  if (query.mode == QueryMode::Mmr)
    throw Error(ErrorKind::Usage, ns.file->name, "FaissVectorStore has no MMR mode (it would answer a default query)");
  if (query.embedding.size() != static_cast<std::size_t>(info.dim))
    throw Error(ErrorKind::Usage, ns.file->name,
                "query vector has " + std::to_string(query.embedding.size()) + " dimensions, the FAISS index " +
                    std::to_string(info.dim));
  // FaissVectorStore: np.array(query_embedding, dtype="float32").
  std::vector<float> q(query.embedding.begin(), query.embedding.end());
  std::size_t k = query.top_k.value_or(0);
  if (k == 0) k = static_cast<std::size_t>(info.ntotal);  // lstore's "0 = all"
  std::vector<QueryHit> hits;
  for (const auto& [label, value] : ns.index().search(q, k)) {
    const std::string* node = ns.node_of(label);
    if (!node)
      throw Error(ErrorKind::Data, ns.file->name,
                  "FAISS answered row " + std::to_string(label) + ", which nodes_dict does not map to a node",
                  "nodes_dict", "LlamaIndex's retriever raises KeyError: '" + std::to_string(label) +
                                    "' here (an empty IndexFlatL2 answers row 0 at top-1)");
    hits.push_back({*node, static_cast<double>(value)});
  }
  return hits;
}

std::vector<double> faiss_stored_embedding(const FaissNamespace& ns, std::string_view node_id) {
  std::int64_t label = ns.label_of(node_id);
  std::vector<std::int64_t> labels = label < 0 ? std::vector<std::int64_t>{} : ns.labels();
  auto it = std::find(labels.begin(), labels.end(), label);
  if (it == labels.end())
    throw Error(ErrorKind::NotFound, ns.file->name, "no FAISS row for node id '" + std::string(node_id) + "'");
  std::vector<float> row = ns.vector_at(static_cast<std::size_t>(it - labels.begin()));  // that row only
  return std::vector<double>(row.begin(), row.end());
}

bool faiss_index_changes(const FileInfo& a, const FileInfo& b, std::vector<std::string>& out) {
  if (!faiss_compiled_in() || !a.bytes || !b.bytes) return false;
  try {
    FaissIndex x = FaissIndex::read(a.bytes->view(), a.name), y = FaissIndex::read(b.bytes->view(), b.name);
    const FaissIndexInfo &p = x.info(), &q = y.info();
    std::vector<std::string> found;
    if (p.type != q.type) found.push_back("index type");
    if (p.metric != q.metric) found.push_back("metric");
    if (p.dim != q.dim) found.push_back("dimension");
    if (p.ntotal != q.ntotal) found.push_back("rows");
    if (x.labels() != y.labels()) found.push_back("labels");
    if (p.dim == q.dim) {
      // Rows both hold, at the same place: float32 compared exactly (FAISS
      // stores what it was given, nothing to round).
      std::vector<float> u = x.vectors(), v = y.vectors();
      std::size_t common = std::min(u.size(), v.size());
      if (!std::equal(u.begin(), u.begin() + static_cast<std::ptrdiff_t>(common), v.begin())) found.push_back("vectors");
    }
    if (found.empty()) found.push_back("bytes");  // same index, other bytes (an IVF's list order...)
    out.insert(out.end(), found.begin(), found.end());
    return true;
  } catch (const Error&) {
    return false;
  }
}

}  // namespace lstore
