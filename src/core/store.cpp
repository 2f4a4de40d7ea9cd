#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include "lstore/store.hpp"

namespace lstore {

const CollectionCounts* StreamedCounts::find(std::string_view file, std::string_view collection) const {
  auto f = files.find(file);
  if (f == files.end()) return nullptr;
  auto c = f->second.find(collection);
  return c == f->second.end() ? nullptr : &c->second;
}

const CollectionCounts* Store::streamed_counts(const JsonDoc& doc, std::string_view collection) const {
  return streamed ? streamed->find(doc.name(), collection) : nullptr;
}

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

std::vector<const JsonDoc*> Store::documents() const {
  std::vector<const JsonDoc*> out;
  for (const auto* d : {&docstore, &index_store, &graph_store, &property_graph})
    if (*d) out.push_back(&**d);
  for (const auto& v : vector_stores) out.push_back(&v.doc);
  return out;
}

const JsonDoc* Store::document(std::string_view name) const {
  for (const JsonDoc* d : documents())
    if (d->name() == name) return d;
  return nullptr;
}

}  // namespace lstore

namespace lstore {

void Store::verify() const {
  std::vector<const JsonDoc*> docs = documents();
  std::atomic<std::size_t> next{0};
  std::exception_ptr first;
  std::mutex m;
  auto worker = [&] {
    for (std::size_t i; (i = next.fetch_add(1)) < docs.size();) {
      try {
        docs[i]->verify();
      } catch (...) {
        std::lock_guard<std::mutex> lock(m);
        if (!first) first = std::current_exception();
      }
    }
  };
  std::thread other(worker);
  worker();
  other.join();
  if (first) std::rethrow_exception(first);
}

}  // namespace lstore
