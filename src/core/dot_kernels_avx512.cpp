// The screening kernel for AVX-512F (built with -mavx512f; chosen at start-up
// only on a CPU that has it). See dot_kernels.hpp.
// GCC 12 flags the _mm512_undefined_ps() inside its own shuffle and extract
// intrinsics as maybe-uninitialized (a false positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "dot_kernels.hpp"

namespace lstore::dot {
namespace {

void rows_avx512(const float* q, const float* base, std::size_t stride, const std::size_t* rows, std::size_t n,
                 float* out) {
  for (std::size_t i = 0; i < n; ++i) {
    const float* v = base + rows[i] * stride;
    if (i + 1 < n) _mm_prefetch(reinterpret_cast<const char*>(base + rows[i + 1] * stride), _MM_HINT_T0);
    __m512 a = _mm512_setzero_ps(), b = _mm512_setzero_ps();
    std::size_t j = 0;
    for (; j + 32 <= stride; j += 32) {
      a = _mm512_fmadd_ps(_mm512_loadu_ps(q + j), _mm512_loadu_ps(v + j), a);
      b = _mm512_fmadd_ps(_mm512_loadu_ps(q + j + 16), _mm512_loadu_ps(v + j + 16), b);
    }
    if (j < stride) a = _mm512_fmadd_ps(_mm512_loadu_ps(q + j), _mm512_loadu_ps(v + j), a);
    // Folded to 128 bits, then as in the AVX2 kernel.
    __m512 t = _mm512_add_ps(a, b);
    t = _mm512_add_ps(t, _mm512_shuffle_f32x4(t, t, _MM_SHUFFLE(1, 0, 3, 2)));
    t = _mm512_add_ps(t, _mm512_shuffle_f32x4(t, t, _MM_SHUFFLE(2, 3, 0, 1)));
    __m128 h = _mm512_castps512_ps128(t);
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
    out[i] = _mm_cvtss_f32(h);
  }
}

const Kernels kAvx512{"avx512", rows_avx512};

}  // namespace

const Kernels* avx512_kernels() { return &kAvx512; }

}  // namespace lstore::dot
