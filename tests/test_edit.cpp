// Deletes with LlamaIndex's semantics: reproduced byte for byte from the
// corpus (LlamaIndex's own before/after pairs) and on the project's fixtures.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "corpus.hpp"
#include "lstore/backend.hpp"
#include "lstore/edit.hpp"
#include "lstore/error.hpp"
#include "core/hash.hpp"
#include "lstore/model.hpp"
#include "lstore/summary.hpp"
#include "lstore/validate.hpp"

using namespace lstore;
namespace fs = std::filesystem;
using corpus::slurp;

namespace {

struct TempStore {
  fs::path dir;
  explicit TempStore(const fs::path& from) {
    static int n = 0;
    dir = fs::temp_directory_path() / ("lstore-edit-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    fs::copy(from, dir, fs::copy_options::recursive);
    fs::permissions(dir, fs::perms::owner_all, fs::perm_options::add);
    for (const auto& e : fs::directory_iterator(dir)) fs::permissions(e.path(), fs::perms::owner_write, fs::perm_options::add);
  }
  ~TempStore() { fs::remove_all(dir); }
  Store load() const { return make_directory_backend(dir.string())->load(); }
  void save(const Store& s) const { make_directory_backend(dir.string())->save(s, SaveOptions{true, {}, {}}); }
};

// Every node an index or vector refers to exists in the docstore, and every
// ref doc lists only existing nodes: what a delete must leave behind.
void check_no_dangling(const Store& s) {
  const Section* data = s.doc_collection(coll::kDocData);
  REQUIRE(data);
  for (const IndexStruct& i : read_index_structs(s))
    if (const Json* nd = i.data.find("nodes_dict"))
      for (const auto& [k, v] : nd->as_object()) CHECK_MESSAGE(data->find(v.as_string()), i.id << " -> " << v.as_string());
  for (const auto& v : s.vector_stores) {
    VectorSections vs = vector_sections(v.doc);
    if (vs.embeddings)
      for (const Entry& e : vs.embeddings->entries) CHECK_MESSAGE(data->find(e.key), v.ns << ": " << e.key);
  }
  if (const Section* info = s.doc_collection(coll::kRefDocInfo))
    for (const Entry& e : info->entries) {
      Json v = s.docstore->decode(e.raw);
      for (const Json& id : v.find("node_ids")->as_array()) CHECK(data->find(id.as_string()));
    }
}

}  // namespace

TEST_CASE("delete --ref-doc reproduces LlamaIndex's own delete_ref_doc byte for byte") {
  if (!corpus::available()) {
    MESSAGE("SKIPPED: no corpus at " << corpus::root() << " (delete goldens)");
    return;
  }
  for (const char* era : {"llamaindex-0.12", "llamaindex-0.10"}) {
    CAPTURE(era);
    fs::path c = corpus::root() / era / "deleted";
    Json expected = parse(slurp(c / "expected" / "deleted.json"));
    std::string ref = expected.find("ref_doc_id")->as_string();
    TempStore t(c / "before");
    Store s = t.load();
    ChangeSet changes = delete_ref_docs(s, {ref});
    // The ids removed per part are those LlamaIndex's oracle recorded.
    for (const auto& [p, ids] : expected.find("removed")->as_object()) {
      std::set<std::string> want, got;
      for (const Json& id : ids.as_array()) want.insert(id.as_string());
      std::string key = p;
      if (auto pos = key.find(":nodes_dict"); pos != std::string::npos) key = key.substr(0, pos);
      if (changes.removed.count(key)) got.insert(changes.removed[key].begin(), changes.removed[key].end());
      if (key == "index_store.json:index_store/data") continue;  // the struct is rewritten, not removed
      CHECK_MESSAGE(got == want, p);
    }
    t.save(s);
    for (const auto& e : fs::directory_iterator(c / "persist")) {
      CAPTURE(e.path().filename());
      CHECK(slurp(t.dir / e.path().filename()) == slurp(e.path()));
    }
    check_no_dangling(t.load());
  }
}

TEST_CASE("delete --ref-doc reaches every index type of a store (vector, list, keyword, tree)") {
  if (!corpus::available()) {
    MESSAGE("SKIPPED: no corpus at " << corpus::root() << " (multi-index delete)");
    return;
  }
  TempStore t(corpus::root() / "llamaindex-0.12" / "multi" / "persist");
  Store s = t.load();
  const std::string ref = "d4878aba-6746-58b4-a508-b716a5cfcbaf";  // three nodes, in every index
  Summary before = summarize(s);
  ChangeSet c = delete_ref_docs(s, {ref});
  t.save(s);
  Store after = t.load();
  Summary sum = summarize(after);
  CHECK(sum.nodes == before.nodes - 3);
  CHECK(sum.ref_docs == before.ref_docs - 1);
  for (std::size_t i = 0; i < sum.indexes.size(); ++i) {
    CAPTURE(sum.indexes[i].id);
    CHECK(sum.indexes[i].nodes < before.indexes[i].nodes);
  }
  check_no_dangling(after);
  // Every struct still decodes, and none mentions a deleted node.
  for (const Entry& e : after.index_collection()->entries) CHECK(e.raw.find("288b96e0") == std::string_view::npos);
}

TEST_CASE("delete --node: the ref doc loses the node, and goes with its last one") {
  TempStore t(fs::path(LSTORE_SOURCE_DIR) / "testdata" / "sample");
  Store s = t.load();
  const Section* info = s.doc_collection(coll::kRefDocInfo);
  std::string ref(info->entries.front().key);
  std::vector<std::string> nodes;
  Json first = s.docstore->decode(info->entries.front().raw);
  for (const Json& id : first.find("node_ids")->as_array()) nodes.push_back(id.as_string());
  REQUIRE(nodes.size() >= 2);
  ChangeSet c = delete_nodes(s, {nodes[0]});
  CHECK(c.changed["docstore.json:docstore/ref_doc_info"] == std::vector<std::string>{ref});
  t.save(s);
  s = t.load();
  Json entry = s.docstore->decode(s.doc_collection(coll::kRefDocInfo)->find(ref)->raw);
  CHECK(entry.find("node_ids")->as_array().size() == nodes.size() - 1);
  CHECK_FALSE(s.doc_collection(coll::kDocData)->find(nodes[0]));
  CHECK_FALSE(vector_sections(s.vector_store("default")->doc).embeddings->find(nodes[0]));
  check_no_dangling(s);
  std::vector<std::string> rest(nodes.begin() + 1, nodes.end());
  delete_nodes(s, rest);
  t.save(s);
  s = t.load();
  CHECK_FALSE(s.doc_collection(coll::kRefDocInfo)->find(ref));
  CHECK_FALSE(s.doc_collection(coll::kDocMetadata)->find(ref));  // the Document's hash record goes too
  check_no_dangling(s);
}

TEST_CASE("a missing id changes nothing and names the id") {
  TempStore t(fs::path(LSTORE_SOURCE_DIR) / "testdata" / "sample");
  Store s = t.load();
  std::string ref(s.doc_collection(coll::kRefDocInfo)->entries.front().key);
  try {
    delete_ref_docs(s, {ref, "no-such-doc"});
    FAIL("no throw");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::NotFound);
    CHECK(std::string(e.what()).find("no-such-doc") != std::string::npos);
  }
  CHECK_FALSE(s.docstore->changed());
  CHECK_THROWS_AS(delete_nodes(s, {"nope"}), Error);
}

TEST_CASE("delete on a property graph store: the chunk's triplets go with both their nodes and relations") {
  if (!corpus::available()) {
    MESSAGE("SKIPPED: no corpus at " << corpus::root() << " (property graph delete)");
    return;
  }
  // PropertyGraphIndex._delete_node(id) is SimplePropertyGraphStore.delete(ids=[id])
  // (llama-index-core 0.12 indices/property_graph/base.py, graph_stores/
  // simple_labelled.py): the triplets naming the chunk go through
  // LabelledPropertyGraph.delete_triplet (graph_stores/types.py), which deletes
  // both nodes and the relation "<s>_<label>_<o>". Here: the chunk's SOURCE
  // triplet to its document. The entities and relations extracted from the chunk
  // (triplet_source_id) stay. tests/test_cli_edit.py checks the files byte for byte.
  const std::string ref = "e59025a7-8c73-5047-9a5a-0d0dc80324c7", chunk = "2a891084-17a7-49c7-bf36-f9b192fc9e8d";
  TempStore t(corpus::root() / "llamaindex-0.12" / "pg" / "persist");
  Store s = t.load();
  std::map<std::string, std::string> kept;  // untouched relations, raw
  for (const Entry& e : s.property_graph->section("relations")->entries) kept[std::string(e.key)] = std::string(e.raw);
  kept.erase(chunk + "_SOURCE_" + ref);
  ChangeSet c = delete_ref_docs(s, {ref});
  CHECK(c.removed["property_graph_store.json:nodes"] == std::vector<std::string>{chunk, ref});
  CHECK(c.removed["property_graph_store.json:relations"] == std::vector<std::string>{chunk + "_SOURCE_" + ref});
  CHECK(c.removed["property_graph_store.json:triplets"] ==
        std::vector<std::string>{"[\"" + chunk + "\",\"SOURCE\",\"" + ref + "\"]"});
  t.save(s);
  Store after = t.load();
  const Section* rels = after.property_graph->section("relations");
  REQUIRE(rels->entries.size() == kept.size());
  for (const Entry& e : rels->entries) CHECK(kept[std::string(e.key)] == e.raw);
  CHECK(after.property_graph->section("nodes")->find("Paris"));  // first seen in this chunk, kept
  CHECK(after.property_graph->section("triplets")->entries.size() == 22);
  for (const Finding& f : validate(after, {})) CHECK_MESSAGE(f.severity != Severity::Error, f.rule << ": " << f.message);
  // --node on another chunk cascades the same way (delete_nodes calls _delete_node too).
  Store again = t.load();
  ChangeSet n = delete_nodes(again, {"1af42033-2333-4db2-a0ee-4cd509279d85"});
  CHECK(n.removed["property_graph_store.json:triplets"].size() == 1);
  CHECK(n.removed["property_graph_store.json:nodes"].size() == 2);
}

TEST_CASE("legacy ref_doc_info (doc_ids), object __data__, text_id_to_doc_id; the file's trailing newline kept") {
  TempStore t(fs::path(LSTORE_SOURCE_DIR) / "testdata" / "legacy-0.6");
  Store s = t.load();
  delete_ref_docs(s, {"d1"});
  t.save(s);
  CHECK(slurp(t.dir / "docstore.json") == R"({"docstore/metadata": {}, "docstore/data": {}, "docstore/ref_doc_info": {}})" "\n");
  CHECK(slurp(t.dir / "vector_store.json") == R"({"embedding_dict": {}, "text_id_to_doc_id": {}})" "\n");
  CHECK(slurp(t.dir / "index_store.json") ==
        R"({"index_store/data": {"i1": {"__type__": "vector_store", "__data__": {"index_id": "i1", "summary": null, "nodes_dict": {}, "doc_id_dict": {}, "embeddings_dict": {}}}}})" "\n");
}

namespace {

// The nodes LlamaIndex's insert() added in the corpus `inserted` case, as put
// records: the Document first, then each node as stored with its embedding.
std::vector<Json> inserted_records(const fs::path& c) {
  Json exp = parse(slurp(c / "expected" / "inserted.json"));
  Json doc = parse(slurp(c / "persist" / "docstore.json"));
  Json vec = parse(slurp(c / "persist" / "default__vector_store.json"));
  std::vector<Json> out;
  out.push_back(JsonObject{{"document", JsonObject{{"id", *exp.find("ref_doc_id")}, {"text", *exp.find("document_text")},
                                                  {"metadata", *exp.find("document_metadata")}}}});
  std::set<std::string> added;
  for (const Json& id : exp.find("added")->find("docstore.json:docstore/data")->as_array()) added.insert(id.as_string());
  for (const auto& [id, env] : doc.find("docstore/data")->as_object()) {
    if (!added.count(id)) continue;
    Json r = env;
    r.set("embedding", *vec.find("embedding_dict")->find(id));
    out.push_back(r);
  }
  return out;
}

}  // namespace

TEST_CASE("put reproduces LlamaIndex's own insert() byte for byte (0.12 and 0.10)") {
  if (!corpus::available()) {
    MESSAGE("SKIPPED: no corpus at " << corpus::root() << " (insert goldens)");
    return;
  }
  for (const char* era : {"llamaindex-0.12", "llamaindex-0.10"}) {
    CAPTURE(era);
    fs::path c = corpus::root() / era / "inserted";
    TempStore t(corpus::root() / era / "vector" / "persist");
    Store s = t.load();
    ChangeSet changes = put_records(s, inserted_records(c), {});
    CHECK(changes.added["docstore.json:docstore/data"].size() == 3);
    t.save(s);
    for (const auto& e : fs::directory_iterator(c / "persist")) {
      CAPTURE(e.path().filename());
      CHECK(slurp(t.dir / e.path().filename()) == slurp(e.path()));
    }
    check_no_dangling(t.load());
  }
}

TEST_CASE("put into an empty store writes as the newest LlamaIndex does: 0.12's Document hash") {
  if (!corpus::available()) {
    MESSAGE("SKIPPED: no corpus at " << corpus::root() << " (put into an empty store)");
    return;
  }
  // An empty store cannot be dated (0.10 and 0.12 write the same bytes), so it
  // gets what LlamaIndex 0.12 wrote when it inserted the corpus's `inserted`
  // document: the node entries and the Document's hash of inserted/persist.
  fs::path golden = corpus::root() / "llamaindex-0.12" / "inserted";
  TempStore want(golden / "persist");
  Store w = want.load();
  for (const char* era : {"llamaindex-0.12", "llamaindex-0.10"}) {
    CAPTURE(era);
    TempStore t(corpus::root() / era / "empty" / "persist");
    Store s = t.load();
    put_records(s, inserted_records(golden), {});
    t.save(s);
    s = t.load();
    for (const char* name : {coll::kDocData, coll::kDocMetadata, coll::kRefDocInfo}) {
      CAPTURE(name);
      const Section* got = s.doc_collection(name);
      REQUIRE(got);
      for (const Entry& e : got->entries) {
        CAPTURE(e.key);
        REQUIRE(w.doc_collection(name)->find(e.key));
        CHECK(e.raw == w.doc_collection(name)->find(e.key)->raw);
      }
    }
    VectorSections v = vector_sections(s.vector_store("default")->doc);
    VectorSections wv = vector_sections(w.vector_store("default")->doc);
    for (const Entry& e : v.metadata->entries) CHECK(e.raw == wv.metadata->find(e.key)->raw);
  }
}

TEST_CASE("put of a plain node: stored in the store's format, with the era's hash, and readable back") {
  TempStore t(fs::path(LSTORE_SOURCE_DIR) / "testdata" / "sample");
  Store s = t.load();
  std::vector<Json> recs = {parse(R"({"id": "new-1", "text": "Fresh text \u00e9", "metadata": {"k": "v", "n": 2},
                                       "ref_doc_id": "doc-new", "embedding": [1, 0, 0, 0, 0, 0, 0, 0.5]})")};
  put_records(s, recs, {});
  t.save(s);
  s = t.load();
  Node n = decode_node(*s.docstore, *s.doc_collection(coll::kDocData)->find("new-1"));
  CHECK(n.text == "Fresh text \xc3\xa9");
  CHECK(n.ref_doc_id == "doc-new");
  Json md = s.docstore->decode(s.doc_collection(coll::kDocMetadata)->find("new-1")->raw);
  CHECK(md.find("doc_hash")->as_string() == text_node_hash("Fresh text \xc3\xa9", parse(R"({"k": "v", "n": 2})")));
  // The new node has the same fields, in the same order, as the store's other nodes.
  Json first = s.docstore->decode(s.doc_collection(coll::kDocData)->entries.front().raw);
  Json mine = s.docstore->decode(s.doc_collection(coll::kDocData)->find("new-1")->raw);
  std::vector<std::string> a, b;
  for (const auto& [k, v] : first.find("__data__")->as_object()) a.push_back(k);
  for (const auto& [k, v] : mine.find("__data__")->as_object()) b.push_back(k);
  CHECK(a == b);
  const auto& vs = s.vector_store("default")->doc;
  CHECK(vs.decode(vector_sections(vs).embeddings->find("new-1")->raw) == parse("[1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.5]"));
  CHECK(vs.decode(vector_sections(vs).metadata->find("new-1")->raw) ==
        parse(R"({"k": "v", "n": 2, "_node_type": "TextNode", "document_id": "doc-new", "doc_id": "doc-new", "ref_doc_id": "doc-new"})"));
  Json info = s.docstore->decode(s.doc_collection(coll::kRefDocInfo)->find("doc-new")->raw);
  CHECK(info == parse(R"({"node_ids": ["new-1"], "metadata": {"k": "v", "n": 2}})"));
  CHECK(summarize(s).indexes.at(0).nodes == 13);
  check_no_dangling(s);
  // Put the same node again: replaced in place, nothing duplicated.
  put_records(s, recs, {});
  t.save(s);
  s = t.load();
  CHECK(summarize(s).nodes == 13);
  Json info2 = s.docstore->decode(s.doc_collection(coll::kRefDocInfo)->find("doc-new")->raw);
  CHECK(info2.find("node_ids")->as_array().size() == 1);
}

TEST_CASE("put refuses what it cannot store, before changing anything") {
  TempStore t(fs::path(LSTORE_SOURCE_DIR) / "testdata" / "sample");
  Store s = t.load();
  CHECK_THROWS_AS(put_records(s, {parse(R"({"id": "x", "text": "no embedding"})")}, {}), Error);
  CHECK_THROWS_AS(put_records(s, {parse(R"({"text": "no id", "embedding": [1]})")}, {}), Error);
  CHECK_THROWS_AS(put_records(s, {parse(R"({"id": "x", "embedding": "nope"})")}, {}), Error);
  CHECK_THROWS_AS(put_records(s, {parse(R"({"id": "x", "embedding": [1]})")}, {"no-such-index", "default"}), Error);
  CHECK_FALSE(s.docstore->changed());
  put_raw(s, "docstore/metadata", "raw-key", parse(R"({"doc_hash": "abc"})"));
  CHECK(s.doc_collection(coll::kDocMetadata)->find("raw-key")->raw == R"({"doc_hash": "abc"})");
  CHECK_THROWS_AS(put_raw(s, "docstore/metadata", "k", parse("[1]")), Error);
}

TEST_CASE("put into a LlamaIndex.TS store: replaying stored nodes gives the same bytes; new nodes get TS hashes") {
  if (corpus::available()) {
    fs::path src = corpus::root() / "llamaindex-ts" / "vector-basic";
    TempStore t(src);
    Store s = t.load();
    Json vec = parse(slurp(src / "vector_store.json"));
    Json doc = parse(slurp(src / "doc_store.json"));
    std::vector<Json> records;
    for (const auto& [id, emb] : vec.find("embeddingDict")->as_object()) {
      Json r = *doc.find("docstore/data")->find(id);
      r.set("embedding", emb);
      records.push_back(r);
    }
    REQUIRE(records.size() == 4);
    put_records(s, records, {});
    t.save(s);
    for (const char* f : {"doc_store.json", "index_store.json", "vector_store.json"}) {
      CAPTURE(f);
      CHECK(slurp(t.dir / f) == slurp(src / f));
    }
  } else {
    MESSAGE("SKIPPED: no corpus at " << corpus::root() << " (TS put replay)");
  }
  TempStore t(fs::path(LSTORE_SOURCE_DIR) / "testdata" / "ts-basic");
  Store s = t.load();
  put_records(s, {parse(R"({"id": "n2", "text": "Bonjour", "metadata": {"lang": "fr", "n": 2}, "ref_doc_id": "d1", "embedding": [1, 0, 0.5]})")}, {});
  t.save(s);
  s = t.load();
  Node n = decode_node(*s.docstore, *s.doc_collection(coll::kDocData)->find("n2"));
  CHECK(n.text == "Bonjour");
  CHECK(n.ref_doc_id == "d1");
  CHECK(*n.hash == ts_node_hash("TEXT", "Bonjour", parse(R"({"lang": "fr", "n": 2})"), "\n", nullptr, nullptr));
  Json info = s.docstore->decode(s.doc_collection(coll::kRefDocInfo)->find("d1")->raw);
  CHECK(info == parse(R"({"nodeIds": ["d1#0", "n2"], "extraInfo": {}})"));
  CHECK(s.vector_stores.at(0).doc.decode(vector_sections(s.vector_stores.at(0).doc).embeddings->find("n2")->raw) ==
        parse("[1, 0, 0.5]"));
  CHECK(summarize(s).indexes.at(0).nodes == 2);
}

TEST_CASE("after a delete or a put, validate finds no error") {
  if (!corpus::available()) {
    MESSAGE("SKIPPED: no corpus at " << corpus::root() << " (validate after edits)");
    return;
  }
  for (const char* era : {"llamaindex-0.12", "llamaindex-0.10"}) {
    CAPTURE(era);
    TempStore t(corpus::root() / era / "multi" / "persist");
    Store s = t.load();
    delete_ref_docs(s, {"d4878aba-6746-58b4-a508-b716a5cfcbaf"});
    t.save(s);
    for (const Finding& f : validate(t.load(), {})) CHECK_MESSAGE(f.severity != Severity::Error, f.rule << ": " << f.message);
    TempStore u(corpus::root() / era / "vector" / "persist");
    Store v = u.load();
    put_records(v, inserted_records(corpus::root() / era / "inserted"), {});
    u.save(v);
    for (const Finding& f : validate(u.load(), {})) CHECK_MESSAGE(f.severity != Severity::Error, f.rule << ": " << f.message);
  }
}
