// The warm query's screening: a float32 copy of the rows, each divided by its
// norm, is scanned for the whole query; the float64 cosine (the score the
// cold query computes, to the last bit) is computed only for the candidates
// whose order the float32 scores cannot decide. The result is the cold
// query's, hit for hit and bit for bit, because every comparison the ranking
// makes has the same outcome (query_rank.cpp, rank_default_screened).
//
// Why the float32 score s of a row is within screen_bound() of the float64
// cosine c (u = 2^-24, U = 2^-53, n = the padded row length, rho = the real
// cosine of the float64 vectors q and v):
//  - a stored element r_i = fl32(v_i / fl64(|v|)) is w_i (1 + e_i) (+ at most
//    2^-150 where it is subnormal), w = v / |v| exactly, |e_i| <= e_r = u +
//    (n + 4) U: the float64 norm is off by at most (n/2 + 1) U relative, the
//    division by U, the rounding to float32 by u. The query likewise.
//  - so |sum r_i t_i - rho| <= (2 e_r + e_r^2) sum |w_i t'_i| <= 2 e_r + e_r^2
//    (Cauchy-Schwarz: sum |w_i t'_i| <= |w| |t'| = 1).
//  - the float32 dot product, in any order, with or without FMA, is within
//    gamma_n(u) sum |r_i t_i| <= gamma_n(u) (1 + e_r)^2 of sum r_i t_i.
//  - the float64 cosine: the dot within gamma_n(U) |q| |v|, the two norms
//    within (n/2 + 1) U each, the product and division U each: |c - rho| <=
//    (2n + 8) U (1 + n U).
//  - underflow (subnormal elements, products and partial sums in either
//    precision) adds absolute errors below n 2^-140, far under 2^-60.
// These hold only without overflow and where underflow is negligible against
// the norms: a row (or query) with a non-finite element, an element above
// 2^400 in magnitude or a norm below 2^-200 (zero included) is exact-only:
// its score is always computed in float64. The first-order bound is doubled,
// which covers the second-order terms and the rounding of s +- bound.
#include <cmath>

#include "core/dot_kernels.hpp"
#include "query_internal.hpp"

namespace lstore::detail {
namespace {

constexpr double kU32 = 0x1p-24;
constexpr double kU64 = 0x1p-53;

// The rows whose float64 arithmetic neither overflows nor underflows
// noticeably (see above); `n` is their float64 norm as norm() computes it.
bool screenable(const double* v, std::size_t dim, double n) {
  for (std::size_t i = 0; i < dim; ++i)
    if (!(std::fabs(v[i]) <= 0x1p400)) return false;  // also NaN
  return n >= 0x1p-200 && std::isfinite(n);
}

double gamma(std::size_t n, double u) { return static_cast<double>(n) * u / (1 - static_cast<double>(n) * u); }

}  // namespace

std::size_t screen_stride(std::size_t dim) { return (dim + 15) / 16 * 16; }

double screen_bound(std::size_t stride) {
  const double n = static_cast<double>(stride);
  const double e_r = kU32 + (n + 4) * kU64;
  const double stored = 2 * e_r + e_r * e_r;
  const double accumulated = gamma(stride, kU32) * (1 + e_r) * (1 + e_r);
  const double exact = (2 * n + 8) * kU64 * (1 + n * kU64);
  return 2 * (stored + accumulated + exact + 0x1p-60);
}

void build_screen(const double* data, std::size_t rows, std::size_t dim, float* out, unsigned char* exact_only) {
  const std::size_t stride = screen_stride(dim);
  parallel_for(rows, 4096, [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) {
      const double* v = data + i * dim;
      float* r = out + i * stride;
      const double n = norm(v, dim);
      const bool ok = screenable(v, dim, n);
      exact_only[i] = ok ? 0 : 1;
      for (std::size_t j = 0; j < dim; ++j) r[j] = ok ? static_cast<float>(v[j] / n) : 0.0f;
      for (std::size_t j = dim; j < stride; ++j) r[j] = 0.0f;
    }
  });
}

std::optional<std::vector<QueryHit>> search_screened(const VectorQuery& q, const PackedVectors& packed,
                                                     const std::vector<std::size_t>& cands) {
  const auto& screen = PackedVectorsAccess::screen(packed);
  const std::size_t dim = packed.dim();
  if (!screen.data || q.mode != QueryMode::Default || dim == 0 || q.embedding.size() != dim) return std::nullopt;
  const std::size_t k = q.top_k.value_or(0);
  if (k == 0 || k >= cands.size()) return std::nullopt;  // every candidate is a hit: nothing to screen out
  const double qn = norm(q.embedding.data(), dim);
  if (!screenable(q.embedding.data(), dim, qn)) return std::nullopt;
  const std::size_t stride = screen.stride;
  std::vector<float> qf(stride, 0.0f);
  for (std::size_t j = 0; j < dim; ++j) qf[j] = static_cast<float>(q.embedding[j] / qn);

  const std::size_t n = cands.size();
  std::vector<float> screened(n);
  std::vector<unsigned char> exact_only(n);
  const dot::Kernels& kern = dot::kernels();
  parallel_for(n, 8192, [&](std::size_t b, std::size_t e) {
    kern.rows_f32(qf.data(), screen.data, stride, cands.data() + b, e - b, screened.data() + b);
    for (std::size_t i = b; i < e; ++i) exact_only[i] = screen.exact_only[cands[i]];
  });
  std::vector<std::string_view> ids(n);
  for (std::size_t i = 0; i < n; ++i) ids[i] = packed.ids()[cands[i]];
  const std::function<double(std::size_t)> exact = [&](std::size_t i) {
    return cosine(q.embedding.data(), qn, packed.row(cands[i]), dim);
  };
  std::vector<QueryHit> hits;
  for (const auto& [i, sim] : rank_default_screened(screened, exact_only, screen_bound(stride), ids, k, exact))
    hits.push_back({std::string(ids[i]), sim});
  return hits;
}

}  // namespace lstore::detail
