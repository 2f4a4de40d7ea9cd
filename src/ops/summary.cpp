// The store summary and its diagnoses (issue: "ls also diagnoses what users
// trip over"). Each diagnosis names the file and says what LlamaIndex would do.
#include "lstore/summary.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace lstore {
namespace {

bool has_file(const Store& s, std::string_view name) {
  for (const FileInfo& f : s.files)
    if (f.name == name) return true;
  return false;
}

void diagnose_files(const Store& store, Summary& out) {
  auto add = [&](Severity sev, const std::string& file, std::string msg) {
    out.problems.push_back({sev, file, std::move(msg)});
  };
  const bool ts = store.dialect == Dialect::TypeScript;
  bool any_store_file = false;
  for (const FileInfo& f : store.files) {
    switch (f.kind) {
      case FileKind::Faiss:
        add(Severity::Warning, f.name,
            fmt::format("{} is a FAISS binary index ({}); LlamaIndex's JSON loader cannot read it, "
                        "pass vector_store=FaissVectorStore.from_persist_dir(...)",
                        f.name, f.detail.substr(f.detail.find(' ') + 1)));
        any_store_file = true;
        break;
      case FileKind::LfsPointer:
        add(Severity::Error, f.name,
            fmt::format("{} is a {}: the real file was never checked out (run git lfs pull)", f.name, f.detail));
        break;
      case FileKind::Empty:
        add(Severity::Error, f.name, fmt::format("{} is empty ({}); LlamaIndex cannot load it", f.name, f.detail));
        break;
      case FileKind::LegacySaveToDisk:
        add(Severity::Error, f.name,
            fmt::format("{} is a {}; LlamaIndex 0.6 and later cannot load it", f.name, f.detail));
        break;
      case FileKind::Broken:
        add(Severity::Error, f.name, fmt::format("{} does not parse: {}", f.name, f.detail));
        break;
      case FileKind::ForeignJson:
        if (f.name != "PROVENANCE.json")
          add(Severity::Info, f.name, fmt::format("{} is not a LlamaIndex store file ({})", f.name, f.detail));
        break;
      case FileKind::KvStore:
        if (f.detail.find("IngestionPipeline") != std::string::npos)
          add(Severity::Info, f.name, fmt::format("{} is an {}, not part of a StorageContext persist dir", f.name, f.detail));
        break;
      case FileKind::Pickle:
        add(Severity::Info, f.name, fmt::format("{} is a Python pickle (kept as it is)", f.name));
        break;
      case FileKind::DocStore: case FileKind::IndexStore: case FileKind::VectorStore:
      case FileKind::GraphStore: case FileKind::PropertyGraph:
        any_store_file = true;
        break;
      default: break;
    }
  }
  if (!any_store_file && store.files.empty()) add(Severity::Error, "", "the directory is empty");
  // A chat store or KV file given on its own is not a persist dir missing its files.
  bool side_only = !any_store_file && !store.files.empty() &&
                   std::all_of(store.files.begin(), store.files.end(), [](const FileInfo& f) {
                     return f.kind == FileKind::ChatStore || f.kind == FileKind::KvStore;
                   });
  if (side_only) return;
  const char* docname = ts ? "doc_store.json" : "docstore.json";
  if (!store.docstore && !has_file(store, docname) && !has_file(store, "docstore.json"))
    add(Severity::Error, docname,
        fmt::format("{} is missing; LlamaIndex's load fails with FileNotFoundError", docname));
  if (!store.index_store && !has_file(store, "index_store.json"))
    add(Severity::Error, "index_store.json", "index_store.json is missing; LlamaIndex's load fails with FileNotFoundError");
}

void diagnose_vectors(const Store& store, Summary& out) {
  if (store.dialect == Dialect::TypeScript) return;
  bool bare = has_file(store, "vector_store.json");
  bool namespaced = has_file(store, "default__vector_store.json");
  if (bare && !namespaced)
    out.problems.push_back({Severity::Warning, "vector_store.json",
                            "vector_store.json is the legacy name; LlamaIndex 0.11.3 and later will not load it "
                            "(renaming it default__vector_store.json makes it loadable again)"});
  bool vector_index = false;
  for (const auto& i : out.indexes)
    if (i.type == "vector_store" || i.type == "multimodal") vector_index = true;
  if (vector_index && !bare && !namespaced && !has_file(store, "default__vector_store.json"))
    out.problems.push_back({Severity::Warning, "default__vector_store.json",
                            "no vector store file: LlamaIndex loads no vector store, so the vector index needs an "
                            "external vector_store (or storage_context.vector_store raises KeyError 'default')"});
  for (const auto& v : out.vector_stores) {
    if (v.mixed_dims)
      out.problems.push_back({Severity::Error, v.file, fmt::format("{} holds vectors of different dimensions", v.file)});
    if (v.legacy_doc_id_map)
      out.problems.push_back({Severity::Warning, v.file,
                              fmt::format("{} uses text_id_to_doc_id (LlamaIndex <= 0.6.17); newer versions ignore it", v.file)});
    else if (v.vectors > 0 && !v.has_metadata)
      out.problems.push_back({Severity::Warning, v.file,
                              fmt::format("{} has no metadata_dict: LlamaIndex refuses metadata-filtered queries on it", v.file)});
  }
}

void diagnose_indexes(const Store& store, Summary& out) {
  if (out.indexes.size() > 1)
    out.problems.push_back({Severity::Info, "index_store.json",
                            fmt::format("the index store holds {} indexes; LlamaIndex needs an index_id to load one",
                                        out.indexes.size())});
  if (store.dialect == Dialect::Python)
    for (const auto& i : out.indexes)
      if (!index_type_loadable(i.type))
        out.problems.push_back({Severity::Error, "index_store.json",
                                fmt::format("index {} has struct type '{}', which LlamaIndex has no class for "
                                            "(load_index_from_storage raises KeyError)", i.id, i.type)});
  if (store.docstore && out.nodes == 0) {
    bool needs_nodes = false;
    for (const auto& i : out.indexes) needs_nodes |= i.nodes > 0;
    out.problems.push_back({needs_nodes ? Severity::Warning : Severity::Info, store.docstore->name(),
                            needs_nodes ? "docstore is empty, but the indexes reference nodes"
                                        : "docstore is empty"});
  }
}

}  // namespace

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
  s.problems = store.problems;
  diagnose_files(store, s);
  diagnose_indexes(store, s);
  diagnose_vectors(store, s);
  return s;
}

}  // namespace lstore
