// The sound fast checks of plain_json.hpp; the block logic of
// plain_number_array is in plain_json_blocks.hpp.
#include "core/plain_json.hpp"

#include "core/plain_json_blocks.hpp"

#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace lstore {
namespace {

using plain::Classes;

#if defined(__SSE2__)
Classes classify(const char* p) {
  Classes c;
  const __m128i zero = _mm_set1_epi8('0'), nine = _mm_set1_epi8(9);
  for (int i = 0; i < 4; ++i) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * i));
    auto bits = [&](__m128i m) {
      return static_cast<std::uint64_t>(static_cast<std::uint16_t>(_mm_movemask_epi8(m))) << (16 * i);
    };
    __m128i d = _mm_sub_epi8(v, zero);
    c.digit |= bits(_mm_cmpeq_epi8(_mm_min_epu8(d, nine), d));
    c.zero |= bits(_mm_cmpeq_epi8(v, zero));
    c.dot |= bits(_mm_cmpeq_epi8(v, _mm_set1_epi8('.')));
    c.exp |= bits(_mm_cmpeq_epi8(_mm_or_si128(v, _mm_set1_epi8(0x20)), _mm_set1_epi8('e')));
    c.minus |= bits(_mm_cmpeq_epi8(v, _mm_set1_epi8('-')));
    c.plus |= bits(_mm_cmpeq_epi8(v, _mm_set1_epi8('+')));
    c.comma |= bits(_mm_cmpeq_epi8(v, _mm_set1_epi8(',')));
    __m128i ws = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(' ')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\n'))),
                              _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\t')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\r'))));
    c.space |= bits(ws);
  }
  return c;
}
#else
Classes classify(const char* p) {
  Classes c;
  for (int i = 0; i < 64; ++i) {
    const std::uint64_t bit = std::uint64_t{1} << i;
    const char ch = p[i];
    if (ch >= '0' && ch <= '9') c.digit |= bit;
    if (ch == '0') c.zero |= bit;
    if (ch == '.') c.dot |= bit;
    if (ch == 'e' || ch == 'E') c.exp |= bit;
    if (ch == '-') c.minus |= bit;
    if (ch == '+') c.plus |= bit;
    if (ch == ',') c.comma |= bit;
    if (ch == ' ' || ch == '\n' || ch == '\t' || ch == '\r') c.space |= bit;
  }
  return c;
}
#endif

}  // namespace

bool plain_number_array(std::string_view raw) {
  if (raw.size() < 2 || raw.front() != '[' || raw.back() != ']') return false;
#if defined(LSTORE_PLAIN_AVX512)
  static const bool wide = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
  if (wide) return plain::check_inside_avx512(raw.data() + 1, raw.size() - 2);
#endif
  return plain_number_array_baseline(raw);
}

bool plain_number_array_baseline(std::string_view raw) {
  if (raw.size() < 2 || raw.front() != '[' || raw.back() != ']') return false;
  // Through a lambda, so that the classifier is inlined into the block check.
  return plain::check_inside(raw.data() + 1, raw.size() - 2, [](const char* p) { return classify(p); });
}

bool plain_ascii_string(std::string_view raw) {
  if (raw.size() < 2 || raw.front() != '"' || raw.back() != '"') return false;
  for (std::size_t i = 1; i + 1 < raw.size(); ++i) {
    const unsigned char ch = static_cast<unsigned char>(raw[i]);
    if (ch < 0x20 || ch >= 0x7F || ch == '"' || ch == '\\') return false;
  }
  return true;
}

}  // namespace lstore
