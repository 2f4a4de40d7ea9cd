// plain_number_array's blocks for AVX-512BW (built with -mavx512f
// -mavx512bw; used only on a CPU that has them): one 64-byte compare per byte
// class instead of four 16-byte ones. See plain_json_blocks.hpp.
#include <immintrin.h>

#include "plain_json_blocks.hpp"

namespace lstore::plain {
namespace {

Classes classify_avx512(const char* p) {
  const __m512i v = _mm512_loadu_si512(p);
  Classes c;
  const __m512i d = _mm512_sub_epi8(v, _mm512_set1_epi8('0'));
  c.digit = _mm512_cmple_epu8_mask(d, _mm512_set1_epi8(9));
  c.zero = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('0'));
  c.dot = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('.'));
  c.exp = _mm512_cmpeq_epi8_mask(_mm512_or_si512(v, _mm512_set1_epi8(0x20)), _mm512_set1_epi8('e'));
  c.minus = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('-'));
  c.plus = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('+'));
  c.comma = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(','));
  c.space = _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8(' ')) | _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('\n')) |
            _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('\t')) | _mm512_cmpeq_epi8_mask(v, _mm512_set1_epi8('\r'));
  return c;
}

}  // namespace

// Through a lambda, so that the classifier is inlined into the block check.
bool check_inside_avx512(const char* p, std::size_t n) {
  return check_inside(p, n, [](const char* q) { return classify_avx512(q); });
}

}  // namespace lstore::plain
