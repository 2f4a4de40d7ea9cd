// Entries set aside for the way back from TS (see dialect_carry.hpp).
#include "dialect_carry.hpp"

#include "core/hash.hpp"

namespace lstore::carry {
namespace {

std::string vector_file_id(std::string_view ns) {
  return std::string("vector:") + (ns == "images" ? "image" : std::string(ns));
}

// Every Python entry that `back` does not hold with the same bytes.
void compare_doc(const JsonDoc& python, const JsonDoc* back, Collections& out) {
  for (const Section& sec : python.sections()) {
    if (!sec.outlined || sec.is_array) continue;  // not a collection of entries
    const Section* back_sec = back ? back->section(sec.name) : nullptr;
    for (const Entry& e : sec.entries) {
      if (sec.find(e.key) != &e) continue;  // a shadowed duplicate key: json.load never sees it
      const Entry* b = back_sec ? back_sec->find(e.key) : nullptr;
      if (b && b->raw == e.raw) continue;
      out[sec.name].add({std::string(e.key), std::string(e.raw), ""});
    }
  }
}

}  // namespace

void AsideList::add(Aside a) {
  by_key[a.key] = entries.size();
  entries.push_back(std::move(a));
}

const Aside* AsideList::find(std::string_view key) const {
  auto it = by_key.find(std::string(key));
  return it == by_key.end() ? nullptr : &entries[it->second];
}

std::size_t Plan::count() const {
  std::size_t n = 0;
  for (const auto& [file, colls] : by_file)
    for (const auto& [name, asides] : colls) n += asides.entries.size();
  return n;
}

Plan entries_not_restored(const Store& python, const Store& back) {
  Plan plan;
  auto add = [&](const std::string& id, const std::optional<JsonDoc>& src, const JsonDoc* dst) {
    if (!src) return;
    Collections c;
    compare_doc(*src, dst, c);
    if (!c.empty()) plan.by_file[id] = std::move(c);
  };
  add("docstore", python.docstore, back.docstore ? &*back.docstore : nullptr);
  add("index_store", python.index_store, back.index_store ? &*back.index_store : nullptr);
  for (const VectorStoreDoc& v : python.vector_stores) {
    const VectorStoreDoc* b = nullptr;
    for (const VectorStoreDoc& w : back.vector_stores)
      if (vector_file_id(w.ns) == vector_file_id(v.ns)) b = &w;
    Collections c;
    compare_doc(v.doc, b ? &b->doc : nullptr, c);
    if (!c.empty()) plan.by_file[vector_file_id(v.ns)] = std::move(c);
  }
  return plan;
}

Collections read_asides(const JsonDoc& ts_doc) {
  Collections out;
  for (const Section& sec : ts_doc.sections()) {
    if (sec.name.rfind(kPrefix, 0) != 0 || !sec.outlined) continue;
    std::string collection = sec.name.substr(kPrefix.size());
    for (const Entry& e : sec.entries) {
      Json v = ts_doc.decode(e.raw);
      const Json* py = v.find("python");
      const Json* sha = v.find("ts");
      if (!py || !py->is_string() || !sha || !sha->is_string()) continue;  // not ours: ignored
      out[collection].add({std::string(e.key), py->as_string(), sha->as_string()});
    }
  }
  return out;
}

const Aside* restorable(const Collections& asides, const std::string& collection, std::string_view key,
                        std::string_view ts_raw, std::size_t& stale) {
  auto it = asides.find(collection);
  if (it == asides.end()) return nullptr;
  const Aside* a = it->second.find(key);
  if (!a) return nullptr;
  if (!a->ts_sha.empty() && a->ts_sha == sha256_hex(ts_raw)) return a;
  ++stale;
  return nullptr;
}

}  // namespace lstore::carry
