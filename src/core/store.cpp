#include "lstore/store.hpp"

namespace lstore {

const Section* Store::doc_collection(const char* name) const {
  return docstore ? docstore->section(name) : nullptr;
}

const Section* Store::index_collection() const {
  if (!index_store) return nullptr;
  if (const Section* s = index_store->section(coll::kIndexData)) return s;
  return index_store->section(coll::kDocData);  // TS keeps index structs under docstore/data
}

const VectorStoreDoc* Store::vector_store(std::string_view ns) const {
  for (const auto& v : vector_stores)
    if (v.ns == ns) return &v;
  return nullptr;
}

}  // namespace lstore
