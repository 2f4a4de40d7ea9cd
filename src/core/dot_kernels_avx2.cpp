// The screening kernel for AVX2 + FMA (built with -mavx2 -mfma; chosen at
// start-up only on a CPU that has them). See dot_kernels.hpp.
#include <immintrin.h>

#include "dot_kernels.hpp"

namespace lstore::dot {
namespace {

void rows_avx2(const float* q, const float* base, std::size_t stride, const std::size_t* rows, std::size_t n,
               float* out) {
  for (std::size_t i = 0; i < n; ++i) {
    const float* v = base + rows[i] * stride;
    if (i + 1 < n) _mm_prefetch(reinterpret_cast<const char*>(base + rows[i + 1] * stride), _MM_HINT_T0);
    __m256 a = _mm256_setzero_ps(), b = _mm256_setzero_ps();
    for (std::size_t j = 0; j < stride; j += 16) {
      a = _mm256_fmadd_ps(_mm256_loadu_ps(q + j), _mm256_loadu_ps(v + j), a);
      b = _mm256_fmadd_ps(_mm256_loadu_ps(q + j + 8), _mm256_loadu_ps(v + j + 8), b);
    }
    __m256 s = _mm256_add_ps(a, b);
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
    out[i] = _mm_cvtss_f32(h);
  }
}

const Kernels kAvx2{"avx2", rows_avx2};

}  // namespace

const Kernels* avx2_kernels() { return &kAvx2; }

}  // namespace lstore::dot
