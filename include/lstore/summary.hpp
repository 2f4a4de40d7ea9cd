// What `lstore ls` reports about a store, and the diagnoses of what users trip
// over (missing files, legacy names, FAISS binaries, LFS pointers, ...).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "lstore/model.hpp"
#include "lstore/store.hpp"
#include "lstore/validate.hpp"

namespace lstore {

struct IndexSummary {
  std::string id;
  std::string type;
  std::size_t nodes = 0;
};

struct Summary {
  std::string dialect;  // "python" | "ts"
  std::string era;
  std::size_t nodes = 0, ref_docs = 0, metadata = 0;
  std::vector<IndexSummary> indexes;
  std::vector<VectorStoreInfo> vector_stores;
  GraphInfo graph;
  std::optional<PropertyGraphInfo> property_graph;
  std::vector<Finding> problems;  // diagnose_layout()'s findings
};

Summary summarize(const Store& store);

}  // namespace lstore
