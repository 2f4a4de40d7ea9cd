// The screening kernel for AVX-512BW (built with -mavx512f -mavx512bw;
// chosen at start-up only on a CPU that has both). See dot_kernels.hpp.
// GCC 12 flags the _mm512_undefined_* inside its own extract intrinsics
// (used by _mm512_reduce_add_epi32) as maybe-uninitialized (a false positive).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "dot_kernels.hpp"

namespace lstore::dot {
namespace {

void rows_avx512(const std::int16_t* q, const std::int8_t* base, std::size_t stride, const std::size_t* rows,
                 std::size_t n, std::int32_t* out) {
  for (std::size_t i = 0; i < n; ++i) {
    const std::int8_t* v = base + rows[i] * stride;
    if (i + 1 < n) _mm_prefetch(reinterpret_cast<const char*>(base + rows[i + 1] * stride), _MM_HINT_T0);
    __m512i a = _mm512_setzero_si512();
    for (std::size_t j = 0; j < stride; j += 32) {
      // Sign-extend 32 codes to int16; vpmaddwd adds pairs of products into int32.
      __m512i v0 = _mm512_cvtepi8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(v + j)));
      a = _mm512_add_epi32(a, _mm512_madd_epi16(v0, _mm512_loadu_si512(q + j)));
    }
    out[i] = _mm512_reduce_add_epi32(a);
  }
}

const Kernels kAvx512{"avx512", rows_avx512};

}  // namespace

const Kernels* avx512_kernels() { return &kAvx512; }

}  // namespace lstore::dot
