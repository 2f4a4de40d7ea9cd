// Decoding records across eras and dialects, and the directory backend on the
// project's own fixtures (testdata/).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "corpus.hpp"
#include "lstore/backend.hpp"
#include "lstore/error.hpp"
#include "lstore/model.hpp"
#include "core/sniff.hpp"
#include "lstore/summary.hpp"

using namespace lstore;
namespace fs = std::filesystem;
using corpus::slurp;

namespace {

JsonDoc doc_of(const std::string& name, const std::string& text, JsonDialect d = JsonDialect::Python) {
  return JsonDoc::read(name, Buffer::own(text), d);
}

Store load(const char* fixture) {
  return make_directory_backend((fs::path(LSTORE_SOURCE_DIR) / "testdata" / fixture).string())->load();
}

}  // namespace

TEST_CASE("decode_node: 0.12 Python, 0.6 legacy, TS and gpt_index 0.5 shapes") {
  JsonDoc py = doc_of("docstore.json",
                      R"({"docstore/data": {"N1": {"__data__": {"id_": "N1", "metadata": {"k": 1}, "relationships": {"1": {"node_id": "D1", "node_type": "4"}}, "text": "Hello", "class_name": "TextNode"}, "__type__": "1"}}})");
  Node n = decode_node(py, py.section("docstore/data")->entries[0]);
  CHECK(n.id == "N1");
  CHECK(n.class_name == "TextNode");
  CHECK(n.text == "Hello");
  CHECK(n.ref_doc_id == "D1");
  CHECK(n.metadata.find("k")->as_int() == 1);

  JsonDoc legacy = doc_of("docstore.json",
                          R"({"docstore/data": {"n1": {"__data__": {"text": "t", "doc_id": "n1", "extra_info": {"a": "b"}, "doc_hash": "h", "relationships": {"1": "d1"}}, "__type__": "1"}}})");
  n = decode_node(legacy, legacy.section("docstore/data")->entries[0]);
  CHECK(n.ref_doc_id == "d1");
  CHECK(n.metadata.find("a")->as_string() == "b");
  CHECK(n.hash == "h");

  JsonDoc ts = doc_of("doc_store.json",
                      R"({"docstore/data":{"x":{"__data__":"{\"id_\":\"x\",\"text\":\"hi\",\"relationships\":{\"SOURCE\":{\"nodeId\":\"d\"}},\"type\":\"TEXT\",\"hash\":\"b64=\"}","__type__":"TEXT"}}})",
                      JsonDialect::JavaScript);
  n = decode_node(ts, ts.section("docstore/data")->entries[0]);
  CHECK(n.class_name == "TextNode");
  CHECK(n.ref_doc_id == "d");
  CHECK(n.hash == "b64=");

  JsonDoc multimodal = doc_of("docstore.json",
                              R"({"docstore/data": {"m": {"__data__": {"id_": "m", "text_resource": {"text": "hi"}, "class_name": "Node"}, "__type__": "5"}}})");
  CHECK(decode_node(multimodal, multimodal.section("docstore/data")->entries[0]).text == "hi");
}

TEST_CASE("decode_node refuses what is not a node, naming file and key path") {
  JsonDoc bad = doc_of("docstore.json", R"({"docstore/data": {"x": [1], "y": {"__data__": "{broken", "__type__": "TEXT"}}})");
  const auto& entries = bad.section("docstore/data")->entries;
  try {
    decode_node(bad, entries[0]);
    FAIL("no throw");
  } catch (const Error& e) {
    CHECK(e.where() == "docstore.json");
    CHECK(e.place() == "docstore/data.x");
  }
  CHECK_THROWS_AS(decode_node(bad, entries[1]), Error);
}

TEST_CASE("index structs: string or object __data__, TS plain objects, node counts per CLI.md") {
  JsonDoc idx = doc_of("index_store.json", R"({"index_store/data": {
    "v": {"__type__": "vector_store", "__data__": "{\"index_id\": \"v\", \"nodes_dict\": {\"a\": \"a\", \"b\": \"b\"}}"},
    "l": {"__type__": "list", "__data__": {"index_id": "l", "nodes": ["a", "b", "c"]}},
    "t": {"__type__": "tree", "__data__": "{\"all_nodes\": {\"0\": \"a\"}, \"root_nodes\": {\"0\": \"a\"}}"},
    "k": {"__type__": "keyword_table", "__data__": "{\"table\": {\"x\": [\"a\", \"b\"], \"y\": [\"b\", \"c\"]}}"},
    "s": {"__type__": "document_summary", "__data__": "{\"summary_id_to_node_ids\": {}}"}}})");
  std::vector<std::size_t> counts;
  for (const Entry& e : idx.section("index_store/data")->entries)
    counts.push_back(index_node_count(decode_index_struct(idx, e)));
  CHECK(counts == std::vector<std::size_t>{2, 3, 1, 3, 0});
  JsonDoc ts = doc_of("index_store.json", R"({"docstore/data":{"i":{"indexId":"i","nodesDict":{"n":{"id_":"n"}},"type":"simple_dict"}}})",
                      JsonDialect::JavaScript);
  IndexStruct s = decode_index_struct(ts, ts.section("docstore/data")->entries[0]);
  CHECK(s.type == "simple_dict");
  CHECK(index_node_count(s) == 1);
  CHECK(index_type_loadable("vector_store"));
  CHECK_FALSE(index_type_loadable("simple_dict"));
}

TEST_CASE("sniffing by content") {
  std::string detail;
  CHECK(sniff_bytes("", 0, detail) == FileKind::Empty);
  CHECK(sniff_bytes("  \n", 3, detail) == FileKind::Empty);
  CHECK(sniff_bytes("version https://git-lfs.github.com/spec/v1\noid sha256:ab\nsize 42\n", 60, detail) == FileKind::LfsPointer);
  CHECK(detail == "Git LFS pointer to 42 bytes");
  std::string faiss = std::string("IxFI") + std::string("\x00\x06\x00\x00", 4) + std::string("\x73\x00\x00\x00\x00\x00\x00\x00", 8) + std::string(20, '\0');
  CHECK(sniff_bytes(faiss, faiss.size(), detail) == FileKind::Faiss);
  CHECK(detail == "FAISS IndexFlatIP d=1536 n=115");
  CHECK(sniff_bytes(std::string("SQLite format 3\0xx", 18), 100, detail) == FileKind::Sqlite);
  CHECK(sniff_bytes("\x80\x04\x95", 3, detail) == FileKind::Pickle);
  CHECK(sniff_bytes("{\"a\": 1}", 8, detail) == FileKind::Other);  // JSON: outlined next
  Dialect dialect;
  CHECK(classify_json(doc_of("x.json", R"({"graph_dict": {}})"), "x.json", dialect, detail) == FileKind::GraphStore);
  CHECK(classify_json(doc_of("x.json", R"({"embeddingDict": {}})"), "x.json", dialect, detail) == FileKind::VectorStore);
  CHECK(dialect == Dialect::TypeScript);
  CHECK(classify_json(doc_of("g.json", R"({"directed": true, "multigraph": false, "graph": {}, "nodes": [], "links": []})"),
                      "g.json", dialect, detail) == FileKind::ForeignJson);
  CHECK(detail == "networkx node-link graph");
  CHECK(classify_json(doc_of("docstore.json", "{}"), "docstore.json", dialect, detail) == FileKind::DocStore);
}

TEST_CASE("fixture: a 0.6-era store (extra_info nodes, doc_ids, object __data__, bare vector_store.json)") {
  Store s = load("legacy-0.6");
  CHECK(s.era == "0.6.0-0.6.17");
  Summary sum = summarize(s);
  CHECK(sum.nodes == 2);
  CHECK(sum.ref_docs == 1);
  REQUIRE(sum.indexes.size() == 1);
  CHECK(sum.indexes[0].nodes == 2);
  REQUIRE(sum.vector_stores.size() == 1);
  CHECK(sum.vector_stores[0].ns == "default");
  CHECK(sum.vector_stores[0].dim == 3u);
  CHECK(sum.vector_stores[0].legacy_doc_id_map);
  Node n = decode_node(*s.docstore, *s.doc_collection(coll::kDocData)->find("n1"));
  CHECK(n.text == "Caf\xc3\xa9 \"one\"");
}

TEST_CASE("fixture: a TS store (doc_store.json, string __data__, camelCase, docstore/data index store)") {
  Store s = load("ts-basic");
  CHECK(s.dialect == Dialect::TypeScript);
  CHECK(s.docstore->name() == "doc_store.json");
  CHECK(s.vector_stores.at(0).doc.dialect() == JsonDialect::JavaScript);
  Summary sum = summarize(s);
  CHECK(sum.dialect == "ts");
  CHECK(sum.nodes == 2);
  CHECK(sum.indexes.at(0).type == "simple_dict");
  CHECK(sum.vector_stores.at(0).has_metadata);
  // Every entry re-serialises in the JS dialect byte for byte.
  for (const JsonDoc* d : {&*s.docstore, &*s.index_store, &s.vector_stores[0].doc})
    for (const Section& sec : d->sections())
      for (const Entry& e : sec.entries) CHECK(dump(d->decode(e.raw), {d->dialect()}) == e.raw);
}

TEST_CASE("fixture: pretty-printed files are written back as they were, edits included") {
  Store s = load("pretty");
  fs::path tmp = fs::temp_directory_path() / ("lstore-pretty-" + std::to_string(::getpid()));
  Section& data = *s.docstore->section("docstore/metadata");
  s.docstore->put(data, "b", parse(R"({"doc_hash": "x"})"));
  make_directory_backend(tmp.string())->save(s, {});
  std::string written = slurp(tmp / "docstore.json");
  CHECK(written.find("        \"b\": {\n            \"doc_hash\": \"x\"\n        }\n    }\n}") != std::string::npos);
  CHECK(slurp(tmp / "index_store.json") == slurp(fs::path(LSTORE_SOURCE_DIR) / "testdata/pretty/index_store.json"));
  fs::remove_all(tmp);
}

TEST_CASE("store names are printed without their passwords") {
  // Paths and URIs without a password are as given.
  CHECK(redact_store_name("testdata/sample") == "testdata/sample");
  CHECK(redact_store_name("sqlite:a@b:c.db") == "sqlite:a@b:c.db");
  CHECK(redact_store_name("redis://127.0.0.1:6379/0?namespace=a") == "redis://127.0.0.1:6379/0?namespace=a");
  CHECK(redact_store_name("postgresql://user@h/db") == "postgresql://user@h/db");
  // The password of the user info, up to the LAST '@': raw '@', ':' and '/' in it are its own.
  CHECK(redact_store_name("redis://:pw@h:1/0") == "redis://:***@h:1/0");
  CHECK(redact_store_name("postgresql://u:p@ss@127.0.0.1:5432/db") == "postgresql://u:***@127.0.0.1:5432/db");
  CHECK(redact_store_name("postgresql://u:a:b/c@d@h/db?schema=s") == "postgresql://u:***@h/db?schema=s");
  // Query parameters that hold a password or say where one is.
  CHECK(redact_store_name("postgresql://u@h/db?password=x%40y&schema=s&sslpassword=z&passfile=/p&sslmode=require") ==
        "postgresql://u@h/db?password=***&schema=s&sslpassword=***&passfile=***&sslmode=require");
  // Redacting twice changes nothing.
  CHECK(redact_store_name("redis://u:***@h/0") == "redis://u:***@h/0");
  // In a text: every URI up to a space or quote, the rest as it is.
  CHECK(redact_store_names_in("unexpected: redis://:pw@h/0 and 'postgresql://u:p@w@h/db' x@y:z") ==
        "unexpected: redis://:***@h/0 and 'postgresql://u:***@h/db' x@y:z");
  CHECK(redact_store_names_in("no store here") == "no store here");
}
