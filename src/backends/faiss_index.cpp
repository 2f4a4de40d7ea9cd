// The FAISS index through libfaiss (the library FaissVectorStore itself
// uses): faiss::read_index on the file's bytes, so that every index type
// libfaiss reads is read, and faiss::write_index for the files convert writes,
// so that they are the bytes faiss.write_index writes.
#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVF.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/io.h>
#include <faiss/index_io.h>

#include <algorithm>
#include <cstring>
#include <typeinfo>

#include "lstore/error.hpp"
#include "lstore/faiss.hpp"

namespace lstore {
namespace {

// Reads straight from the mapped file: no copy of a large index's bytes.
struct ViewReader : faiss::IOReader {
  explicit ViewReader(std::string_view b) : bytes(b) { name = "<memory>"; }
  size_t operator()(void* ptr, size_t size, size_t nitems) override {
    if (size == 0) return 0;
    size_t n = std::min(nitems, (bytes.size() - pos) / size);
    if (n) std::memcpy(ptr, bytes.data() + pos, n * size);  // ptr may be null for an empty read
    pos += n * size;
    return n;
  }
  std::string_view bytes;
  size_t pos = 0;
};

struct StringWriter : faiss::IOWriter {
  size_t operator()(const void* ptr, size_t size, size_t nitems) override {
    out.append(static_cast<const char*>(ptr), size * nitems);
    return nitems;
  }
  std::string out;
};

std::string type_name(const faiss::Index* index) {
  // Most derived first: IndexFlatL2 is an IndexFlat, IndexIDMap2 an IndexIDMap.
  if (dynamic_cast<const faiss::IndexFlatL2*>(index)) return "IndexFlatL2";
  if (dynamic_cast<const faiss::IndexFlatIP*>(index)) return "IndexFlatIP";
  if (dynamic_cast<const faiss::IndexFlat*>(index)) return "IndexFlat";
  if (dynamic_cast<const faiss::IndexHNSWFlat*>(index)) return "IndexHNSWFlat";
  if (dynamic_cast<const faiss::IndexHNSW*>(index)) return "IndexHNSW";
  if (dynamic_cast<const faiss::IndexIVFFlat*>(index)) return "IndexIVFFlat";
  if (dynamic_cast<const faiss::IndexIVF*>(index)) return "IndexIVF";
  if (dynamic_cast<const faiss::IndexIDMap2*>(index)) return "IndexIDMap2";
  if (dynamic_cast<const faiss::IndexIDMap*>(index)) return "IndexIDMap";
  return "Index";
}

FaissMetric metric_of(const faiss::Index* index) {
  switch (index->metric_type) {
    case faiss::METRIC_L2: return FaissMetric::L2;
    case faiss::METRIC_INNER_PRODUCT: return FaissMetric::InnerProduct;
    default: return FaissMetric::Other;
  }
}

}  // namespace

bool faiss_compiled_in() { return true; }

struct FaissIndex::Impl {
  std::unique_ptr<faiss::Index> index;
  FaissIndexInfo info;
  std::string file;
};

FaissIndex::FaissIndex(std::unique_ptr<Impl> impl) : m(std::move(impl)) {}
FaissIndex::FaissIndex(FaissIndex&&) noexcept = default;
FaissIndex& FaissIndex::operator=(FaissIndex&&) noexcept = default;
FaissIndex::~FaissIndex() = default;

FaissIndex FaissIndex::read(std::string_view bytes, const std::string& file) {
  auto impl = std::make_unique<Impl>();
  impl->file = file;
  try {
    ViewReader reader(bytes);
    impl->index.reset(faiss::read_index(&reader));
    if (reader.pos != bytes.size())
      throw Error(ErrorKind::Data, file, "FAISS index followed by " + std::to_string(bytes.size() - reader.pos) + " stray bytes",
                  "byte " + std::to_string(reader.pos));
  } catch (const faiss::FaissException& e) {
    // libfaiss's message is a multi-line trace; its first clause says what.
    std::string what = e.msg;
    if (auto nl = what.find('\n'); nl != std::string::npos) what.resize(nl);
    throw Error(ErrorKind::Data, file, "libfaiss cannot read this FAISS index: " + what);
  }
  impl->info = {type_name(impl->index.get()), impl->index->ntotal, impl->index->d, metric_of(impl->index.get())};
  return FaissIndex(std::move(impl));
}

const FaissIndexInfo& FaissIndex::info() const { return m->info; }

std::vector<std::int64_t> FaissIndex::labels() const {
  if (auto* map = dynamic_cast<const faiss::IndexIDMap*>(m->index.get()))
    return std::vector<std::int64_t>(map->id_map.begin(), map->id_map.end());
  std::vector<std::int64_t> out(static_cast<std::size_t>(m->info.ntotal));
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = static_cast<std::int64_t>(i);
  return out;
}

std::vector<float> FaissIndex::vectors() const {
  faiss::Index* index = m->index.get();
  if (auto* map = dynamic_cast<faiss::IndexIDMap*>(index)) index = map->index;  // rows in id_map order
  std::vector<float> out(static_cast<std::size_t>(index->ntotal) * static_cast<std::size_t>(index->d));
  if (out.empty()) return out;
  try {
    if (auto* ivf = dynamic_cast<faiss::IndexIVF*>(index)) {
      // IVF lists are in cluster order; the direct map gives back row order.
      ivf->make_direct_map(true);
    }
    index->reconstruct_n(0, index->ntotal, out.data());
  } catch (const faiss::FaissException& e) {
    std::string what = e.msg;
    if (auto nl = what.find('\n'); nl != std::string::npos) what.resize(nl);
    throw Error(ErrorKind::Data, m->file, m->info.type + " does not give back its vectors: " + what);
  }
  return out;
}

std::vector<float> FaissIndex::vector_at(std::size_t pos) const {
  faiss::Index* index = m->index.get();
  if (auto* map = dynamic_cast<faiss::IndexIDMap*>(index)) index = map->index;  // position = id_map position
  std::vector<float> out(static_cast<std::size_t>(index->d));
  try {
    if (auto* ivf = dynamic_cast<faiss::IndexIVF*>(index)) ivf->make_direct_map(true);
    index->reconstruct(static_cast<faiss::Index::idx_t>(pos), out.data());
  } catch (const faiss::FaissException& e) {
    std::string what = e.msg;
    if (auto nl = what.find('\n'); nl != std::string::npos) what.resize(nl);
    throw Error(ErrorKind::Data, m->file, m->info.type + " does not give back its vectors: " + what);
  }
  return out;
}

std::vector<std::pair<std::int64_t, float>> FaissIndex::search(const std::vector<float>& query, std::size_t k) const {
  std::vector<std::pair<std::int64_t, float>> out;
  if (k == 0) return out;
  std::vector<float> distances(k);
  std::vector<faiss::Index::idx_t> labels(k);
  try {
    m->index->search(1, query.data(), static_cast<faiss::Index::idx_t>(k), distances.data(), labels.data());
  } catch (const faiss::FaissException& e) {
    std::string what = e.msg;
    if (auto nl = what.find('\n'); nl != std::string::npos) what.resize(nl);
    throw Error(ErrorKind::Data, m->file, "FAISS search failed: " + what);
  }
  for (std::size_t i = 0; i < k; ++i)
    if (labels[i] >= 0) out.emplace_back(labels[i], distances[i]);  // FaissVectorStore drops -1 padding
  return out;
}

std::string faiss_flat_index_bytes(FaissMetric metric, int dim, const std::vector<float>& rows, const std::string&) {
  std::unique_ptr<faiss::IndexFlat> index;
  if (metric == FaissMetric::InnerProduct) index = std::make_unique<faiss::IndexFlatIP>(dim);
  else index = std::make_unique<faiss::IndexFlatL2>(dim);
  if (dim > 0 && !rows.empty()) index->add(static_cast<faiss::Index::idx_t>(rows.size() / static_cast<std::size_t>(dim)), rows.data());
  StringWriter writer;
  faiss::write_index(index.get(), &writer);
  return std::move(writer.out);
}

}  // namespace lstore
