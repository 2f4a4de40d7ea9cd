// Python entries a Python -> TS conversion sets aside inside the TS files so
// that TS -> Python restores them byte for byte (FORMAT.md §9: TS reads its
// KV collections and vector-store members by name, so an extra collection
// rides along unread and survives TS's own re-persist).
//
// An entry is set aside only when the way back would not give it back as it
// was: a float spelled 0.0, NaN, a custom template, an ImageNode's image, a
// stored hash, a tree index TS cannot load, ... In the TS file it sits under
// "lstore/python:<collection>" as {"ts": sha256 of the TS entry as written
// ("" when TS holds none), "python": the Python entry's text}. The way back
// uses it only while the TS entry is unchanged, so an edit made in TS wins.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "lstore/store.hpp"

namespace lstore::carry {

inline constexpr std::string_view kPrefix = "lstore/python:";

struct Aside {
  std::string key;
  std::string python;  // the entry's text in the Python file
  std::string ts_sha;  // sha256 of the TS entry; empty: TS holds none
};

// The entries of one collection, in the source's order, found by key.
struct AsideList {
  std::vector<Aside> entries;
  std::unordered_map<std::string, std::size_t> by_key;
  void add(Aside a);
  const Aside* find(std::string_view key) const;
};

// Python collection -> its entries set aside.
using Collections = std::map<std::string, AsideList>;

// Set-aside entries of one file each: "docstore", "index_store", "vector:<ns>".
struct Plan {
  std::map<std::string, Collections> by_file;
  std::size_t count() const;
};

// The entries of `python` that `back` (python -> TS -> Python) does not hold
// byte for byte; ts_sha is left empty here (filled when the TS file is
// written).
Plan entries_not_restored(const Store& python, const Store& back);

// Set-aside entries found in one TS document (its "lstore/python:" sections).
Collections read_asides(const JsonDoc& ts_doc);

// The Python text to write for `key` of `collection`, when an aside exists
// and the TS entry `ts_raw` is still what lstore wrote; nullptr otherwise.
// `stale` counts asides not used because TS changed the entry.
const Aside* restorable(const Collections& asides, const std::string& collection, std::string_view key,
                        std::string_view ts_raw, std::size_t& stale);

}  // namespace lstore::carry
