// validate's FAISS rules (spec/VECTOR_STORES.md §2): a FAISS namespace's rows
// against the nodes_dict that is the only way from a row to a node, and the
// two pitfalls LlamaIndex itself falls into (empty IndexFlatL2, multimodal).
#include <fmt/format.h>

#include <set>

#include "lstore/error.hpp"
#include "lstore/faiss.hpp"
#include "lstore/model.hpp"
#include "lstore/validate.hpp"
#include "rule_table.hpp"

namespace lstore {

std::vector<Finding> check_faiss_namespaces(const Store& store) {
  std::vector<Finding> out;
  auto add = [&](RuleId rule, const std::string& file, const std::string& path, std::string msg) {
    out.push_back({rule.id(), rule.severity(), file, path, std::move(msg)});
  };
  std::vector<std::string> namespaces = faiss_namespaces(store);
  if (namespaces.empty()) return out;
  if (!faiss_compiled_in()) {
    for (const std::string& ns : namespaces)
      add("faiss-unchecked", faiss_namespace_file(store, ns)->name, "",
          "lstore was built without FAISS: the index's rows were not checked");
    return out;
  }
  std::vector<IndexStruct> structs;
  try {
    structs = read_index_structs(store);
  } catch (const Error&) {
    // bad-index-data reports it
  }
  for (const IndexStruct& s : structs)
    if (s.type == "multimodal")
      add("faiss-multimodal", faiss_namespace_file(store, namespaces.front())->name, "index_store/data." + s.id,
          fmt::format("multimodal index {} over FAISS: its one nodes_dict is keyed by row number, so the text and image "
                      "namespaces' rows collide and nodes become unreachable",
                      s.id));
  if (namespaces.size() > 1)
    add("faiss-multimodal", faiss_namespace_file(store, namespaces[1])->name, "",
        fmt::format("{} FAISS namespaces share one index store: their row numbers collide in nodes_dict", namespaces.size()));

  const Section* data = store.doc_collection(coll::kDocData);
  for (const std::string& ns : namespaces) {
    const FileInfo* file = faiss_namespace_file(store, ns);
    std::optional<FaissNamespace> f;
    try {
      f.emplace(open_faiss_namespace(store, ns));
    } catch (const Error& e) {
      add("faiss-unreadable", file->name, e.place(), fmt::format("{}: {}", file->name, e.what()));
      continue;
    }
    const FaissIndexInfo& info = f->info();
    std::vector<std::int64_t> labels = f->labels();
    std::set<std::int64_t> rows(labels.begin(), labels.end());
    std::size_t unmapped = 0, beyond = 0, nodeless = 0;
    std::string first_unmapped, first_beyond, first_nodeless;
    for (std::int64_t label : labels)
      if (!f->node_of(label) && !unmapped++) first_unmapped = std::to_string(label);
    for (const auto& [key, node] : f->nodes_dict) {
      const std::int64_t label = faiss_label_of_key(key);
      if (!rows.count(label) && !beyond++) first_beyond = key;
      if (data && !data->find(node) && !nodeless++) first_nodeless = node;
    }
    const std::string where = "index_store/data." + f->index_id + ".nodes_dict";
    if (unmapped || beyond)
      add("faiss-rows", file->name, where,
          fmt::format("{} {} holds {} rows, nodes_dict maps {}: {} row{} without a node (first {}; the retriever raises "
                      "KeyError when it returns one), {} key{} without a row (first {})",
                      file->name, info.type, info.ntotal, f->nodes_dict.size(), unmapped, unmapped == 1 ? "" : "s",
                      unmapped ? first_unmapped : "-", beyond, beyond == 1 ? "" : "s", beyond ? first_beyond : "-"));
    if (nodeless)
      add("faiss-rows", "docstore.json", where,
          fmt::format("{} node{} of nodes_dict not in the docstore (first {}): the retriever cannot return them",
                      nodeless, nodeless == 1 ? "" : "s", first_nodeless));
    if (info.ntotal == 0 && info.metric == FaissMetric::L2 && info.type == "IndexFlatL2")
      add("faiss-empty-l2", file->name, "",
          fmt::format("{} is an empty IndexFlatL2: FAISS 1.7.3 answers a top-1 query with row 0 (distance inf), and the "
                      "retriever raises KeyError: '0'",
                      file->name));
  }
  return out;
}

}  // namespace lstore
