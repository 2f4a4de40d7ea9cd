// FaissIndex over the index types FaissVectorStore users persist besides
// IndexFlat: each is built and written by libfaiss itself, then read back
// through lstore, which must give back the same rows, labels and search.
#include <doctest/doctest.h>

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/impl/io.h>
#include <faiss/index_io.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lstore/error.hpp"
#include "lstore/faiss.hpp"

namespace {

using lstore::FaissIndex;

std::string write(const faiss::Index& index) {
  faiss::VectorIOWriter w;
  faiss::write_index(&index, &w);
  return std::string(w.data.begin(), w.data.end());
}

// 40 distinct rows of dimension 4.
std::vector<float> rows() {
  std::vector<float> v;
  for (int i = 0; i < 40; ++i)
    for (int j = 0; j < 4; ++j) v.push_back(static_cast<float>((i * 7 + j * 3) % 11) - 5.0f + 0.01f * static_cast<float>(i));
  return v;
}

}  // namespace

TEST_CASE("faiss: Flat, HNSW-Flat, IVF-Flat and IDMap read back with their rows") {
  const std::vector<float> data = rows();
  const faiss::Index::idx_t n = 40;

  faiss::IndexFlatL2 flat(4);
  flat.add(n, data.data());
  faiss::IndexHNSWFlat hnsw(4, 8);
  hnsw.add(n, data.data());
  faiss::IndexFlatL2 quantizer(4);
  faiss::IndexIVFFlat ivf(&quantizer, 4, 4);
  ivf.train(n, data.data());
  ivf.add(n, data.data());
  faiss::IndexFlatIP inner(4);
  faiss::IndexIDMap idmap(&inner);
  std::vector<faiss::Index::idx_t> ids;
  for (faiss::Index::idx_t i = 0; i < n; ++i) ids.push_back(1000 + i);
  idmap.add_with_ids(n, data.data(), ids.data());

  struct Case {
    const faiss::Index* index;
    const char* type;
    lstore::FaissMetric metric;
  };
  for (const Case& c : {Case{&flat, "IndexFlatL2", lstore::FaissMetric::L2},
                        Case{&hnsw, "IndexHNSWFlat", lstore::FaissMetric::L2},
                        Case{&ivf, "IndexIVFFlat", lstore::FaissMetric::L2},
                        Case{&idmap, "IndexIDMap", lstore::FaissMetric::InnerProduct}}) {
    CAPTURE(c.type);
    FaissIndex read = FaissIndex::read(write(*c.index), "x.faiss");
    CHECK(read.info().type == c.type);
    CHECK(read.info().ntotal == n);
    CHECK(read.info().dim == 4);
    CHECK(read.info().metric == c.metric);
    CHECK(read.vectors() == data);  // row order, not IVF's list order
    std::vector<std::int64_t> labels = read.labels();
    REQUIRE(labels.size() == 40);
    CHECK(labels[5] == (c.metric == lstore::FaissMetric::InnerProduct ? 1005 : 5));
    // The row itself is its own nearest neighbour under L2 (IVF probes its list).
    if (c.metric == lstore::FaissMetric::L2) {
      std::vector<float> q(data.begin() + 20, data.begin() + 24);
      auto hits = read.search(q, 1);
      REQUIRE(hits.size() == 1);
      CHECK(hits[0].first == 5);  // row 5 starts at float 20
      CHECK(hits[0].second == 0.0f);
    }
  }
}

TEST_CASE("faiss: the flat index lstore writes is the one libfaiss writes") {
  const std::vector<float> data = rows();
  faiss::IndexFlatIP ip(4);
  ip.add(40, data.data());
  CHECK(lstore::faiss_flat_index_bytes(lstore::FaissMetric::InnerProduct, 4, data, "x") == write(ip));
  faiss::IndexFlatL2 empty(16);
  std::string bytes = lstore::faiss_flat_index_bytes(lstore::FaissMetric::L2, 16, {}, "x");
  CHECK(bytes == write(empty));
  CHECK(bytes.size() == 45);  // spec/VECTOR_STORES.md §2.2
}

TEST_CASE("faiss: bytes libfaiss refuses are one Data error naming the file") {
  std::string bytes = lstore::faiss_flat_index_bytes(lstore::FaissMetric::L2, 4, rows(), "x");
  for (std::size_t cut : {std::size_t{3}, std::size_t{20}, std::size_t{60}, bytes.size() - 1}) {
    CAPTURE(cut);
    try {
      FaissIndex::read(bytes.substr(0, cut), "default__vector_store.json");
      FAIL("read a truncated index");
    } catch (const lstore::Error& e) {
      CHECK(e.kind() == lstore::ErrorKind::Data);
      CHECK(e.where() == "default__vector_store.json");
    }
  }
  CHECK_THROWS_AS(FaissIndex::read(bytes + "x", "f"), lstore::Error);  // stray bytes after the index
}

TEST_CASE("faiss: the streamed flat layout (header, then the rows) is libfaiss's write_index, and reads back without it") {
  const std::vector<float> data = rows();
  for (auto metric : {lstore::FaissMetric::L2, lstore::FaissMetric::InnerProduct}) {
    CAPTURE(lstore::faiss_metric_name(metric));
    std::unique_ptr<faiss::IndexFlat> index;
    if (metric == lstore::FaissMetric::L2) index = std::make_unique<faiss::IndexFlatL2>(4);
    else index = std::make_unique<faiss::IndexFlatIP>(4);
    for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{40}}) {
      CAPTURE(n);
      index->reset();
      if (n) index->add(static_cast<faiss::Index::idx_t>(n), data.data());
      const std::string theirs = write(*index);
      std::string ours = lstore::faiss_flat_header(metric, 4, static_cast<std::int64_t>(n));
      ours.append(reinterpret_cast<const char*>(data.data()), n * 4 * sizeof(float));
      CHECK(ours == theirs);
      // Read back from the bytes alone: counts, type, every row.
      std::optional<lstore::FaissFlatFile> flat = lstore::faiss_flat_file(theirs);
      REQUIRE(flat);
      CHECK(flat->info.ntotal == static_cast<std::int64_t>(n));
      CHECK(flat->info.dim == 4);
      CHECK(flat->info.type == (metric == lstore::FaissMetric::L2 ? "IndexFlatL2" : "IndexFlatIP"));
      CHECK(flat->info.metric == metric);
      float row[4];
      for (std::size_t i = 0; i < n; ++i) {
        flat->row(i, row);
        CHECK(std::equal(row, row + 4, data.begin() + static_cast<std::ptrdiff_t>(i * 4)));
      }
      // A cut or padded file, or another index type, is left to libfaiss.
      CHECK_FALSE(lstore::faiss_flat_file(theirs.substr(0, theirs.size() - 1)));
      CHECK_FALSE(lstore::faiss_flat_file(theirs + "x"));
    }
  }
  faiss::IndexHNSWFlat hnsw(4, 8);
  CHECK_FALSE(lstore::faiss_flat_file(write(hnsw)));
  // One row of an IDMap'd index without the others: the one at that position.
  faiss::IndexFlatL2 inner(4);
  faiss::IndexIDMap map(&inner);
  std::vector<faiss::Index::idx_t> ids(40);
  for (std::size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<faiss::Index::idx_t>(100 + i);
  map.add_with_ids(40, data.data(), ids.data());
  FaissIndex read = FaissIndex::read(write(map), "x");
  std::vector<float> seventh = read.vector_at(7);
  CHECK(std::equal(seventh.begin(), seventh.end(), data.begin() + 28));
}
