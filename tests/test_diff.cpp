// lstore diff: LlamaIndex's own before/after pairs, and one fixture per kind of change.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <set>

#include "corpus.hpp"
#include "lstore/backend.hpp"
#include "lstore/diff.hpp"

using namespace lstore;
namespace fs = std::filesystem;
using corpus::slurp;

namespace {

Store load(const fs::path& p) { return make_directory_backend(p.string())->load(); }

std::set<std::string> as_set(const std::vector<std::string>& v) { return {v.begin(), v.end()}; }

std::set<std::string> golden_ids(const Json& changes, const char* key) {
  std::set<std::string> s;
  if (const Json* l = changes.find(key))
    for (const Json& id : l->as_array()) s.insert(id.as_string());
  return s;
}

// A copy of testdata/sample (or another fixture) with one file edited.
struct Edited {
  fs::path dir;
  explicit Edited(const char* file, const std::function<void(Json&)>& fn, const char* fixture = "sample") {
    static int n = 0;
    dir = fs::temp_directory_path() / ("lstore-diff-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    fs::copy(fs::path(LSTORE_SOURCE_DIR) / "testdata" / fixture, dir, fs::copy_options::recursive);
    Json j = parse(slurp(dir / file));
    fn(j);
    std::ofstream(dir / file, std::ios::binary | std::ios::trunc) << dump(j, {JsonDialect::Python});
  }
  ~Edited() { fs::remove_all(dir); }
};

const fs::path kSample = fs::path(LSTORE_SOURCE_DIR) / "testdata" / "sample";

}  // namespace

TEST_CASE("diff of LlamaIndex's delete and insert pairs names what LlamaIndex changed") {
  if (!corpus::available()) {
    MESSAGE("SKIPPED: no corpus at " << corpus::root() << " (diff of corpus pairs)");
    return;
  }
  for (const char* era : {"llamaindex-0.12", "llamaindex-0.10"}) {
    CAPTURE(era);
    fs::path c = corpus::root() / era;
    Json del = *parse(slurp(c / "deleted" / "expected" / "deleted.json")).find("removed");
    StoreDiff d = diff_stores(load(c / "deleted" / "before"), load(c / "deleted" / "persist"), {});
    CHECK_FALSE(d.equal());
    CHECK(as_set(d.parts["nodes"].removed) == golden_ids(del, "docstore.json:docstore/data"));
    CHECK(as_set(d.parts["metadata"].removed) == golden_ids(del, "docstore.json:docstore/metadata"));
    CHECK(as_set(d.parts["ref_docs"].removed) == golden_ids(del, "docstore.json:docstore/ref_doc_info"));
    CHECK(as_set(d.parts["vectors:default"].removed) == golden_ids(del, "default__vector_store.json:embedding_dict"));
    REQUIRE(d.parts["indexes"].changed.size() == 1);
    CHECK(d.parts["indexes"].changed[0].fields == std::vector<std::string>{"nodes_dict", "-3 nodes"});
    CHECK(d.parts["nodes"].changed.empty());

    Json ins = *parse(slurp(c / "inserted" / "expected" / "inserted.json")).find("added");
    StoreDiff i = diff_stores(load(c / "vector" / "persist"), load(c / "inserted" / "persist"), {});
    CHECK(as_set(i.parts["nodes"].added) == golden_ids(ins, "docstore.json:docstore/data"));
    CHECK(as_set(i.parts["vectors:default"].added) == golden_ids(ins, "default__vector_store.json:embedding_dict"));
    CHECK(i.parts["indexes"].changed.at(0).fields == std::vector<std::string>{"nodes_dict", "+3 nodes"});
  }
}

TEST_CASE("every corpus store equals itself") {
  if (!corpus::available()) {
    MESSAGE("SKIPPED: no corpus at " << corpus::root() << " (self diff)");
    return;
  }
  for (const fs::path& dir : corpus::store_dirs()) {
    CAPTURE(dir);
    Store a = load(dir), b = load(dir);
    CHECK(diff_stores(a, b, {}).equal());
  }
}

TEST_CASE("each kind of change is reported with the fields it touched") {
  Store base = load(kSample);
  auto first = [](Json& j, const char* s) -> Json& { return j.find(s)->as_object().front().second; };
  {
    Edited e("docstore.json", [&](Json& j) { first(j, "docstore/data").find("__data__")->set("text", "line one\nline two changed\n"); });
    StoreDiff d = diff_stores(base, load(e.dir), {});
    REQUIRE(d.parts["nodes"].changed.size() == 1);
    CHECK(d.parts["nodes"].changed[0].fields == std::vector<std::string>{"text"});
    std::string u = unified_diff(d.parts["nodes"].changed[0].old_text, d.parts["nodes"].changed[0].new_text, "a", "b");
    CHECK(u.find("+line two changed") != std::string::npos);
    CHECK(u.find("@@ ") != std::string::npos);
  }
  {
    Edited e("docstore.json", [&](Json& j) { first(j, "docstore/data").find("__data__")->find("metadata")->set("stamp", "2026"); });
    StoreDiff d = diff_stores(base, load(e.dir), {});
    CHECK(d.parts["nodes"].changed.at(0).fields == std::vector<std::string>{"metadata.stamp"});
    CHECK(diff_stores(base, load(e.dir), {0, {"stamp"}}).equal());  // --ignore stamp
  }
  {
    Edited e("default__vector_store.json", [&](Json& j) {
      auto& v = first(j, "embedding_dict").as_array();
      v[0] = Json(v[0].as_float() + 1e-7);
    });
    StoreDiff d = diff_stores(base, load(e.dir), {});
    REQUIRE(d.parts["vectors:default"].changed.size() == 1);
    const ChangedEntry& c = d.parts["vectors:default"].changed[0];
    CHECK(*c.max_abs_diff == doctest::Approx(1e-7).epsilon(1e-3));
    CHECK(*c.cosine > 0.999999);
    CHECK(diff_stores(base, load(e.dir), {1e-6, {}}).equal());  // --tolerance
  }
  {
    Edited e("default__vector_store.json", [&](Json& j) { first(j, "embedding_dict").as_array().emplace_back(0.0); });
    StoreDiff d = diff_stores(base, load(e.dir), {});
    const ChangedEntry& c = d.parts["vectors:default"].changed.at(0);
    CHECK(c.fields == std::vector<std::string>{"dimension"});
    CHECK(*c.old_dim == 8);
    CHECK(*c.new_dim == 9);
  }
  {
    Edited e("index_store.json", [&](Json& j) {
      Json& env = first(j, "index_store/data");
      Json data = parse(env.find("__data__")->as_string());
      data.set("summary", "a summary");
      env.set("__data__", Json(dump(data, {JsonDialect::Python})));
    });
    CHECK(diff_stores(base, load(e.dir), {}).parts["indexes"].changed.at(0).fields == std::vector<std::string>{"summary"});
  }
  {
    Edited a("graph_store.json", [](Json& j) { j.set("graph_dict", parse(R"({"alice": [["knows", "bob"], ["likes", "carol"]]})")); });
    Edited b("graph_store.json", [](Json& j) { j.set("graph_dict", parse(R"({"alice": [["likes", "carol"], ["knows", "bob"], ["knows", "dave"]]})")); });
    StoreDiff d = diff_stores(load(a.dir), load(b.dir), {});
    PartDiff g = d.parts["graph"];
    CHECK(g.added == std::vector<std::string>{"alice | knows | dave"});  // order inside the set does not count
    CHECK(g.removed.empty());
  }
  {
    Edited e("docstore.json", [&](Json& j) {
      Json& info = first(j, "docstore/ref_doc_info");
      info.find("node_ids")->as_array().emplace_back("n-extra");
    });
    CHECK(diff_stores(base, load(e.dir), {}).parts["ref_docs"].changed.at(0).fields ==
          std::vector<std::string>{"node_ids", "+node n-extra"});
  }
}

TEST_CASE("formatting differences are not changes") {
  // The same content re-serialised in another layout (pretty-printed) compares equal.
  fs::path dir = fs::temp_directory_path() / ("lstore-diff-pretty-" + std::to_string(::getpid()));
  fs::copy(kSample, dir, fs::copy_options::recursive);
  for (const char* f : {"docstore.json", "default__vector_store.json", "index_store.json"}) {
    Json j = parse(slurp(dir / f));
    std::ofstream(dir / f, std::ios::binary | std::ios::trunc) << dump(j, {JsonDialect::Python, 2, 0});
  }
  CHECK(diff_stores(load(kSample), load(dir), {}).equal());
  fs::remove_all(dir);
}

TEST_CASE("unified_diff") {
  CHECK(unified_diff("a\nb\nc\n", "a\nB\nc\n", "x", "y") == "--- x\n+++ y\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n");
  CHECK(unified_diff("same", "same", "x", "y") == "--- x\n+++ y\n");
}

namespace {

const fs::path kFixtures = fs::path(LSTORE_SOURCE_DIR) / "testdata" / "diff";

Store fixture(const char* name) { return load(kFixtures / name); }

// The one changed entry of a part, or a failed check.
ChangedEntry only_change(StoreDiff d, const char* part) {
  PartDiff& p = d.parts[part];
  REQUIRE(p.changed.size() == 1);
  CHECK(p.added.empty());
  CHECK(p.removed.empty());
  return p.changed[0];
}

}  // namespace

TEST_CASE("every field of a node is compared: one changed field, one report naming it") {
  Store base = fixture("node");
  const std::pair<const char*, std::pair<const char*, const char*>> cases[] = {
      {"node-start_char_idx", {"N1", "start_char_idx"}},
      {"node-end_char_idx", {"N1", "end_char_idx"}},
      {"node-text_template", {"N1", "text_template"}},
      {"node-metadata_template", {"N1", "metadata_template"}},
      {"node-metadata_seperator", {"N1", "metadata_seperator"}},
      {"node-excluded_embed_metadata_keys", {"N1", "excluded_embed_metadata_keys"}},
      {"node-excluded_llm_metadata_keys", {"N1", "excluded_llm_metadata_keys"}},
      {"node-mimetype", {"N1", "mimetype"}},
      {"node-embedding", {"N2", "embedding"}},
      {"node-id_", {"N1", "id_"}},
      {"node-relationship-hash", {"N1", "relationships.1.hash"}},
      {"node-unknown-field", {"N2", "custom.origin.page"}},  // a field lstore has no name for: its key path
  };
  for (const auto& [name, want] : cases) {
    CAPTURE(name);
    StoreDiff d = diff_stores(base, fixture(name), {});
    CHECK_FALSE(d.equal());
    ChangedEntry c = only_change(d, "nodes");
    CHECK(c.id == want.first);
    CHECK(c.fields == std::vector<std::string>{want.second});
    CHECK(d.parts["metadata"].changed.empty());  // the hashes were left as they were
  }
}

TEST_CASE("key order and number spelling are not changes; a number's type within Python is") {
  Store base = fixture("node");
  CHECK(diff_stores(base, fixture("node-respelled"), {}).equal());   // keys reversed, 1e-05 as 0.00001, pretty
  CHECK(diff_stores(fixture("node-respelled"), base, {}).equal());
  StoreDiff d = diff_stores(base, fixture("node-int-for-float"), {});  // 2 where Python wrote 2.0
  ChangedEntry c = only_change(d, "nodes");
  CHECK(c.fields == std::vector<std::string>{"metadata.version", "hash"});
  CHECK(only_change(d, "metadata").fields == std::vector<std::string>{"doc_hash"});
}

TEST_CASE("across dialects the same nodes are equal, and what TS lost is named") {
  Store py = fixture("node"), ts = fixture("ts");
  REQUIRE(ts.dialect == Dialect::TypeScript);
  // camelCase names, textTemplate "" for Python's default template, no
  // metadata_template / mimetype / class_name, 2 for 2.0, other hashes.
  CHECK(diff_stores(py, ts, {}).equal());
  CHECK(diff_stores(ts, py, {}).equal());
  StoreDiff d = diff_stores(py, fixture("ts-no-zero-start"), {});  // startCharIdx 0 left out: null, not 0
  ChangedEntry c = only_change(d, "nodes");
  CHECK(c.id == "N1");
  CHECK(c.fields == std::vector<std::string>{"start_char_idx"});
  // A field Python keeps and TS cannot hold, changed from its default.
  StoreDiff t = diff_stores(fixture("node-metadata_template"), ts, {});
  CHECK(only_change(t, "nodes").fields == std::vector<std::string>{"metadata_template"});
}

TEST_CASE("--tolerance covers a node's inline embedding too") {
  Store base = fixture("node");
  CHECK_FALSE(diff_stores(base, fixture("node-embedding"), {}).equal());
  CHECK(diff_stores(base, fixture("node-embedding"), {1e-4, {}}).equal());
}

TEST_CASE("files the model does not hold are compared byte for byte, KV files by meaning") {
  Store files = fixture("files");
  CHECK(diff_stores(files, fixture("files"), {}).equal());
  StoreDiff d = diff_stores(files, fixture("files-changed"), {});
  PartDiff& f = d.parts["files"];
  CHECK(f.added == std::vector<std::string>{"extra.bin"});
  CHECK(f.removed == std::vector<std::string>{"notes.txt"});
  REQUIRE(f.changed.size() == 1);  // kvstore.json re-laid out and reordered: equal
  CHECK(f.changed[0].id == "faiss.index");
  CHECK(f.changed[0].fields == std::vector<std::string>{"bytes"});
  StoreDiff k = diff_stores(files, fixture("files-kv"), {});
  ChangedEntry c = only_change(k, "files");
  CHECK(c.id == "kvstore.json");
  CHECK(c.fields == std::vector<std::string>{"data.k1"});
  // A store without them has them removed.
  CHECK(diff_stores(files, fixture("node"), {}).parts["files"].removed.size() == 3);
}

TEST_CASE("entries whose bytes are equal are equal without being decoded") {
  // A node entry decode_node refuses, the same in both stores: never decoded.
  Edited a("docstore.json", [](Json& j) { j.find("docstore/data")->set("broken", parse(R"({"__data__": 5})")); });
  Store s = load(a.dir);
  CHECK(diff_stores(s, load(a.dir), {}).equal());
  // Changed, it is decoded, and the error names the file and the entry.
  Edited b("docstore.json", [](Json& j) { j.find("docstore/data")->set("broken", parse(R"({"__data__": 6})")); });
  try {
    diff_stores(s, load(b.dir), {});
    FAIL("a node decode_node refuses was compared");
  } catch (const Error& err) {
    CHECK(err.kind() == ErrorKind::Data);
    CHECK(err.where() == "docstore.json");
    CHECK(err.place() == "docstore/data.broken.__data__");
  }
}

TEST_CASE("vector entries: ref doc ids and metadata_dict entries, one-sided ones too") {
  Store base = load(kSample);
  auto first_key = [](const Json& j, const char* s) { return j.find(s)->as_object().front().first; };
  std::string id;
  {
    Edited e("default__vector_store.json", [&](Json& j) {
      id = first_key(j, "metadata_dict");
      j.find("metadata_dict")->find(id)->set("page", 7);
      j.find("text_id_to_ref_doc_id")->set(id, "other-doc");
    });
    ChangedEntry c = only_change(diff_stores(base, load(e.dir), {}), "vectors:default");
    CHECK(c.id == id);
    CHECK(c.fields == std::vector<std::string>{"ref_doc_id", "metadata_dict.page"});
  }
  {
    Edited e("default__vector_store.json", [&](Json& j) {
      id = first_key(j, "metadata_dict");
      j.find("metadata_dict")->erase(id);  // the vector stays, its metadata entry goes
    });
    ChangedEntry c = only_change(diff_stores(base, load(e.dir), {}), "vectors:default");
    CHECK(c.fields == std::vector<std::string>{"metadata_dict"});
  }
}

TEST_CASE("index structs: every field, keyword tables as sets") {
  Store base = load(kSample);
  auto edit_struct = [](const std::function<void(Json&)>& fn) {
    return Edited("index_store.json", [&](Json& j) {
      Json& env = j.find("index_store/data")->as_object().front().second;
      Json data = parse(env.find("__data__")->as_string());
      fn(data);
      env.set("__data__", Json(dump(data, {JsonDialect::Python})));
    });
  };
  Edited e = edit_struct([](Json& d) { d.set("doc_id_dict", parse(R"({"d": ["n"]})")); });
  CHECK(only_change(diff_stores(base, load(e.dir), {}), "indexes").fields ==
        std::vector<std::string>{"doc_id_dict"});
  Edited a = edit_struct([](Json& d) { d.set("table", parse(R"({"k": ["n1", "n2"]})")); });
  Edited b = edit_struct([](Json& d) { d.set("table", parse(R"({"k": ["n2", "n1"]})")); });
  CHECK(diff_stores(load(a.dir), load(b.dir), {}).equal());  // Set[str]: order is Python's hashing
}

TEST_CASE("a collection no part reads is compared entry by entry") {
  Store base = load(kSample);
  Edited a("docstore.json", [](Json& j) { j.set("docstore/extra", parse(R"({"x": {"a": 1, "b": {"c": 2}}})")); });
  Edited b("docstore.json", [](Json& j) { j.set("docstore/extra", parse(R"({"x": {"b": {"c": 3}, "a": 1}})")); });
  StoreDiff d = diff_stores(load(a.dir), load(b.dir), {});
  ChangedEntry c = only_change(d, "docstore:docstore/extra");
  CHECK(c.id == "x");
  CHECK(c.fields == std::vector<std::string>{"b.c"});
  CHECK(diff_stores(base, load(a.dir), {}).parts["docstore:docstore/extra"].added == std::vector<std::string>{"x"});
}

TEST_CASE("an entry that is not an object is compared whole, as \"value\"") {
  Edited a("docstore.json", [](Json& j) { j.find("docstore/metadata")->set("odd", "one"); });
  Edited b("docstore.json", [](Json& j) { j.find("docstore/metadata")->set("odd", "two"); });
  ChangedEntry c = only_change(diff_stores(load(a.dir), load(b.dir), {}), "metadata");
  CHECK(c.id == "odd");
  CHECK(c.fields == std::vector<std::string>{"value"});
}

TEST_CASE("a node LlamaIndex <= 0.6.33 wrote reads in today's names") {
  // doc_id, extra_info and node_info are id_, metadata and the char indexes;
  // an id string is a relationship to that id.
  Edited modern("docstore.json", [](Json& j) {
    Json& data = *j.find("docstore/data")->find("n1")->find("__data__");
    data = parse(R"({"id_": "n1", "text": "Caf\u00e9 \"one\"", "embedding": null, "doc_hash": "aa",
                     "metadata": {"file": "a.txt", "page": 1}, "start_char_idx": 0, "end_char_idx": 11,
                     "relationships": {"1": {"node_id": "d1", "node_type": null, "metadata": {}, "hash": null}}})");
  }, "legacy-0.6");
  Store legacy = load(fs::path(LSTORE_SOURCE_DIR) / "testdata" / "legacy-0.6");
  CHECK(diff_stores(legacy, load(modern.dir), {}).equal());
  Edited moved("docstore.json", [](Json& j) {
    j.find("docstore/data")->find("n1")->find("__data__")->find("node_info")->set("start", 1);
  }, "legacy-0.6");
  CHECK(only_change(diff_stores(legacy, load(moved.dir), {}), "nodes").fields == std::vector<std::string>{"start_char_idx"});
}

TEST_CASE("property graph nodes are compared field by field, pydantic's layout aside") {
  if (!corpus::available()) {
    MESSAGE("SKIPPED: no corpus at " << corpus::root() << " (property graph diff)");
    return;
  }
  fs::path pg = corpus::root() / "llamaindex-0.12" / "pg" / "persist";
  fs::path dir = fs::temp_directory_path() / ("lstore-diff-pg-" + std::to_string(::getpid()));
  fs::copy(pg, dir, fs::copy_options::recursive);
  // Rewritten by Python's json.dumps (its spacing and escapes, not
  // pydantic's), with one property added.
  Json j = parse(slurp(dir / "property_graph_store.json"));
  Json& first = j.find("nodes")->as_object().front().second;
  first.find("properties")->set("added", 1);
  std::ofstream(dir / "property_graph_store.json", std::ios::binary | std::ios::trunc) << dump(j, {JsonDialect::Python});
  StoreDiff d = diff_stores(load(pg), load(dir), {});
  ChangedEntry c = only_change(d, "property_graph");
  CHECK(c.id == j.find("nodes")->as_object().front().first);
  CHECK(c.fields == std::vector<std::string>{"nodes.properties.added"});
  fs::remove_all(dir);
}
