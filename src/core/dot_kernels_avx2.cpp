// The screening kernel for AVX2 (built with -mavx2; chosen at start-up only
// on a CPU that has it). See dot_kernels.hpp.
#include <immintrin.h>

#include "dot_kernels.hpp"

namespace lstore::dot {
namespace {

void rows_avx2(const std::int16_t* q, const std::int8_t* base, std::size_t stride, const std::size_t* rows,
               std::size_t n, std::int32_t* out) {
  for (std::size_t i = 0; i < n; ++i) {
    const std::int8_t* v = base + rows[i] * stride;
    if (i + 1 < n) _mm_prefetch(reinterpret_cast<const char*>(base + rows[i + 1] * stride), _MM_HINT_T0);
    __m256i a = _mm256_setzero_si256(), b = _mm256_setzero_si256();
    for (std::size_t j = 0; j < stride; j += 32) {
      // Sign-extend 16 codes to int16; vpmaddwd adds pairs of products into int32.
      __m256i v0 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(v + j)));
      __m256i v1 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(v + j + 16)));
      a = _mm256_add_epi32(a, _mm256_madd_epi16(v0, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + j))));
      b = _mm256_add_epi32(b, _mm256_madd_epi16(v1, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(q + j + 16))));
    }
    __m256i s = _mm256_add_epi32(a, b);
    __m128i h = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
    h = _mm_add_epi32(h, _mm_shuffle_epi32(h, _MM_SHUFFLE(1, 0, 3, 2)));
    h = _mm_add_epi32(h, _mm_shuffle_epi32(h, _MM_SHUFFLE(2, 3, 0, 1)));
    out[i] = _mm_cvtsi128_si32(h);
  }
}

const Kernels kAvx2{"avx2", rows_avx2};

}  // namespace

const Kernels* avx2_kernels() { return &kAvx2; }

}  // namespace lstore::dot
