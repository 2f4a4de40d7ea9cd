// An embedding's JSON array into float64s: exactly, as float(json.loads)
// reads each number (parse_embedding), or for the streamed search's screen
// (screen_embedding), within a relative 2^-46 of that in half the time (12
// against 25 ns a number of Python's repr on the bench store; what is left
// is the chain from one number's end to the next one's start). See
// query_internal.hpp for what each promises.
//
// Why a screen: the cold search parses every number of the vector file
// (38.4 million at 100k x 384), and the exact parse (std::from_chars) was
// more than half its time. A top-k search needs the exact similarity only
// of the rows that can still reach the heap; the rest are ruled out by a
// similarity computed from screened numbers and a proven bound on its error
// (kScreenMargin), as the warm cache's int8 screen does (query_screen.cpp).
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "core/numbers.hpp"
#include "query_internal.hpp"

namespace lstore::detail {
namespace {

bool digit(char c) { return c >= '0' && c <= '9'; }

using numbers::detail::skip_space;

// One number of an embedding, as float(json.loads) reads it. from_chars
// reads a superset of JSON's numbers with the same rounding, so a token it
// read is taken when it is also JSON's (a digit after the sign, no leading
// zero, a digit after the point); anything else, and the tokens
// numbers::scan_number rounds itself (beyond a double's range; -0, an int
// that is 0.0), go through scan_number: NaN and Infinity, or no number.
const char* exact_number(const char* p, const char* end, double& out) {
  auto r = std::from_chars(p, end, out);
  const char* q = p + (p < end && *p == '-');
  if (r.ec == std::errc() && q < r.ptr && digit(*q) && !(*q == '0' && q + 1 < r.ptr && digit(q[1])) &&
      !(out == 0 && std::signbit(out))) {
    const void* dot = std::memchr(q, '.', static_cast<std::size_t>(r.ptr - q));
    const char* d = static_cast<const char*>(dot);
    if (!d || (d + 1 < r.ptr && digit(d[1]))) return r.ptr;
  }
  numbers::Token t;
  const char* next = numbers::scan_number(p, end, t);
  // An int beyond a double makes numpy's float array raise OverflowError.
  if (!next || t.int_overflow) return nullptr;
  out = t.value;
  return next;
}

// Eight ASCII digits at p (little-endian load), and their value: the SWAR
// steps every fast float parser uses (Lemire, "Number parsing at a gigabyte
// per second", 2021).
std::uint64_t load8(const char* p) {
  std::uint64_t x;
  std::memcpy(&x, p, 8);
  return x;
}
bool eight_digits(std::uint64_t x) {
  return (((x & 0xF0F0F0F0F0F0F0F0) | (((x + 0x0606060606060606) & 0xF0F0F0F0F0F0F0F0) >> 4)) == 0x3333333333333333);
}
std::uint32_t eight_value(std::uint64_t x) {
  x -= 0x3030303030303030;
  x = (x * 10) + (x >> 8);
  x = (((x & 0x000000FF000000FF) * 0x000F424000000064) + (((x >> 16) & 0x000000FF000000FF) * 0x0000271000000001)) >> 32;
  return static_cast<std::uint32_t>(x);
}

// 10^k exactly, and 10^-k rounded to nearest (a multiply: a divide's
// latency was a quarter of the screen's time).
constexpr double kPow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                             1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
constexpr double kPow10Neg[] = {1e-0,  1e-1,  1e-2,  1e-3,  1e-4,  1e-5,  1e-6,  1e-7,  1e-8,  1e-9,  1e-10, 1e-11,
                                1e-12, 1e-13, 1e-14, 1e-15, 1e-16, 1e-17, 1e-18, 1e-19, 1e-20, 1e-21, 1e-22};

// -v when `negative`, without a branch (half of an embedding's signs are
// minus, at random: a branch on them was mispredicted every other number).
double with_sign(double v, bool negative) {
  std::uint64_t bits;
  std::memcpy(&bits, &v, 8);
  bits ^= std::uint64_t{negative} << 63;
  std::memcpy(&v, &bits, 8);
  return v;
}

// One number for the screen: the token exact_number() would read (the same
// end, nullptr where it gives nullptr), valued within a relative 2^-46 of
// the double it would give. A token of JSON's grammar is read here as
// m * 10^k with the first 19 digits in m: the digits cut off are less than
// one unit of m's last, so less than 1/m of the value, and m >= 10^14 when
// any is; m to double, 10^-k to double and the multiply add three roundings
// (2^-53 each): 1e-14 + 3 * 2^-53 < 2^-46. Any other token
// (NaN, Infinity, an int of more than 15 digits, a scale past 10^+-22, a cut
// m under 10^14) is exact_number()'s, error 0.
const char* screen_number(const char* p, const char* end, double& out) {
  const char* start = p;
  const bool negative = p < end && *p == '-';
  p += negative;
#if defined(__SSE2__)
  // Most numbers of an embedding are -0.ddd... with 16 digits or more after
  // any leading zeros (Python's repr of a float below 1 in size): the run of
  // digits is found with two 16-byte compares, not a branch a digit, and its
  // first 16 significant digits are m (m >= 10^15, what is cut < 1/m).
  if (end - p >= 34 && p[0] == '0' && p[1] == '.') {
    const char* f = p + 2;
    const __m128i zero = _mm_set1_epi8('0');
    const __m128i a = _mm_sub_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(f)), zero);
    const __m128i b = _mm_sub_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(f + 16)), zero);
    const __m128i nine = _mm_set1_epi8(9);
    const auto digits = static_cast<std::uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(a, nine), a))) |
                        static_cast<std::uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_min_epu8(b, nine), b))) << 16;
    const auto zeros = static_cast<std::uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(a, _mm_setzero_si128()))) |
                       static_cast<std::uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(b, _mm_setzero_si128()))) << 16;
    if (~digits) {
      const int run = __builtin_ctz(~digits);                 // digits after the point
      const int lead = zeros == 0xFFFFFFFF ? 32 : __builtin_ctz(~zeros);  // leading zeros among them
      const char* q = f + run;
      if (run - lead >= 16 && lead <= 6 && *q != 'e' && *q != 'E') {
        const std::uint64_t m = std::uint64_t{eight_value(load8(f + lead))} * 100000000 + eight_value(load8(f + lead + 8));
        out = with_sign(static_cast<double>(m) * kPow10Neg[lead + 16], negative);
        return q;
      }
    }
  }
#endif
  if (p == end || !digit(*p)) return exact_number(start, end, out);
  std::uint64_t m = 0;
  int digits = 0;  // in m, leading zeros not counted
  int scale = 0;   // value = m * 10^scale (+ what was cut)
  bool cut = false;
  if (*p == '0') {
    ++p;
    if (p < end && digit(*p)) return exact_number(start, end, out);  // a leading zero: not JSON
  } else {
    const char* first = p;
    while (p < end && digit(*p)) m = m * 10 + static_cast<unsigned>(*p++ - '0');
    digits = static_cast<int>(p - first);
    if (digits > 15) return exact_number(start, end, out);  // a large int may overflow float()
  }
  if (p < end && *p == '.') {
    ++p;
    if (p == end || !digit(*p)) return exact_number(start, end, out);  // not JSON
    const char* frac = p;
    if (m == 0)
      while (p < end && *p == '0') ++p;
    while (digits <= 11 && end - p >= 8) {
      const std::uint64_t x = load8(p);
      if (!eight_digits(x)) break;
      m = m * 100000000 + eight_value(x);
      digits += 8;
      p += 8;
    }
    while (digits < 19 && p < end && digit(*p)) {
      m = m * 10 + static_cast<unsigned>(*p++ - '0');
      if (m) ++digits;
    }
    scale = -static_cast<int>(p - frac);
    for (; p < end && digit(*p); ++p) cut |= *p != '0';
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    ++p;
    const bool down = p < end && *p == '-';
    p += (p < end && (*p == '-' || *p == '+'));
    if (p == end || !digit(*p)) return exact_number(start, end, out);  // not JSON
    int e = 0;
    const char* first = p;
    while (p < end && digit(*p) && p - first < 4) e = e * 10 + (*p++ - '0');
    if (p < end && digit(*p)) return exact_number(start, end, out);  // an exponent of 5 digits or more
    scale += down ? -e : e;
  }
  if ((cut && m < 100000000000000) || scale < -22 || scale > 22) return exact_number(start, end, out);
  out = with_sign(static_cast<double>(m) * (scale < 0 ? kPow10Neg[-scale] : kPow10[scale]), negative);
  return p;
}

// A flat JSON array of exactly `dim` numbers, each read by `number`; the
// structure is checked the same whichever reads the numbers.
template <const char* (*Number)(const char*, const char*, double&)>
bool parse_array(std::string_view raw, double* out, std::size_t dim) {
  const char* p = skip_space(raw.data(), raw.data() + raw.size());
  const char* end = raw.data() + raw.size();
  if (p == end || *p != '[') return false;
  p = skip_space(p + 1, end);
  std::size_t n = 0;
  if (p < end && *p == ']') return dim == 0 && skip_space(p + 1, end) == end;
  for (;;) {
    if (n >= dim || p == end) return false;
    const char* next = Number(p, end, out[n]);
    if (!next) return false;
    p = skip_space(next, end);
    ++n;
    if (p == end) return false;
    if (*p == ',') {
      p = skip_space(p + 1, end);
      continue;
    }
    if (*p != ']') return false;
    return n == dim && skip_space(p + 1, end) == end;
  }
}

}  // namespace

// As json.loads reads the array (numbers.hpp: JSON's grammar plus NaN and
// Infinity; 1e400 is inf and 1e-400 is 0.0, an int beyond a double no number).
bool parse_embedding(std::string_view raw, double* out, std::size_t dim) {
  return parse_array<exact_number>(raw, out, dim);
}

bool screen_embedding(std::string_view raw, double* out, std::size_t dim) {
  return parse_array<screen_number>(raw, out, dim);
}

double screen_margin(std::size_t dim) {
  // |cosine(q, v) - cosine(q, w)| for w within a relative 2^-46 of v, each
  // computed in float64: the exact cosines differ by at most twice the
  // relative error of w (|q.u - q.u'| <= |u - u'| for unit u, u'), and each
  // float64 cosine is within (dim + 4) * 2^-53 / (1 - ...) of its exact
  // value (a dot product and a norm of dim terms, a sqrt, a multiply and a
  // divide). Rows whose screened numbers are not all finite, or whose norm
  // is outside [1e-100, 1e100] (products that may underflow or overflow),
  // are not screened (ScorePipeline). 1e-9 on top keeps the margin plainly
  // above the proof's.
  return 2 * std::ldexp(1.0, -46) + 4 * static_cast<double>(dim + 4) * std::ldexp(1.0, -52) + 1e-9;
}

}  // namespace lstore::detail
