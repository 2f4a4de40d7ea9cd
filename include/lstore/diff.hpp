// lstore diff: what changed between two stores, part by part. Records whose
// bytes are equal are equal; only the others are decoded and compared by
// meaning (so formatting and dialect differences do not count).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "lstore/store.hpp"

namespace lstore {

struct DiffOptions {
  double tolerance = 0;              // embeddings: max |a-b| that still counts as equal
  std::set<std::string> ignore_keys;  // metadata keys that always change (timestamps)
  bool numbers_as_doubles = false;    // 1 == 1.0 (set by diff_stores across dialects)
};

struct ChangedEntry {
  std::string id;
  std::vector<std::string> fields;  // what differs: "text", "metadata.<key>", "relationships", "hash", ...
  // Embeddings: the largest absolute difference and the cosine similarity
  // between old and new; dimensions when they differ.
  std::optional<double> max_abs_diff, cosine;
  std::optional<std::size_t> old_dim, new_dim;
  std::string old_text, new_text;  // for nodes whose text changed (diff --text)
};

// One part of a store: "nodes", "ref_docs", "metadata", "indexes",
// "index:<id>", "vectors:<namespace>", "graph", "property_graph".
struct PartDiff {
  std::vector<std::string> added, removed;
  std::vector<ChangedEntry> changed;
  bool empty() const { return added.empty() && removed.empty() && changed.empty(); }
};

struct StoreDiff {
  std::map<std::string, PartDiff> parts;  // only parts present in either store
  bool equal() const {
    for (const auto& [k, p] : parts)
      if (!p.empty()) return false;
    return true;
  }
};

StoreDiff diff_stores(const Store& a, const Store& b, const DiffOptions& options);

// A unified diff of two texts, line by line (for diff --text).
std::string unified_diff(const std::string& a, const std::string& b, const std::string& label_a,
                         const std::string& label_b, int context = 3);

}  // namespace lstore
