// lstore diff: what changed between two stores, part by part. Records whose
// bytes are equal are equal; only the others are decoded and every field of
// them compared by meaning: key order, layout and the spelling of a number
// (1e-05 / 0.00001; 1 / 1.0 where JavaScript wrote one of them) do not count,
// nor, across dialects, the names and defaults that differ between Python's
// and TS's LlamaIndex for the same content; everything else does. Files the
// model does not hold are compared byte for byte.
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
  bool numbers_as_doubles = false;    // 1 == 1.0 (always so across dialects and between TS stores)
};

struct ChangedEntry {
  std::string id;
  // What differs, by field name or key path: "text", "start_char_idx",
  // "metadata.<key>", "relationships.<code>.<field>", "embedding", "hash",
  // "text_resource.text" (a key path inside a field), ...; for files
  // "bytes"; counts such as "+3 nodes" beside the field they summarise.
  std::vector<std::string> fields;
  // Embeddings: the largest absolute difference and the cosine similarity
  // between old and new; dimensions when they differ.
  std::optional<double> max_abs_diff, cosine;
  std::optional<std::size_t> old_dim, new_dim;
  std::string old_text, new_text;  // for nodes whose text changed (diff --text)
};

// One part of a store: "nodes", "ref_docs", "metadata", "indexes",
// "vectors:<namespace>", "graph", "property_graph", "chat", "files", and
// "<file>:<section>" (file: docstore, index_store, graph_store,
// property_graph) for a section of a store file that no other part reads.
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

// Two stores read for their summary (Backend::load_streamed) made ready for
// diff_stores in compact memory: each large file is streamed again for a
// hash of every entry's key and bytes, and cut down to the entries whose
// keys may differ between the two (diff_stream.cpp); diff_stores then says
// what it says of the stores read whole. False when that cannot be done
// exactly (a duplicate key, ...): the caller diffs the stores read whole.
// Throws Error as reading a file does.
bool narrow_for_diff(Store& a, Store& b);

// A unified diff of two texts, line by line (for diff --text).
std::string unified_diff(const std::string& a, const std::string& b, const std::string& label_a,
                         const std::string& label_b, int context = 3);

}  // namespace lstore
