// The warm query's int8 screening (ops/query_screen.cpp) must return
// exactly what scoring every candidate in float64 returns: the same ids, the
// same scores to the last bit, the same order of ties. Each case builds a
// matrix, its screening copy, and compares search_screened with
// rank_default over cosine() of every candidate.
#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/dot_kernels.hpp"
#include "ops/query_internal.hpp"

using namespace lstore;

namespace {

struct Matrix {
  std::size_t dim;
  std::vector<double> data;  // rows x dim
  std::vector<std::string> names;

  explicit Matrix(std::size_t d) : dim(d) {}
  std::size_t rows() const { return names.size(); }
  void add(const std::vector<double>& v) {
    data.insert(data.end(), v.begin(), v.end());
    names.push_back("node-" + std::to_string(names.size()));
  }
};

struct Screened {
  std::vector<std::int8_t> codes;
  std::vector<float> params;  // scale, bound per row
  PackedVectors packed;
  bool exact_only(std::size_t i) const { return std::isinf(params[2 * i + 1]); }
};

std::unique_ptr<Screened> pack(const Matrix& m) {
  auto s = std::make_unique<Screened>();
  const std::size_t stride = detail::screen_stride(m.dim);
  s->codes.assign(m.rows() * stride + 1, 99);
  s->params.assign(m.rows() * 2 + 1, -1.0f);
  detail::build_screen(m.data.data(), m.rows(), m.dim, s->codes.data(), s->params.data());
  std::vector<std::string_view> ids(m.names.begin(), m.names.end());
  s->packed = PackedVectorsAccess::make(std::move(ids), {}, m.dim, m.data.data(), nullptr);
  PackedVectorsAccess::set_screen(s->packed, {s->codes.data(), s->params.data(), stride});
  return s;
}

std::vector<QueryHit> exact_top_k(const Matrix& m, const std::vector<double>& q, std::size_t k,
                                  const std::vector<std::size_t>& cands) {
  std::vector<double> sims;
  std::vector<std::string_view> ids;
  const double qn = detail::norm(q.data(), m.dim);
  for (std::size_t c : cands) {
    sims.push_back(detail::cosine(q.data(), qn, m.data.data() + c * m.dim, m.dim));
    ids.push_back(m.names[c]);
  }
  std::vector<QueryHit> hits;
  for (std::size_t i : detail::rank_default(sims, ids, k)) hits.push_back({std::string(ids[i]), sims[i]});
  return hits;
}

std::vector<std::size_t> all_rows(const Matrix& m) {
  std::vector<std::size_t> c(m.rows());
  for (std::size_t i = 0; i < c.size(); ++i) c[i] = i;
  return c;
}

// The same hits in the same order, each score to the last bit.
void check_same_hits(const std::vector<QueryHit>& got, const std::vector<QueryHit>& want) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    INFO("rank " << i);
    CHECK(got[i].id == want[i].id);
    CHECK(std::bit_cast<std::uint64_t>(got[i].score) == std::bit_cast<std::uint64_t>(want[i].score));
  }
}

// Checks screened == exact; returns false when the screening did not apply.
bool same_as_exact(const Matrix& m, const Screened& s, const std::vector<double>& q, std::size_t k,
                   const std::vector<std::size_t>& cands) {
  VectorQuery vq;
  vq.embedding = q;
  vq.top_k = k;
  auto got = detail::search_screened(vq, s.packed, cands);
  auto want = exact_top_k(m, q, k, cands);
  if (!got) return false;
  check_same_hits(*got, want);
  return true;
}

std::vector<double> gaussian(std::mt19937_64& rng, std::size_t dim, double scale = 1) {
  std::normal_distribution<double> n(0, 1);
  std::vector<double> v(dim);
  for (auto& x : v) x = n(rng) * scale;
  return v;
}

}  // namespace

TEST_CASE("screen: every kernel's int8 dot product is exact, and each row's bound covers its residual") {
  std::mt19937_64 rng(7);
  const std::size_t dim = 384, stride = detail::screen_stride(dim), rows = 300;
  CHECK(stride == 384);
  CHECK(detail::screen_stride(1) == 32);
  CHECK(detail::screen_stride(33) == 64);
  Matrix m(dim);
  for (std::size_t i = 0; i < rows; ++i) m.add(gaussian(rng, dim));
  auto s = pack(m);
  CHECK(s->codes[rows * stride] == 99);  // nothing written past the copy
  CHECK(s->params[rows * 2] == -1.0f);
  for (std::size_t i = 0; i < rows; ++i) {
    const double* v = m.data.data() + i * dim;
    const double n = detail::norm(v, dim);
    double r2 = 0;
    for (std::size_t j = 0; j < dim; ++j) {
      const double r = v[j] / n - static_cast<double>(s->params[2 * i]) * s->codes[i * stride + j];
      r2 += r * r;
    }
    CHECK(std::sqrt(r2) <= s->params[2 * i + 1]);
    CHECK(s->params[2 * i + 1] < 0.05);  // about 0.008 for 384 gaussian numbers
  }
  // The largest codes the query may have (127 * stride * q < 2^31), at both signs.
  std::vector<std::int16_t> q(stride);
  std::uniform_int_distribution<int> code(-32767, 32767);
  for (auto& x : q) x = static_cast<std::int16_t>(code(rng));
  q[0] = 32767;
  q[1] = -32767;
  auto cands = all_rows(m);
  const dot::Kernels* ks[4];
  const std::size_t n = dot::available_kernels(ks, 4);
  REQUIRE(n >= 1);
  for (std::size_t k = 0; k < n; ++k) {
    INFO(ks[k]->name);
    std::vector<std::int32_t> out(rows);
    ks[k]->rows_i8(q.data(), s->codes.data(), stride, cands.data(), rows, out.data());
    for (std::size_t i = 0; i < rows; ++i) {
      std::int64_t want = 0;
      for (std::size_t j = 0; j < stride; ++j) want += std::int64_t{q[j]} * s->codes[i * stride + j];
      CHECK(out[i] == want);
    }
  }
}

TEST_CASE("screen: random vectors, several k, every candidate or a few") {
  std::mt19937_64 rng(42);
  Matrix m(384);
  for (int i = 0; i < 3000; ++i) m.add(gaussian(rng, 384));
  auto s = pack(m);
  for (int t = 0; t < 5; ++t) {
    auto q = gaussian(rng, 384);
    for (std::size_t k : {1, 2, 10, 100, 2999}) CHECK(same_as_exact(m, *s, q, k, all_rows(m)));
    // A filter that keeps one row in 97.
    std::vector<std::size_t> few;
    for (std::size_t r = 5; r < m.rows(); r += 97) few.push_back(r);
    CHECK(same_as_exact(m, *s, q, 3, few));
    CHECK(same_as_exact(m, *s, q, 10, few));
    // A stored vector as the query: it scores 1 (or a hair off).
    CHECK(same_as_exact(m, *s, std::vector<double>(m.data.begin() + 384 * t, m.data.begin() + 384 * (t + 1)), 5,
                        all_rows(m)));
  }
}

TEST_CASE("screen: near-ties within the int8 error and duplicates keep LlamaIndex's order") {
  std::mt19937_64 rng(3);
  const std::size_t dim = 64;
  Matrix m(dim);
  auto base = gaussian(rng, dim);
  std::uniform_int_distribution<std::size_t> pick(0, dim - 1);
  for (int i = 0; i < 400; ++i) {
    auto v = base;
    switch (i % 5) {
      case 0: break;  // exact duplicates: ties broken by the heap, as heapq does
      case 1: v[pick(rng)] *= 1 + 1e-9; break;  // below float32 resolution
      case 2: v[pick(rng)] += 1e-7; break;      // about the float32 error
      case 4: v[pick(rng)] += 1e-3; break;      // below the int8 error: mis-ordered by the screen
      case 3:
        for (auto& x : v) x *= 2;  // the same direction, other length
        break;
      default: break;
    }
    if (i % 10 == 9) v = gaussian(rng, dim);
    m.add(v);
  }
  auto s = pack(m);
  for (std::size_t k : {1, 3, 10, 50, 150}) {
    CHECK(same_as_exact(m, *s, base, k, all_rows(m)));
    auto near = base;
    near[0] += 1e-6;
    CHECK(same_as_exact(m, *s, near, k, all_rows(m)));
    CHECK(same_as_exact(m, *s, gaussian(rng, dim), k, all_rows(m)));
  }
}

TEST_CASE("screen: zero, huge, tiny and non-finite rows are scored exactly") {
  std::mt19937_64 rng(11);
  const std::size_t dim = 24;  // padded to 32
  Matrix m(dim);
  for (int i = 0; i < 600; ++i) {
    auto v = gaussian(rng, dim);
    switch (i % 8) {
      case 0: v.assign(dim, 0.0); break;                                 // NaN score, as numpy
      case 1: for (auto& x : v) x *= 1e300; break;                       // v.v overflows
      case 2: for (auto& x : v) x *= 1e-300; break;                      // v.v underflows
      case 3: for (auto& x : v) x *= 1e-310; break;                      // subnormal elements
      case 4: v[0] = 1e100; v[1] = 1e-100; break;                        // mixed magnitudes
      case 5: v[2] = std::numeric_limits<double>::infinity(); break;     // Python's Infinity
      case 6: for (auto& x : v) x *= 1e30; break;                        // beyond float32, fine in float64
      default: break;
    }
    m.add(v);
  }
  auto s = pack(m);
  for (std::size_t i = 0; i < m.rows(); ++i) {
    INFO("row " << i);
    const int kind = static_cast<int>(i % 8);
    CHECK(s->exact_only(i) == (kind == 0 || kind == 1 || kind == 2 || kind == 3 || kind == 5));
  }
  // Without the rows that score NaN (zero, Infinity) the screen answers;
  // with them it leaves the ranking to the exact path (NaN is not ordered),
  // which query_packed then takes.
  std::vector<std::size_t> finite;
  for (std::size_t i = 0; i < m.rows(); ++i)
    if (i % 8 != 0 && i % 8 != 5) finite.push_back(i);
  auto through_query_packed = [&](const std::vector<double>& q, std::size_t k) {
    VectorQuery vq;
    vq.embedding = q;
    vq.top_k = k;
    check_same_hits(query_packed(s->packed, vq), exact_top_k(m, vq.embedding, k, all_rows(m)));
  };
  for (std::size_t k : {1, 5, 40, 200}) {
    CHECK(same_as_exact(m, *s, gaussian(rng, dim), k, finite));
    // Tiny and huge queries make some of those rows score NaN too (0/0,
    // inf/inf, as numpy): the exact path answers.
    through_query_packed(gaussian(rng, dim, 1e-50), k);
    through_query_packed(gaussian(rng, dim, 1e100), k);
    through_query_packed(gaussian(rng, dim), k);
  }
  // Queries the screening cannot bound are left to the exact search.
  VectorQuery q;
  q.top_k = 3;
  q.embedding.assign(dim, 0.0);
  CHECK_FALSE(detail::search_screened(q, s->packed, all_rows(m)));
  q.embedding = gaussian(rng, dim, 1e-300);
  CHECK_FALSE(detail::search_screened(q, s->packed, all_rows(m)));
}

TEST_CASE("screen: when it does not apply, and through query_packed") {
  std::mt19937_64 rng(5);
  Matrix m(16);
  for (int i = 0; i < 50; ++i) m.add(gaussian(rng, 16));
  auto s = pack(m);
  VectorQuery q;
  q.embedding = gaussian(rng, 16);
  q.top_k = 50;  // k >= candidates: every candidate is a hit
  CHECK_FALSE(detail::search_screened(q, s->packed, all_rows(m)));
  q.top_k = 0;  // LlamaIndex keeps all
  CHECK_FALSE(detail::search_screened(q, s->packed, all_rows(m)));
  q.top_k = 3;
  q.mode = QueryMode::Mmr;
  CHECK_FALSE(detail::search_screened(q, s->packed, all_rows(m)));
  q.mode = QueryMode::Default;
  for (std::size_t k : {3, 49, 50, 80}) {
    q.top_k = k;
    check_same_hits(query_packed(s->packed, q), exact_top_k(m, q.embedding, k, all_rows(m)));
  }
  std::vector<std::size_t> none;
  q.top_k = 3;
  CHECK_FALSE(detail::search_screened(q, s->packed, none));
}
