// The layout half of the one diagnosis (diagnose.hpp): findings that need no
// entry read. Rule ids and severities are those of validate_rules.cpp; each
// message says what LlamaIndex does with the store.
#include "ops/diagnose.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <optional>

#include "lstore/error.hpp"

#include "lstore/side_files.hpp"
#include "core/sniff.hpp"
#include "rule_table.hpp"

namespace lstore {
namespace {

std::string base_name(const std::string& name) { return name.substr(name.rfind('/') + 1); }

// A file LlamaIndex (or lstore's model of it) reads: a store file, whatever
// shape it is in, or a side file LlamaIndex writes (chat store, KV store).
bool is_llamaindex_file(const FileInfo& f) {
  switch (f.kind) {
    case FileKind::DocStore: case FileKind::IndexStore: case FileKind::VectorStore: case FileKind::GraphStore:
    case FileKind::PropertyGraph: case FileKind::KvStore: case FileKind::ChatStore: case FileKind::LegacySaveToDisk:
    case FileKind::Sqlite:
      return true;
    case FileKind::Faiss: case FileKind::LfsPointer: case FileKind::Empty: case FileKind::Broken:
      return is_store_file_name(base_name(f.name));
    default:
      return false;
  }
}

bool is_persist_file(const FileInfo& f) {
  return is_llamaindex_file(f) && f.kind != FileKind::ChatStore && f.kind != FileKind::KvStore;
}

// Why LlamaIndex cannot read a store file (a sentence that follows its
// name), or nullopt when the file is readable or not a store file.
std::optional<std::string> damage(const FileInfo& f) {
  if (f.kind == FileKind::LfsPointer)
    return fmt::format("is a {}: the real file was never checked out (run git lfs pull)", f.detail);
  if (!is_store_file_name(base_name(f.name))) return std::nullopt;
  switch (f.kind) {
    case FileKind::Broken: return fmt::format("does not parse, so LlamaIndex cannot load it: {}", f.detail);
    case FileKind::Empty:
      return fmt::format("is empty ({}): json.load fails on it, so LlamaIndex cannot load the store", f.detail);
    case FileKind::Faiss:
      return fmt::format("is a FAISS binary index ({}); LlamaIndex's JSON loader cannot read it, "
                         "pass vector_store=FaissVectorStore.from_persist_dir(...)",
                         f.detail.substr(f.detail.find(' ') + 1));
    case FileKind::ForeignJson: return fmt::format("is {}, not what LlamaIndex writes there", f.detail);
    default: return std::nullopt;
  }
}

RuleId damage_rule(FileKind kind) {
  switch (kind) {
    case FileKind::LfsPointer: return "lfs-pointer";
    case FileKind::Broken: return "parse-error";
    case FileKind::Empty: return "empty-file";
    case FileKind::Faiss: return "faiss-binary";
    default: return "bad-shape";
  }
}

class LayoutDiagnosis {
 public:
  LayoutDiagnosis(const Store& s, const LayoutFacts& f) : m_store(s), m_facts(f) {}

  std::vector<Finding> run() {
    std::string found;
    if (!holds_llamaindex_files(m_store, &found)) {
      add("not-a-store", "", fmt::format("not a LlamaIndex store ({})", found));
      return std::move(m_out);
    }
    files();
    if (!m_store.single_file) missing_files();
    indexes();
    vectors();
    return std::move(m_out);
  }

 private:
  void add(RuleId rule, const std::string& file, std::string message, std::string path = "") {
    m_out.push_back({rule.id(), rule.severity(), file, std::move(path), std::move(message)});
  }

  bool has_file(std::string_view name) const {
    return std::any_of(m_store.files.begin(), m_store.files.end(), [&](const FileInfo& f) { return f.name == name; });
  }

  void files() {
    for (const FileInfo& f : m_store.files) {
      if (auto why = damage(f)) {
        add(damage_rule(f.kind), f.name, f.name + " " + *why);
        continue;
      }
      switch (f.kind) {
        case FileKind::Broken: unread(f, fmt::format("cannot be read ({})", f.detail)); break;
        case FileKind::Empty: unread(f, "is empty"); break;
        case FileKind::Faiss: unread(f, "is a FAISS index (" + f.detail + ")"); break;
        case FileKind::LegacySaveToDisk:
          add("legacy-save-to-disk", f.name, fmt::format("{} is a {}; LlamaIndex 0.6 and later cannot load it", f.name, f.detail));
          break;
        case FileKind::ChatStore:
          if (f.bytes)
            for (const auto& [place, what] : check_chat_store(f.bytes->view(), f.name)) add("chat-store", f.name, what, place);
          break;
        case FileKind::ForeignJson: unread(f, "is " + f.detail); break;
        case FileKind::KvStore:
          if (f.detail.find("IngestionPipeline") != std::string::npos)
            add("unread-file", f.name, fmt::format("{} is an {}, not part of a StorageContext persist dir", f.name, f.detail));
          break;
        case FileKind::Pickle: unread(f, "is a Python pickle (kept as it is)"); break;
        case FileKind::Other: unread(f, f.detail.empty() ? "is not a store file" : "is " + f.detail); break;
        default: break;
      }
    }
  }

  // A file beside the store that StorageContext never opens: a note, never
  // an error (.gitkeep, notes.txt, PROVENANCE.json, ...).
  void unread(const FileInfo& f, const std::string& what) {
    add("unread-file", f.name, fmt::format("{} {}; LlamaIndex does not open it", f.name, what));
  }

  void missing_files() {
    // A chat store or KV file, maybe among notes, is not a persist dir missing its files.
    if (std::none_of(m_store.files.begin(), m_store.files.end(), is_persist_file)) return;
    const bool ts = m_store.dialect == Dialect::TypeScript;
    const char* docname = ts ? "doc_store.json" : "docstore.json";
    if (!m_store.docstore && !has_file("docstore.json") && !has_file("doc_store.json"))
      add("missing-docstore", docname, fmt::format("{} is missing; LlamaIndex's load fails with FileNotFoundError", docname));
    if (!m_store.index_store && !has_file("index_store.json"))
      add("missing-index-store", "index_store.json", "index_store.json is missing; LlamaIndex's load fails with FileNotFoundError");
    if (!ts && has_file("vector_store.json") && !has_file("default__vector_store.json")) {
      bool faiss = false;
      for (const FileInfo& f : m_store.files) faiss |= f.name == "vector_store.json" && f.kind == FileKind::Faiss;
      if (!faiss)
        add("legacy-vector-store-name", "vector_store.json",
            "vector_store.json is the legacy name; LlamaIndex 0.11.3 and later will not load it "
            "(renaming it default__vector_store.json makes it loadable again)");
    }
    bool vector_index = false;
    for (const IndexCount& i : m_facts.indexes) vector_index |= i.type == "vector_store" || i.type == "multimodal";
    bool vector_file = m_store.vector_store("default") != nullptr || has_file("vector_store.json");
    for (const FileInfo& f : m_store.files) vector_file |= f.kind == FileKind::Faiss || f.kind == FileKind::LfsPointer;
    if (vector_index && !vector_file && !ts)
      add("missing-vector-store", "default__vector_store.json",
          "no vector store file: LlamaIndex loads no vector store, so the vector index needs an "
          "external vector_store (or storage_context.vector_store raises KeyError 'default')");
  }

  void indexes() {
    if (!m_store.index_store) return;
    const std::string& file = m_store.index_store->name();
    if (m_facts.indexes.size() > 1)
      add("multiple-indexes", file,
          fmt::format("the index store holds {} indexes; load_index_from_storage needs an index_id to load one",
                      m_facts.indexes.size()));
    if (m_store.dialect == Dialect::Python)
      for (const IndexCount& i : m_facts.indexes)
        if (!index_type_loadable(i.type))
          add("unknown-index-type", file,
              fmt::format("index {} has struct type '{}', which LlamaIndex has no class for "
                          "(load_index_from_storage raises KeyError)", i.id, i.type));
    if (m_facts.full_checks_follow) return;  // validate names each dangling reference
    const Section* data = m_store.doc_collection(coll::kDocData);
    if (m_store.docstore && (!data || data->size() == 0))
      for (const IndexCount& i : m_facts.indexes)
        if (i.nodes > 0)
          add("index-dangling-node", file,
              fmt::format("index {} references {} node{} and the docstore holds none: retrieval raises", i.id, i.nodes, i.nodes == 1 ? "" : "s"));
  }

  void vectors() {
    for (const VectorStoreInfo& v : m_facts.vector_stores) {
      if (v.mixed_dims)
        add("mixed-dimensions", v.file, fmt::format("{} holds vectors of different dimensions: every query raises", v.file));
      if (v.legacy_doc_id_map)
        add("legacy-doc-id-map", v.file,
            fmt::format("{} uses text_id_to_doc_id (LlamaIndex <= 0.6.17); newer versions ignore it", v.file));
      else if (v.vectors > 0 && !v.has_metadata)
        add("metadata-dict-missing", v.file,
            fmt::format("{} has no metadata_dict: LlamaIndex refuses metadata-filtered queries on it", v.file));
    }
  }

  const Store& m_store;
  const LayoutFacts& m_facts;
  std::vector<Finding> m_out;
};

}  // namespace

bool holds_llamaindex_files(const Store& store, std::string* found) {
  if (std::any_of(store.files.begin(), store.files.end(), is_llamaindex_file) || store.docstore || store.index_store ||
      !store.vector_stores.empty())
    return true;
  if (found) {
    if (store.files.empty()) {
      *found = "nothing found: it is empty";
    } else {
      std::string names;
      for (std::size_t i = 0; i < store.files.size() && i < 5; ++i)
        names += (i ? ", " : "") + store.files[i].name + (store.files[i].detail.empty() ? "" : " (" + store.files[i].detail + ")");
      if (store.files.size() > 5) names += ", ...";
      *found = fmt::format("found {} file{} and no LlamaIndex file: {}", store.files.size(),
                           store.files.size() == 1 ? "" : "s", names);
    }
  }
  return false;
}

std::vector<DamagedFile> damaged_store_files(const Store& store) {
  std::vector<DamagedFile> out;
  for (const FileInfo& f : store.files)
    if (auto why = damage(f)) out.push_back({&f, *why});
  return out;
}

void require_undamaged(const Store& store, std::string_view name) {
  for (const DamagedFile& d : damaged_store_files(store))
    if (d.file->name == name)
      throw Error(ErrorKind::Data, store.location + "/" + d.file->name, d.why);
}

std::vector<Finding> diagnose_layout(const Store& store, const LayoutFacts& facts) {
  return LayoutDiagnosis(store, facts).run();
}

}  // namespace lstore
