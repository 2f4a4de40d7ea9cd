// The rules of lstore validate as one table: id, default severity, group,
// what LlamaIndex does with a store that breaks it, how to fix it, and a
// fixture that breaks it. Every finding names its rule through RuleId, whose
// constructor runs at compile time: a rule id not in this table does not
// compile. man/lstore-validate.1 and `validate --list-rules` are generated
// from the table (python3 man/update-validate-rules.py build/lstore rewrites
// the man page; tests/test_rule_fixtures.py checks it matches).
#pragma once

#include <cstddef>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>

#include "lstore/validate.hpp"

namespace lstore {

// A rule and its fixture: a store lstore validate reports the rule on, as a
// path from the repository root (testdata/rules/ holds one per rule that has
// no other; testdata/rules/make_fixtures.py writes them) or "corpus:" and a
// path in the shared corpus; or "none: " and why no store can be kept.
// tests/test_rule_fixtures.py runs lstore validate on every one.
struct RuleRow {
  constexpr RuleRow(const char* id, Severity severity, const char* group, const char* summary, const char* hint,
                    const char* fixture_)
      : rule{id, severity, group, summary, hint}, fixture(fixture_) {}
  Rule rule;
  const char* fixture;
};

inline constexpr RuleRow kRules[] = {
      // Severity is what LlamaIndex does with the store: it fails to load it or
      // to retrieve from it (error), ignores or degrades something (warning),
      // or nothing it does changes (note). Each summary says which.
      {"unreadable-store", Severity::Error, "structure", "the store cannot be opened or read at all (no such path, no permission, server unreachable)",
       "check the path or URI; the message says what failed",
       "testdata/rules/no-such-store"},
      {"not-a-store", Severity::Error, "structure", "no LlamaIndex file at all (StorageContext.from_defaults raises FileNotFoundError)",
       "point lstore at the persist dir (the folder holding docstore.json)",
       "testdata/rules/not-a-store"},
      {"unread-file", Severity::Info, "structure", "a file StorageContext never opens (notes, .gitkeep, caches, pickles): ignored",
       "nothing to do; lstore keeps it as it is",
       "testdata/rules/unread-file"},
      // structure: every file parses and has the shape of its era and dialect
      {"parse-error", Severity::Error, "structure", "a store file is not valid JSON (truncated by a crash during persist, edited by hand)",
       "lstore repair salvages it to its last complete entry (--backup keeps the file as it was), or restore it from a backup; "
       "the message gives the byte offset and how many records are complete",
       "testdata/rules/parse-error"},
      {"empty-file", Severity::Error, "structure", "a store file is empty", "persist again, or restore the file",
       "testdata/rules/empty-file"},
      {"lfs-pointer", Severity::Error, "structure", "a Git LFS pointer instead of the real file", "run git lfs pull",
       "testdata/rules/lfs-pointer"},
      {"bad-shape", Severity::Error, "structure", "a value does not have the type its place requires (lstore-formats(5))",
       "fix or remove the entry named in the message",
       "testdata/rules/bad-shape"},
      {"unknown-type-code", Severity::Error, "structure", "a docstore __type__ code LlamaIndex does not know",
       "the node cannot be loaded; remove it or give it a known type",
       "testdata/rules/unknown-type-code"},
      {"bad-index-data", Severity::Error, "structure", "an index struct whose __data__ does not decode",
       "restore index_store.json, or rebuild the index",
       "testdata/rules/bad-index-data"},
      // loading: will LlamaIndex load it
      {"missing-docstore", Severity::Error, "loading", "no docstore.json (StorageContext.from_defaults raises FileNotFoundError)",
       "restore it, or persist the storage context again",
       "testdata/rules/missing-docstore"},
      {"missing-index-store", Severity::Error, "loading", "no index_store.json (StorageContext.from_defaults raises FileNotFoundError)",
       "restore it, or persist the storage context again",
       "testdata/rules/missing-index-store"},
      {"missing-vector-store", Severity::Warning, "loading", "a vector index without a vector store file (vectors kept elsewhere, or lost)",
       "pass the external vector_store when loading, or restore default__vector_store.json",
       "testdata/rules/missing-vector-store"},
      {"legacy-vector-store-name", Severity::Warning, "loading", "only the bare vector_store.json: LlamaIndex 0.11.3 and later do not load it",
       "rename it default__vector_store.json",
       "testdata/legacy-0.6"},
      {"faiss-binary", Severity::Warning, "loading", "a FAISS binary index under a *vector_store.json name: the JSON loader fails on it",
       "load it with FaissVectorStore.from_persist_dir(...)",
       "corpus:backends/faiss/vector/persist"},
      {"faiss-unreadable", Severity::Error, "loading", "libfaiss cannot read a FAISS index (truncated, corrupt): faiss.read_index raises",
       "restore the file, or rebuild the index",
       "testdata/rules/faiss-unreadable"},
      {"faiss-rows", Severity::Error, "integrity", "a FAISS index's rows and its index's nodes_dict (row number -> node id) disagree, or name nodes the docstore lacks: the retriever raises KeyError",
       "rebuild the FAISS index from the nodes (lstore convert --vectors simple, then --vectors faiss)",
       "testdata/rules/faiss-rows"},
      {"faiss-empty-l2", Severity::Warning, "integrity", "an empty IndexFlatL2: FAISS 1.7.3 answers top-1 with row 0 and the retriever raises KeyError: '0'",
       "add nodes before querying, or use IndexFlatIP",
       "corpus:backends/faiss/empty/persist"},
      {"faiss-multimodal", Severity::Error, "integrity", "a multimodal index or two namespaces over FAISS: one nodes_dict keyed by row number cannot serve both, rows collide",
       "migrate only the text namespace to FAISS (lstore convert --vectors faiss does)",
       "testdata/rules/faiss-multimodal"},
      {"faiss-unchecked", Severity::Info, "loading", "lstore was built without FAISS: a FAISS index's rows were not checked",
       "build lstore with libfaiss-dev (LSTORE_WITH_FAISS=ON)",
       "none: only a build without libfaiss (LSTORE_WITH_FAISS=OFF) reports it; there testdata/rules/faiss-rows does"},
      {"legacy-save-to-disk", Severity::Error, "loading", "a gpt_index 0.5 save_to_disk() file: LlamaIndex 0.6+ cannot load it",
       "rebuild the index with a current LlamaIndex",
       "corpus:wild/run-llama__llama_index__examples-vector_indices"},
      {"legacy-doc-id-map", Severity::Warning, "loading", "text_id_to_doc_id (LlamaIndex <= 0.6.17): newer versions ignore it, so delete_ref_doc leaves the vectors",
       "lstore convert --upgrade writes text_id_to_ref_doc_id",
       "testdata/legacy-0.6"},
      {"multiple-indexes", Severity::Info, "loading", "several index structs: load_index_from_storage needs an index_id",
       "pass index_id=... when loading",
       "testdata/rules/multiple-indexes"},
      {"unknown-index-type", Severity::Error, "loading", "an index struct type LlamaIndex has no class for (KeyError on load)",
       "rebuild the index with a current LlamaIndex",
       "testdata/rules/unknown-index-type"},
      {"document-without-class-name", Severity::Error, "loading", "a Document (type \"4\") without class_name: LlamaIndex 0.10+ raises KeyError when it reads it (json_to_doc)",
       "lstore convert --upgrade adds it",
       "corpus:wild/ZhangWei88__chatgpt__storage"},
      {"unreadable-node-type", Severity::Error, "loading", "a node of type \"5\" (multimodal Node): LlamaIndex 0.12.35 cannot read it back (json_to_doc: ValueError Unknown doc type)",
       "upgrade LlamaIndex, or store the node as a TextNode",
       "testdata/rules/unreadable-node-type"},
      // integrity: the parts of the store agree (FORMAT.md §3-§5)
      {"node-without-metadata", Severity::Warning, "integrity", "a docstore node without its docstore/metadata entry: it loads and retrieves, but has no hash and no ref doc (delete_ref_doc and refresh miss it)",
       "re-add the node (lstore put) or delete it",
       "testdata/rules/node-without-metadata"},
      {"ref-doc-mismatch", Severity::Warning, "integrity", "a node's ref doc differs between its SOURCE relationship, its metadata entry and ref_doc_info: retrieval works, delete_ref_doc misses it",
       "re-add the node (lstore put), or delete its ref doc and insert it again",
       "testdata/rules/ref-doc-mismatch"},
      {"ref-doc-dangling-node", Severity::Warning, "integrity", "ref_doc_info lists a node the docstore does not have (an orphan left by a delete): delete_ref_doc skips it",
       "lstore delete --ref-doc ID removes the whole document cleanly",
       "testdata/rules/ref-doc-dangling-node"},
      {"ref-doc-duplicate-ids", Severity::Info, "integrity", "ref_doc_info lists a node twice (LlamaIndex 0.10 and TS write this): delete_ref_doc deletes it once and skips the repeat",
       "harmless for loading; delete_ref_doc still works",
       "testdata/rules/ref-doc-duplicate-ids"},
      {"index-dangling-node", Severity::Error, "integrity", "an index struct references a node the docstore does not have: retrieval raises",
       "lstore delete --node ID, or re-add the node",
       "testdata/rules/index-dangling-node"},
      {"node-not-indexed", Severity::Warning, "integrity", "a docstore node no index references (an incomplete delete leaves these)",
       "lstore delete --node ID, or add it to an index",
       "corpus:llamaindex-ts/vector-deleted-ref-doc"},
      {"vector-without-node", Severity::Error, "integrity", "a vector whose node is not in the docstore: a query that ranks it raises (docstore.get_nodes: ValueError)",
       "delete the vector's ref doc, or re-add the node",
       "testdata/rules/vector-without-node"},
      {"vector-not-indexed", Severity::Error, "integrity", "a vector in no index's nodes_dict: VectorIndexRetriever raises KeyError as soon as it ranks it",
       "delete it, or re-add the node to its index",
       "testdata/rules/vector-not-indexed"},
      {"vector-ref-doc-mismatch", Severity::Warning, "integrity", "text_id_to_ref_doc_id disagrees with the node's ref doc: retrieval works, delete_ref_doc misses the vector",
       "re-add the node (lstore put)",
       "testdata/rules/vector-ref-doc-mismatch"},
      {"metadata-dict-missing", Severity::Warning, "integrity", "vectors without metadata_dict: LlamaIndex refuses metadata-filtered queries",
       "re-insert the nodes with a LlamaIndex >= 0.8.29",
       "testdata/rules/metadata-dict-missing"},
      {"metadata-dict-mismatch", Severity::Warning, "integrity", "a metadata_dict entry is not the node's metadata plus LlamaIndex's four keys",
       "filters see different metadata than the node has; re-add the node",
       "testdata/rules/metadata-dict-mismatch"},
      {"chat-store", Severity::Error, "integrity", "a chat store message LlamaIndex cannot validate (role, blocks, additional_kwargs)",
       "fix the message named in the message, or delete it (lstore delete --chat KEY --message N)",
       "testdata/rules/chat-store"},
      {"graph-shape", Severity::Error, "integrity", "graph_store.json or property_graph_store.json has a malformed triplet or relation",
       "fix or remove the entry named in the message",
       "testdata/rules/graph-shape"},
      // quality: silent damage
      {"mixed-dimensions", Severity::Error, "quality", "vectors of different dimensions in one namespace: every query raises",
       "re-embed with one model",
       "testdata/rules/mixed-dimensions"},
      {"non-finite-vector", Severity::Warning, "quality", "a vector holding NaN or Infinity: its similarity is NaN, so it ranks anywhere (no error)",
       "re-embed the node",
       "testdata/rules/non-finite-vector"},
      {"zero-vector", Severity::Warning, "quality", "an all-zero vector: its cosine similarity is NaN", "re-embed the node",
       "testdata/rules/zero-vector"},
      {"duplicate-node", Severity::Warning, "quality", "two nodes with the same hash (the same text and metadata)",
       "delete one of them, or use docstore de-duplication when ingesting",
       "testdata/rules/duplicate-node"},
      {"hash-mismatch", Severity::Warning, "quality", "a node's stored hash is not the hash of its content (as this era computes it)",
       "refresh_ref_docs will treat it as changed; re-add the node to fix the hash",
       "testdata/pretty"},
};

// A rule id checked against kRules when the program is compiled.
class RuleId {
 public:
  consteval RuleId(const char* id) : m_index(index_of(id)) {}  // NOLINT: implicit on purpose
  const Rule& rule() const { return kRules[m_index].rule; }
  const char* id() const { return kRules[m_index].rule.id; }
  Severity severity() const { return kRules[m_index].rule.severity; }

 private:
  static consteval std::size_t index_of(std::string_view id) {
    for (std::size_t i = 0; i < std::size(kRules); ++i)
      if (id == kRules[i].rule.id) return i;
    throw "not a rule id of kRules (src/ops/rule_table.hpp)";  // a compile error, never thrown at run time
  }
  std::size_t m_index;
};

// A finding of `rule`, with the rule's severity.
inline Finding make_finding(RuleId rule, std::string file, std::string path, std::string message) {
  return {rule.id(), rule.severity(), std::move(file), std::move(path), std::move(message)};
}

}  // namespace lstore
