// Edits that touch many keys of a large collection in one go: erase_keys
// (src/ops/erase_keys.cpp, one pass for k keys) must leave exactly the bytes that k
// erase_all calls leave, put_raw must replace and append as it always
// did while the index stays valid across re-puts, and delete's batched erases must
// give the same store and report whether documents go in one call or one by
// one, down to empty collections.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <random>
#include <set>
#include <string>
#include <unordered_set>
#include <vector>

#include "corpus.hpp"
#include "lstore/backend.hpp"
#include "lstore/edit.hpp"
#include "lstore/json.hpp"
#include "lstore/jsondoc.hpp"
#include "lstore/model.hpp"
#include "ops/erase_keys.hpp"

using namespace lstore;
namespace fs = std::filesystem;

namespace {

// A KV file of `n` entries "k0".."k{n-1}" (k3 twice when `duplicate`),
// compact or pretty-printed, with a second collection after it.
std::string kv_text(int n, bool pretty, bool duplicate) {
  std::string nl = pretty ? "\n    " : "", item = pretty ? ",\n    " : ", ";
  std::string t = pretty ? "{\n  \"c\": {" : "{\"c\": {";
  for (int i = 0; i < n; ++i) {
    t += (i ? item : nl) + "\"k" + std::to_string(i) + "\": [" + std::to_string(i) + ", 0.5]";
    if (duplicate && i == 3) t += item + "\"k3\": \"again\"";
  }
  t += pretty ? (n ? "\n  }" : "") + std::string(",\n  \"d\": {\"x\": 1}\n}\n") : "}, \"d\": {\"x\": 1}}";
  return t;
}

JsonDoc read_text(const std::string& t) { return JsonDoc::read("c.json", Buffer::own(t), JsonDialect::Python); }

}  // namespace

TEST_CASE("erase_keys: the bytes k erase_all calls leave, for a seam at the first, the last and every entry") {
  for (bool pretty : {false, true}) {
    for (bool duplicate : {false, true}) {
      const int n = 20;
      std::vector<std::vector<std::string>> cases = {{"k0"}, {"k19"}, {"k0", "k19"}, {"k3"}, {"k5", "k6", "k7", "nope"}, {"nope"}, {}};
      std::vector<std::string> every;
      for (int i = 0; i < n; ++i) every.push_back("k" + std::to_string(i));
      cases.push_back(every);
      for (const auto& keys : cases) {
        CAPTURE(pretty);
        CAPTURE(duplicate);
        CAPTURE(keys.size());
        const std::string text = kv_text(n, pretty, duplicate);
        JsonDoc one = read_text(text), batch = read_text(text);
        std::size_t went = 0;
        std::set<std::string> present;
        for (const auto& k : keys) {
          std::size_t e = one.erase_all(*one.section("c"), k);
          went += e;
          if (e) present.insert(k);
        }
        std::unordered_set<std::string_view> set(keys.begin(), keys.end()), found;
        erase_keys(*batch.section("c"), set, found);
        CHECK(std::set<std::string>(found.begin(), found.end()) == present);
        CHECK(batch.serialize() == one.serialize());
        CHECK(batch.changed() == (went > 0));
        const Section& c = *batch.section("c");
        CHECK(c.size() == static_cast<std::size_t>(n) - (present.size()));
        for (const auto& k : keys) CHECK(c.find(k) == nullptr);
        if (keys.size() == every.size()) {
          CHECK(c.entries.empty());  // an empty collection afterwards, written as "{}"
          CHECK(batch.serialize().find("\"c\": {}") != std::string::npos);
          CHECK(parse(batch.serialize()).find("c")->as_object().empty());
        }
      }
    }
  }
}

TEST_CASE("put_raw keeps the index: replaces the first copy of a key, appends new keys, as the linear scan did") {
  for (bool duplicate : {false, true}) {
    CAPTURE(duplicate);
    const std::string text = kv_text(12, false, duplicate);
    JsonDoc d = read_text(text);
    Section& c = *d.section("c");
    // The model: (key, raw) in file order; a put changes the first copy or appends.
    std::vector<std::pair<std::string, std::string>> model;
    for (const Entry& e : c.entries) model.emplace_back(std::string(e.key), std::string(e.raw));
    std::mt19937 rng(7);
    CHECK(c.find("k1"));  // the index is built before the puts, and must follow them
    for (int step = 0; step < 200; ++step) {
      std::string key = "k" + std::to_string(std::uniform_int_distribution<int>(0, 30)(rng));
      std::string raw = std::to_string(step);
      d.put_raw(c, key, raw);
      auto it = std::find_if(model.begin(), model.end(), [&](const auto& kv) { return kv.first == key; });
      if (it != model.end()) it->second = raw;
      else model.emplace_back(key, raw);
      // find: the last copy (json.load's value); size: distinct keys.
      std::map<std::string, std::string> last;
      for (const auto& [k, v] : model) last[k] = v;
      for (const auto& [k, v] : last) {
        const Entry* e = c.find(k);
        REQUIRE_MESSAGE(e, k);
        CHECK(e->raw == v);
      }
      CHECK(c.find("k99") == nullptr);
      CHECK(c.size() == last.size());
    }
    std::string want = "{\"c\": {";
    for (std::size_t i = 0; i < model.size(); ++i) want += (i ? ", \"" : "\"") + model[i].first + "\": " + model[i].second;
    want += "}, \"d\": {\"x\": 1}}";
    CHECK(d.serialize() == want);
  }
}

namespace {

std::vector<std::string> store_bytes(const Store& s) {
  std::vector<std::string> out;
  for (const JsonDoc* d : s.documents()) out.push_back(d->name() + "\n" + d->serialize());
  return out;
}

// The removed ids of a ChangeSet, part by part, concatenated over several.
void add_removed(std::map<std::string, std::vector<std::string>>& into, const ChangeSet& c) {
  for (const auto& [part, ids] : c.removed) into[part].insert(into[part].end(), ids.begin(), ids.end());
}

// Stores with ref docs to delete: the project's sample and every corpus store.
std::vector<fs::path> stores_with_ref_docs() {
  std::vector<fs::path> out{fs::path(LSTORE_SOURCE_DIR) / "testdata" / "sample"};
  if (corpus::available())
    for (const auto& e : fs::recursive_directory_iterator(corpus::root()))
      if (e.is_regular_file() && e.path().filename() == "docstore.json" && e.path().parent_path().filename() != "expected")
        out.push_back(e.path().parent_path());
  return out;
}

}  // namespace

TEST_CASE("delete --ref-doc in one call equals one by one: the first, the last, every document (collections left empty)") {
  std::size_t tried = 0;
  for (const fs::path& dir : stores_with_ref_docs()) {
    CAPTURE(dir);
    Store probe;
    try {
      probe = make_directory_backend(dir.string())->load();
    } catch (const std::exception&) {
      continue;  // a corpus store lstore refuses to read is not this test's
    }
    const Section* info = probe.doc_collection(coll::kRefDocInfo);
    if (!info || info->entries.empty() || !probe.docstore) continue;
    bool faiss = false;
    for (const FileInfo& f : probe.files) faiss |= f.kind == FileKind::Faiss;
    if (faiss) continue;
    std::vector<std::string> refs;
    for (const Entry& e : info->entries) refs.emplace_back(e.key);
    std::vector<std::vector<std::string>> cases = {{refs.front()}, {refs.back()}, refs, {refs.front(), refs.front()}};
    for (const auto& ids : cases) {
      CAPTURE(ids.size());
      Store batch = make_directory_backend(dir.string())->load();
      Store single = make_directory_backend(dir.string())->load();
      ChangeSet all;
      try {
        all = delete_ref_docs(batch, ids);
      } catch (const std::exception& e) {
        MESSAGE("delete refused on " << dir << ": " << e.what());
        continue;
      }
      std::map<std::string, std::vector<std::string>> removed, changed;
      std::set<std::string> done;
      for (const auto& id : ids)
        if (done.insert(id).second) {
          ChangeSet one = delete_ref_docs(single, {id});
          add_removed(removed, one);
          for (const auto& [part, keys] : one.changed) changed[part].insert(changed[part].end(), keys.begin(), keys.end());
        }
      CHECK(all.changed == changed);  // each index struct rewritten once per document, as reported before
      CHECK(store_bytes(batch) == store_bytes(single));
      // The same ids, part by part (in one call the parts' order is the call's).
      for (auto& [part, list] : removed) std::sort(list.begin(), list.end());
      std::map<std::string, std::vector<std::string>> got = all.removed;
      for (auto& [part, list] : got) std::sort(list.begin(), list.end());
      CHECK(got == removed);
      if (ids == refs) CHECK(batch.doc_collection(coll::kRefDocInfo)->entries.empty());  // an empty collection left
      ++tried;
    }
  }
  CHECK(tried >= 4);
}

TEST_CASE("delete --node of every node in one call equals one by one") {
  Store batch = make_directory_backend((fs::path(LSTORE_SOURCE_DIR) / "testdata" / "sample").string())->load();
  Store single = make_directory_backend((fs::path(LSTORE_SOURCE_DIR) / "testdata" / "sample").string())->load();
  std::vector<std::string> nodes;
  for (const Entry& e : batch.doc_collection(coll::kDocData)->entries) nodes.emplace_back(e.key);
  REQUIRE(nodes.size() > 2);
  ChangeSet all = delete_nodes(batch, nodes);
  std::map<std::string, std::vector<std::string>> removed;
  for (const auto& n : nodes) add_removed(removed, delete_nodes(single, {n}));
  CHECK(store_bytes(batch) == store_bytes(single));
  // The same ids per part (in one call, vectors go in file order).
  std::map<std::string, std::vector<std::string>> got = all.removed;
  for (auto* m : {&got, &removed})
    for (auto& [part, list] : *m) std::sort(list.begin(), list.end());
  CHECK(got == removed);
  CHECK(batch.doc_collection(coll::kDocData)->entries.empty());
  CHECK(batch.doc_collection(coll::kRefDocInfo)->entries.empty());
}
