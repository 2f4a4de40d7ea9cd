// The outline kernels for AVX-512BW (built with -mavx512f -mavx512bw -mpclmul
// -mpopcnt; chosen at start-up only on a CPU that has them): one 64-byte
// compare per character class. See scan_kernels.hpp.
#include <immintrin.h>

#include "scan_kernels.hpp"

namespace lstore::scan {
namespace {

inline std::uint64_t prefix_xor_clmul(std::uint64_t x) {
  const __m128i all_ones = _mm_set1_epi8(static_cast<char>(0xFF));
  return static_cast<std::uint64_t>(_mm_cvtsi128_si64(_mm_clmulepi64_si128(_mm_set_epi64x(0, static_cast<long long>(x)), all_ones, 0)));
}

void brackets_avx512(const char* p, std::size_t blocks, StringState* st, std::uint64_t* out) {
  const __m512i quote = _mm512_set1_epi8('"'), bs = _mm512_set1_epi8('\\');
  const __m512i fold = _mm512_set1_epi8(static_cast<char>(0xDF)), open = _mm512_set1_epi8('['), close = _mm512_set1_epi8(']');
  for (std::size_t b = 0; b < blocks; ++b, p += 64) {
    const __m512i v = _mm512_loadu_si512(p);
    const __m512i f = _mm512_and_si512(v, fold);  // '{' -> '[', '}' -> ']'
    out[b] = brackets_outside_strings<prefix_xor_clmul>(_mm512_cmpeq_epi8_mask(v, quote), _mm512_cmpeq_epi8_mask(v, bs),
                                                        _mm512_cmpeq_epi8_mask(f, open) | _mm512_cmpeq_epi8_mask(f, close), st);
  }
}

const char* flat_avx512(const char* p, const char* end, std::uint64_t* commas) {
  const __m512i comma = _mm512_set1_epi8(','), quote = _mm512_set1_epi8('"');
  const __m512i fold = _mm512_set1_epi8(static_cast<char>(0xDF)), open = _mm512_set1_epi8('['), close = _mm512_set1_epi8(']');
  while (p + 64 <= end) {
    const __m512i v = _mm512_loadu_si512(p);
    const __m512i f = _mm512_and_si512(v, fold);
    const std::uint64_t stop = _mm512_cmpeq_epi8_mask(f, open) | _mm512_cmpeq_epi8_mask(f, close) | _mm512_cmpeq_epi8_mask(v, quote);
    const std::uint64_t c = _mm512_cmpeq_epi8_mask(v, comma);
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

const Kernels kAvx512{"avx512", brackets_avx512, flat_avx512};

}  // namespace

const Kernels* avx512_kernels() { return &kAvx512; }

}  // namespace lstore::scan
