// Dialect conversion (src/ops/dialect*.cpp): a small Python store converted
// to LlamaIndex.TS's files and back, byte for byte, and every corpus store
// taken to the other dialect and back meaning the same.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "corpus.hpp"
#include "temp_dir.hpp"
#include "lstore/backend.hpp"
#include "lstore/dialect.hpp"
#include "lstore/diff.hpp"

using namespace lstore;
namespace fs = std::filesystem;

namespace {

void put(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary) << bytes;
}

Store load(const fs::path& p) { return make_directory_backend(p.string())->load(); }

// `store` written to `dir`; its files' bytes by name.
std::map<std::string, std::string> saved(const Store& store, const fs::path& dir) {
  make_directory_backend(dir.string())->save(store, {});
  std::map<std::string, std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_regular_file()) out[e.path().filename().string()] = corpus::slurp(e.path());
  return out;
}

// One TextNode of one document in a VectorStoreIndex, as LlamaIndex 0.12
// persists it (the node's hash is sha256("hello" + str({'k': 'v'}))).
const std::string kPyDocstore =
    R"json({"docstore/data": {"n1": {"__data__": {"id_": "n1", "embedding": null, "metadata": {"k": "v"}, "excluded_embed_metadata_keys": [], "excluded_llm_metadata_keys": [], "relationships": {"1": {"node_id": "d1", "node_type": "4", "metadata": {"k": "v"}, "hash": "h", "class_name": "RelatedNodeInfo"}}, "metadata_template": "{key}: {value}", "metadata_separator": "\n", "text": "hello", "mimetype": "text/plain", "start_char_idx": 0, "end_char_idx": 5, "metadata_seperator": "\n", "text_template": "{metadata_str}\n\n{content}", "class_name": "TextNode"}, "__type__": "1"}}, "docstore/metadata": {"n1": {"doc_hash": "d7577d6b4da83b6de7b543a760a21693130d5aee1bbaa98fa3ab5793b0c8c80d", "ref_doc_id": "d1"}, "d1": {"doc_hash": "h"}}, "docstore/ref_doc_info": {"d1": {"node_ids": ["n1"], "metadata": {"k": "v"}}}})json";
const std::string kPyIndexStore =
    R"json({"index_store/data": {"i1": {"__type__": "vector_store", "__data__": "{\"index_id\": \"i1\", \"summary\": null, \"nodes_dict\": {\"n1\": \"n1\"}, \"doc_id_dict\": {}, \"embeddings_dict\": {}}"}}})json";
const std::string kPyVectors =
    R"json({"embedding_dict": {"n1": [0.5, -0.25, 1e-07]}, "text_id_to_ref_doc_id": {"n1": "d1"}, "metadata_dict": {"n1": {"k": "v", "_node_type": "TextNode", "document_id": "d1", "doc_id": "d1", "ref_doc_id": "d1"}}})json";

// What LlamaIndex.TS persists for it: __data__ a JSON string, camelCase
// fields, "SOURCE" for relationship 1, the hash base64 of TS's own SHA-256
// of the node, numbers as JSON.stringify writes them (1e-7).
const std::string kTsDocstore =
    R"json({"docstore/data":{"n1":{"__data__":"{\"id_\":\"n1\",\"metadata\":{\"k\":\"v\"},\"excludedEmbedMetadataKeys\":[],\"excludedLlmMetadataKeys\":[],\"relationships\":{\"SOURCE\":{\"nodeId\":\"d1\",\"metadata\":{\"k\":\"v\"},\"hash\":\"h\"}},\"text\":\"hello\",\"textTemplate\":\"\",\"startCharIdx\":0,\"endCharIdx\":5,\"metadataSeparator\":\"\\n\",\"type\":\"TEXT\",\"hash\":\"UocUzcpm1O6uJKNYE5KP3BzgRVl5jxiETwMsg/Qr6jE=\"}","__type__":"TEXT"}},"docstore/metadata":{"n1":{"docHash":"UocUzcpm1O6uJKNYE5KP3BzgRVl5jxiETwMsg/Qr6jE=","refDocId":"d1"},"d1":{"docHash":"h"}},"docstore/ref_doc_info":{"d1":{"nodeIds":["n1"],"extraInfo":{}}}})json";
const std::string kTsIndexStore =
    R"json({"docstore/data":{"i1":{"indexId":"i1","nodesDict":{"n1":{"id_":"n1","metadata":{"k":"v"},"excludedEmbedMetadataKeys":[],"excludedLlmMetadataKeys":[],"relationships":{"SOURCE":{"nodeId":"d1","metadata":{"k":"v"},"hash":"h"}},"text":"hello","textTemplate":"","startCharIdx":0,"endCharIdx":5,"metadataSeparator":"\n","type":"TEXT","hash":"UocUzcpm1O6uJKNYE5KP3BzgRVl5jxiETwMsg/Qr6jE="}},"type":"simple_dict"}}})json";
const std::string kTsVectors =
    R"json({"embeddingDict":{"n1":[0.5,-0.25,1e-7]},"textIdToRefDocId":{"n1":"d1"},"metadataDict":{"n1":{"k":"v","_node_type":"TextNode","document_id":"d1","doc_id":"d1","ref_doc_id":"d1"}}})json";

}  // namespace

TEST_CASE("dialect: a Python store to TypeScript, exact bytes, and back to the same bytes") {
  TempDir py("dialect-py"), ts("dialect-ts"), back("dialect-back");
  put(py.path / "docstore.json", kPyDocstore);
  put(py.path / "index_store.json", kPyIndexStore);
  put(py.path / "default__vector_store.json", kPyVectors);

  std::vector<std::string> notes;
  Store as_ts = convert_dialect(load(py.path), Dialect::TypeScript, notes);
  CHECK(notes.empty());
  CHECK(as_ts.dialect == Dialect::TypeScript);
  auto ts_files = saved(as_ts, ts.path);
  CHECK(ts_files.size() == 3);
  CHECK(ts_files["doc_store.json"] == kTsDocstore);
  CHECK(ts_files["index_store.json"] == kTsIndexStore);
  CHECK(ts_files["vector_store.json"] == kTsVectors);

  Store as_py = convert_dialect(load(ts.path), Dialect::Python, notes);
  CHECK(notes.empty());
  auto py_files = saved(as_py, back.path);
  CHECK(py_files["docstore.json"] == kPyDocstore);
  CHECK(py_files["index_store.json"] == kPyIndexStore);
  CHECK(py_files["default__vector_store.json"] == kPyVectors);
  // What StorageContext.persist writes beside them.
  CHECK(py_files["graph_store.json"] == R"json({"graph_dict": {}})json");
  CHECK(py_files["image__vector_store.json"] == R"json({"embedding_dict": {}, "text_id_to_ref_doc_id": {}, "metadata_dict": {}})json");
}

TEST_CASE("dialect: an embedding's numbers as the target prints them") {
  TempDir py("dialect-numbers"), ts("dialect-numbers-ts");
  put(py.path / "docstore.json", kPyDocstore);
  put(py.path / "index_store.json", kPyIndexStore);
  // Ints are float(int) for Python; 1e-05 and 1e+16 are JavaScript's 0.00001 and 10000000000000000.
  put(py.path / "default__vector_store.json",
      R"json({"embedding_dict": {"n1": [1, -0, 1e-05, 1e+16, 0.1]}, "text_id_to_ref_doc_id": {"n1": "d1"}, "metadata_dict": {"n1": {"k": "v", "_node_type": "TextNode", "document_id": "d1", "doc_id": "d1", "ref_doc_id": "d1"}}})json");
  std::vector<std::string> notes;
  auto files = saved(convert_dialect(load(py.path), Dialect::TypeScript, notes), ts.path);
  CHECK(files["vector_store.json"].starts_with(R"json({"embeddingDict":{"n1":[1,0,0.00001,10000000000000000,0.1]})json"));
}

TEST_CASE("dialect: corpus stores to the other dialect and back mean the same") {
  if (!corpus::available()) {
    MESSAGE("SKIPPED: no corpus at " << corpus::root());
    return;
  }
  // Not here: llamaindex-ts/multi-index (its keyword_table index does not
  // come back from Python) and llamaindex-ts/unicode-metadata (its nodes'
  // hashes change on the way): convert's known losses, not pinned here.
  std::vector<fs::path> stores;
  for (const char* c : {"vector-basic", "vector-deleted-ref-doc"})
    stores.push_back(corpus::root() / "llamaindex-ts" / c);
  for (const char* c : {"vector", "multi", "empty", "nan", "image", "inserted", "deleted"})
    stores.push_back(corpus::root() / "llamaindex-0.12" / c / "persist");
  int n = 0;
  for (const fs::path& src : stores) {
    if (!fs::is_directory(src)) continue;
    CAPTURE(src.string());
    Store original = load(src);
    const Dialect other = original.dialect == Dialect::Python ? Dialect::TypeScript : Dialect::Python;
    TempDir there("dialect-there-" + std::to_string(n)), back("dialect-back-" + std::to_string(n));
    ++n;
    std::vector<std::string> notes;
    saved(convert_dialect(original, other, notes), there.path);
    Store returned = convert_dialect(load(there.path), original.dialect, notes);
    saved(returned, back.path);
    StoreDiff d = diff_stores(original, load(back.path), DiffOptions{});
    CHECK_MESSAGE(d.equal(), src.string() << " changed on the way there and back");
  }
  CHECK(n >= 7);
  // The TS stores LlamaIndex.TS wrote come back byte for byte.
  for (const char* c : {"vector-basic", "vector-deleted-ref-doc"}) {
    const fs::path src = corpus::root() / "llamaindex-ts" / c;
    TempDir there(std::string("dialect-exact-py-") + c), back(std::string("dialect-exact-ts-") + c);
    std::vector<std::string> notes;
    saved(convert_dialect(load(src), Dialect::Python, notes), there.path);
    auto files = saved(convert_dialect(load(there.path), Dialect::TypeScript, notes), back.path);
    for (const auto& [name, bytes] : files) CHECK_MESSAGE(bytes == corpus::slurp(src / name), c << "/" << name);
  }
}
