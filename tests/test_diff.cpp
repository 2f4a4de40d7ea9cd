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

// A copy of testdata/sample with one file edited.
struct Edited {
  fs::path dir;
  explicit Edited(const char* file, const std::function<void(Json&)>& fn) {
    static int n = 0;
    dir = fs::temp_directory_path() / ("lstore-diff-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    fs::copy(fs::path(LSTORE_SOURCE_DIR) / "testdata" / "sample", dir, fs::copy_options::recursive);
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
    CHECK(d.parts["indexes"].changed[0].fields == std::vector<std::string>{"-3 nodes"});
    CHECK(d.parts["nodes"].changed.empty());

    Json ins = *parse(slurp(c / "inserted" / "expected" / "inserted.json")).find("added");
    StoreDiff i = diff_stores(load(c / "vector" / "persist"), load(c / "inserted" / "persist"), {});
    CHECK(as_set(i.parts["nodes"].added) == golden_ids(ins, "docstore.json:docstore/data"));
    CHECK(as_set(i.parts["vectors:default"].added) == golden_ids(ins, "default__vector_store.json:embedding_dict"));
    CHECK(i.parts["indexes"].changed.at(0).fields == std::vector<std::string>{"+3 nodes"});
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
    CHECK(diff_stores(base, load(e.dir), {}).parts["ref_docs"].changed.at(0).fields == std::vector<std::string>{"+node n-extra"});
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
