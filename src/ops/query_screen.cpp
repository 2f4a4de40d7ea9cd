// The warm query's screening: an int8 copy of the rows, each divided by its
// norm and scaled to its largest element, is scanned for the whole query
// (exact integer dot products with an int16 copy of the query); each row's
// result plus its error bound is an upper bound on its float64 cosine, and
// the float64 cosine (the score the cold query computes, to the last bit) is
// computed only for the rows whose bound reaches the top-k heap
// (query_rank.cpp, rank_default_bounded). The result is the cold query's,
// hit for hit and bit for bit.
//
// Why the bound holds (U = 2^-53, n = the padded row length, w = v / |v|
// and t = q / |q| exactly, rho = w . t the real cosine):
//  - a row is stored as codes a_j and a float32 scale s, w^_j = s a_j, and R
//    >= |w - w^|: the residual of the float64 quotients, whose norm is
//    computed in float64, plus the quotients' own error ((n/2 + 2) U each,
//    relative), the sum rounded up to float32;
//  - the query likewise as int16 codes b_j and a float64 scale s_q, t^_j =
//    s_q b_j, E >= |t - t^|;
//  - rho - w^ . t^ = (w - w^) . t + w^ . (t - t^), so |rho - s s_q D| <= R +
//    (1 + R) E, where D = sum a_j b_j is computed exactly in int32 (|b_j| <=
//    Q with Q 127 n < 2^31, so no partial sum can overflow);
//  - the float64 cosine c: the dot within gamma_n(U) |q| |v|, the two norms
//    within (n/2 + 1) U each, the product and division U each: |c - rho| <=
//    (2n + 8) U (1 + n U), doubled here;
//  - the few float64 operations that form the bound add under 1e-15, and
//    underflow (subnormal quotients or products) absolute errors below
//    n 2^-1000: both inside the 1e-12 added.
// These hold only without overflow and where underflow is negligible against
// the norms: a row (or query) with a non-finite element, an element above
// 2^400 in magnitude or a norm below 2^-200 (zero included) is exact-only:
// its score is always computed in float64.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <memory>

#include "core/dot_kernels.hpp"
#include "query_internal.hpp"
#include "vector_cache.hpp"

namespace lstore::detail {
namespace {

constexpr double kU64 = 0x1p-53;

// The rows whose float64 arithmetic neither overflows nor underflows
// noticeably (see above); `n` is their float64 norm as norm() computes it.
bool screenable(const double* v, std::size_t dim, double n) {
  for (std::size_t i = 0; i < dim; ++i)
    if (!(std::fabs(v[i]) <= 0x1p400)) return false;  // also NaN
  return n >= 0x1p-200 && std::isfinite(n);
}

// An upper bound on a computed residual norm (see above).
double residual_bound(double computed, std::size_t n) {
  return computed * (1 + 1e-9) + static_cast<double>(n + 8) * kU64;
}

float round_up_f32(double x) {
  float f = static_cast<float>(x);
  if (static_cast<double>(f) < x) f = std::nextafter(f, FLT_MAX);
  return f;
}

// Rows per thread-sized piece of work when the screen has no checksum blocks.
constexpr std::size_t kPlainBlockRows = 4096;

}  // namespace

std::size_t screen_stride(std::size_t dim) { return (dim + 31) / 32 * 32; }

void quantise_row(const double* v, std::size_t dim, std::size_t stride, std::int8_t* codes, float* params) {
  const double n = norm(v, dim);
  std::fill(codes, codes + stride, std::int8_t{0});
  if (!screenable(v, dim, n)) {
    params[0] = 0.0f;
    params[1] = INFINITY;
    return;
  }
  double top = 0;
  for (std::size_t j = 0; j < dim; ++j) top = std::max(top, std::fabs(v[j] / n));
  const float s = static_cast<float>(top / 127);
  const double sd = s;
  double r2 = 0;
  for (std::size_t j = 0; j < dim; ++j) {
    const double w = v[j] / n;
    const double a = std::clamp(std::nearbyint(w / sd), -127.0, 127.0);
    codes[j] = static_cast<std::int8_t>(a);
    const double r = w - sd * a;  // sd * a is exact (24 + 7 bits)
    r2 += r * r;
  }
  params[0] = s;
  params[1] = round_up_f32(residual_bound(std::sqrt(r2), stride));
}

void build_screen(const double* data, std::size_t rows, std::size_t dim, std::int8_t* codes, float* params) {
  const std::size_t stride = screen_stride(dim);
  parallel_for(rows, 4096, [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) quantise_row(data + i * dim, dim, stride, codes + i * stride, params + 2 * i);
  });
}

std::optional<std::vector<QueryHit>> search_screened(const VectorQuery& q, const PackedVectors& packed,
                                                     const std::vector<std::size_t>& cands) {
  const auto& screen = PackedVectorsAccess::screen(packed);
  const std::size_t dim = packed.dim();
  if (!screen.codes || q.mode != QueryMode::Default || dim == 0 || q.embedding.size() != dim) return std::nullopt;
  const std::size_t k = q.top_k.value_or(0);
  if (k == 0 || k >= cands.size() || !std::is_sorted(cands.begin(), cands.end())) return std::nullopt;
  const double qn = norm(q.embedding.data(), dim);
  if (!screenable(q.embedding.data(), dim, qn)) return std::nullopt;
  const std::size_t stride = screen.stride;
  const double max_code = std::min(32767.0, std::floor(2147483647.0 / (127.0 * static_cast<double>(stride))));
  if (max_code < 127) return std::nullopt;  // rows of 66,000 numbers and more

  // The query's int16 codes and the bound E on what they miss.
  std::vector<std::int16_t> qc(stride, 0);
  double top = 0;
  for (std::size_t j = 0; j < dim; ++j) top = std::max(top, std::fabs(q.embedding[j] / qn));
  const double sq = top / max_code;
  double e2 = 0;
  for (std::size_t j = 0; j < dim; ++j) {
    const double t = q.embedding[j] / qn;
    const double b = std::clamp(std::nearbyint(t / sq), -max_code, max_code);
    qc[j] = static_cast<std::int16_t>(b);
    const double e = t - sq * b;
    e2 += e * e;
  }
  const double big_e = residual_bound(std::sqrt(e2), stride);
  const double n = static_cast<double>(stride);
  const double exact_err = (2 * n + 8) * kU64 * (1 + n * kU64);
  const double slack = 2 * exact_err + 1e-12;

  // The scan: each block of rows is checked against its checksum (a warm
  // cache) right before its candidates are scored.
  const VectorCacheView* cache = PackedVectorsAccess::cache(packed);
  const std::size_t rows = packed.rows();
  const std::size_t block_rows = cache ? cache->block_rows : kPlainBlockRows;
  const std::size_t blocks = (rows + block_rows - 1) / block_rows;
  const std::size_t count = cands.size();
  std::unique_ptr<std::int32_t[]> dots(new std::int32_t[count]);
  std::unique_ptr<double[]> upper(new double[count]);
  const dot::Kernels& kern = dot::kernels();
  parallel_for(blocks, 2, [&](std::size_t b0, std::size_t b1) {
    for (std::size_t b = b0; b < b1; ++b) {
      if (cache) {
        cache->load_block(b);
        cache->check_block(b);
      }
      const std::size_t first = b * block_rows, last = std::min(rows, first + block_rows);
      const std::size_t p0 = static_cast<std::size_t>(std::lower_bound(cands.begin(), cands.end(), first) - cands.begin());
      const std::size_t p1 = static_cast<std::size_t>(std::lower_bound(cands.begin() + static_cast<std::ptrdiff_t>(p0), cands.end(), last) - cands.begin());
      if (p0 != p1) {
        kern.rows_i8(qc.data(), screen.codes, stride, cands.data() + p0, p1 - p0, dots.get() + p0);
        for (std::size_t p = p0; p < p1; ++p) {
          const float* par = screen.params + 2 * cands[p];
          const double r = par[1];
          upper[p] = r <= DBL_MAX ? static_cast<double>(par[0]) * sq * static_cast<double>(dots[p]) +
                                        (r + (1 + r) * big_e) * (1 + 1e-6) + slack
                                  : INFINITY;
        }
      }
      if (cache) cache->drop_block(b);
    }
  });

  const std::function<double(std::size_t)> exact = [&](std::size_t p) {
    return cosine(q.embedding.data(), qn, packed.row(cands[p]), dim);
  };
  const std::function<std::string_view(std::size_t)> id = [&](std::size_t p) { return packed.id(cands[p]); };
  auto ranked = rank_default_bounded(upper.get(), count, k, id, exact);
  if (!ranked) return std::nullopt;
  std::vector<QueryHit> hits;
  for (const auto& [p, sim] : *ranked) hits.push_back({std::string(packed.id(cands[p])), sim});
  return hits;
}

}  // namespace lstore::detail
