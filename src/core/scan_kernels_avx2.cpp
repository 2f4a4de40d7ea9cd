// The outline kernels for AVX2 + PCLMUL (built with -mavx2 -mpclmul -mpopcnt;
// chosen at start-up only on a CPU that has them). See scan_kernels.hpp.
#include <immintrin.h>

#include "scan_kernels.hpp"

namespace lstore::scan {
namespace {

inline std::uint64_t bits(__m256i lo, __m256i hi, __m256i c) {
  return static_cast<std::uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(lo, c))) |
         static_cast<std::uint64_t>(static_cast<std::uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(hi, c)))) << 32;
}

// prefix xor as a carry-less multiply by all ones (simdjson's way).
inline std::uint64_t prefix_xor_clmul(std::uint64_t x) {
  const __m128i all_ones = _mm_set1_epi8(static_cast<char>(0xFF));
  return static_cast<std::uint64_t>(_mm_cvtsi128_si64(_mm_clmulepi64_si128(_mm_set_epi64x(0, static_cast<long long>(x)), all_ones, 0)));
}

void brackets_avx2(const char* p, std::size_t blocks, StringState* st, std::uint64_t* out) {
  const __m256i quote = _mm256_set1_epi8('"'), bs = _mm256_set1_epi8('\\');
  const __m256i fold = _mm256_set1_epi8(static_cast<char>(0xDF)), open = _mm256_set1_epi8('['), close = _mm256_set1_epi8(']');
  for (std::size_t b = 0; b < blocks; ++b, p += 64) {
    const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    const __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32));
    const __m256i flo = _mm256_and_si256(lo, fold), fhi = _mm256_and_si256(hi, fold);  // '{' -> '[', '}' -> ']'
    out[b] = brackets_outside_strings<prefix_xor_clmul>(bits(lo, hi, quote), bits(lo, hi, bs),
                                                        bits(flo, fhi, open) | bits(flo, fhi, close), st);
  }
}

const char* flat_avx2(const char* p, const char* end, std::uint64_t* commas) {
  const __m256i comma = _mm256_set1_epi8(','), quote = _mm256_set1_epi8('"');
  const __m256i fold = _mm256_set1_epi8(static_cast<char>(0xDF)), open = _mm256_set1_epi8('['), close = _mm256_set1_epi8(']');
  while (p + 64 <= end) {
    const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    const __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32));
    const __m256i flo = _mm256_and_si256(lo, fold), fhi = _mm256_and_si256(hi, fold);
    const std::uint64_t stop = bits(flo, fhi, open) | bits(flo, fhi, close) | bits(lo, hi, quote);
    const std::uint64_t c = bits(lo, hi, comma);
    if (stop) {
      const std::uint64_t before = (stop & (0 - stop)) - 1;  // bits below the first stop byte
      *commas += static_cast<std::uint64_t>(_mm_popcnt_u64(c & before));
      return p + __builtin_ctzll(stop);
    }
    *commas += static_cast<std::uint64_t>(_mm_popcnt_u64(c));
    p += 64;
  }
  return p;
}

const Kernels kAvx2{"avx2", brackets_avx2, flat_avx2};

}  // namespace

const Kernels* avx2_kernels() { return &kAvx2; }

}  // namespace lstore::scan
