// Puts read files into the model: the one place that decides which file
// fills which slot (docstore, index store, vector namespace, ...), shared by
// every backend so that a store reads the same wherever it lives.
#pragma once

#include <optional>

#include "lstore/store.hpp"

namespace lstore {

class StoreBuilder {
 public:
  explicit StoreBuilder(std::string location) { m_store.location = std::move(location); }

  // A file and, when it is a JSON object, its outline; `dialect` is what its
  // content looked like (a TS file votes for the TS dialect of the store).
  void add(FileInfo info, std::optional<JsonDoc> doc, Dialect dialect);
  // The store, with its dialect decided by the files' votes and its era.
  Store finish();

 private:
  Store m_store;
  std::vector<std::shared_ptr<Buffer>> m_bytes;  // each file's bytes, by index in m_store.files
  int m_ts_votes = 0;
  int m_py_votes = 0;
};

}  // namespace lstore
