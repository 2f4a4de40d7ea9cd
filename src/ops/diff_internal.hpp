// What the parts of lstore diff share (diff.cpp, diff_nodes.cpp,
// diff_meaning.cpp): entries matched by id, and decoded values compared by
// meaning, reporting the key paths at which they differ.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "lstore/diff.hpp"
#include "lstore/json.hpp"

namespace lstore::diffing {

// What counts as the same value. Key order and the spelling of a number
// never count; everything else does, Python's int/float distinction too
// (1 and 1.0 repr differently, so they hash and print differently).
struct Meaning {
  // JavaScript has one number type: across dialects, or between two TS
  // stores, 1 and 1.0 are one value.
  bool one_number_type = false;
};

bool same(const Json& a, const Json& b, const Meaning& m);

// How two stores' entries are read side by side: those two stores name alike
// as they are; across dialects the TS names as the Python names they convert
// to (FORMAT.md §9, the mapping dialect.cpp converts with).
struct Vocabulary {
  bool python = true;   // in Python's names, where a field left out stands for its default
  bool across = false;  // the stores are of different dialects
};
Vocabulary vocabulary_of(const Store& a, const Store& b);

// The namespace a vector store is compared under: across dialects TS's
// "images" (its image vector store's directory) is Python's "image".
std::string namespace_key(const Store& s, const std::string& ns, const Vocabulary& v);
// The vector store of `s` compared under `key`, or nullptr.
const VectorStoreDoc* find_namespace(const Store& s, const std::string& key, const Vocabulary& v);

// A camelCase TS field (or a Python <= 0.6.33 alias) as the Python field it
// converts to; other names as they are.
std::string python_name(const std::string& key);
// An object with its members renamed by python_name.
Json in_python_names(const Json& v);

// The value LlamaIndex reads for a field `view` leaves out, if it has one.
using Defaults = std::optional<Json> (*)(std::string_view field, const Json& view);

// Calls fn(key, a_value, b_value) for every field of either object, in x's
// order then y's; a field an object leaves out is its default (in Python's
// vocabulary, when it has one) or nullptr. Values that are not both objects
// are one field, "" (the whole value).
template <class F>
void each_field(const Json& x, const Json& y, const Vocabulary& v, Defaults defaults, F&& fn) {
  if (!x.is_object() || !y.is_object()) return fn(std::string_view(), &x, &y);
  auto field = [&](const Json& view, std::string_view k, std::optional<Json>& held) -> const Json* {
    if (const Json* f = view.find(k)) return f;
    if (v.python && defaults) held = defaults(k, view);
    return held ? &*held : nullptr;
  };
  auto visit = [&](std::string_view k) {
    std::optional<Json> hx, hy;
    fn(k, field(x, k, hx), field(y, k, hy));
  };
  for (const auto& member : x.as_object()) visit(member.first);
  for (const auto& member : y.as_object())
    if (!x.find(member.first)) visit(member.first);
}

// Appends to `out` the key paths below `path` at which `a` and `b` differ
// (nullptr: the key is absent). Objects are descended `depth` levels (-1: all
// the way down); anything else is compared whole, so a changed list is named
// once, not once per element. Whole values that differ at the top (path "")
// are named "value".
void changed_paths(const Json* a, const Json* b, const std::string& path, const Meaning& m, int depth,
                   std::vector<std::string>& out);

// `path` + "." + `key` (just `key` at the top).
std::string join(const std::string& path, std::string_view key);

// Embedding values compared as doubles (pydantic reads 2 as 2.0): equal when
// within `tolerance` of each other, NaN matching NaN.
bool close(double x, double y, double tolerance);
// The numbers of an embedding's stored text, without a DOM, as json.loads
// reads them (core/numbers.hpp: NaN and Infinity included).
std::vector<double> embedding_values(std::string_view raw);
// An embedding held as a JSON value (a docstore node's `embedding`) compared
// as numbers; other values by meaning.
bool same_embedding(const Json& a, const Json& b, double tolerance, const Meaning& m);

// A metadata object without the keys the user asked to ignore.
Json without(const Json& metadata, const std::set<std::string>& keys);

// Adds `field` to the entry unless it is there already.
void add_field(ChangedEntry& c, std::string field);
// The changed entries of a part by id, for fields found by a later pass (a
// linear search per id would be quadratic in the changes).
class ChangedById {
 public:
  explicit ChangedById(PartDiff& part);
  // The entry of `id`, added to the part when it is not there yet.
  ChangedEntry& operator[](const std::string& id);

 private:
  PartDiff& m_part;
  std::unordered_map<std::string, std::size_t> m_index;
};

// Entries of a section by id (last wins, as json.load), in stored order.
struct Keyed {
  std::vector<const Entry*> order;
  std::unordered_map<std::string_view, const Entry*> by_id;
};
Keyed keyed(const Section* s);

// Records ids only in `b` as added, only in `a` as removed, and calls
// on_changed(id, a_entry, b_entry) for ids in both whose bytes differ (equal
// bytes are equal without decoding). With the documents given, the pages
// behind the comparison are released as it goes, so two large files are
// compared without both staying resident.
template <class F>
void compare(const Keyed& a, const Keyed& b, PartDiff& out, F&& on_changed, const JsonDoc* da = nullptr,
             const JsonDoc* db = nullptr) {
  for (const Entry* e : b.order)
    if (!a.by_id.count(e->key)) out.added.emplace_back(e->key);
  std::size_t since = 0;
  for (const Entry* e : a.order) {
    const Entry* x = a.by_id.at(e->key);
    auto it = b.by_id.find(e->key);
    if (it == b.by_id.end()) out.removed.emplace_back(e->key);
    else if (it->second->raw != x->raw) on_changed(std::string(e->key), *x, *it->second);
    if (da && (since += e->raw.size()) > (std::size_t{32} << 20)) {
      since = 0;
      da->release_before(e->raw.data());
      if (db && it != b.by_id.end()) db->release_before(it->second->raw.data());
    }
  }
}

// Metadata compared key by key ("<path>.<key>"), without the ignored keys.
void compare_metadata(const Json* a, const Json* b, const std::string& path, const DiffOptions& o, const Meaning& m,
                      std::vector<std::string>& out);

// Docstore parts: "nodes", "metadata", "ref_docs" (diff_nodes.cpp).
void diff_docstore(const Store& a, const Store& b, const DiffOptions& o, const Meaning& m, StoreDiff& out);

}  // namespace lstore::diffing
