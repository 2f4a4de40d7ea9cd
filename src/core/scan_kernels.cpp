// The SSE2 kernels (the x86-64 baseline, and the portable loops elsewhere)
// and the start-up choice among the per-ISA kernel sets; see scan_kernels.hpp.
#include "scan_kernels.hpp"

#include <atomic>
#include <cstdlib>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace lstore::scan {
namespace {

#if defined(__SSE2__)
// Bit i set where p[i] == c, for the 64 bytes in v.
inline std::uint64_t eq64(const __m128i (&v)[4], char c) {
  const __m128i m = _mm_set1_epi8(c);
  std::uint64_t r = 0;
  for (int k = 0; k < 4; ++k)
    r |= static_cast<std::uint64_t>(static_cast<std::uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v[k], m)))) << (16 * k);
  return r;
}
#endif

void brackets_sse2(const char* p, std::size_t blocks, StringState* st, std::uint64_t* out) {
  for (std::size_t b = 0; b < blocks; ++b, p += 64) {
    std::uint64_t quotes = 0, backslashes = 0, brackets = 0;
#if defined(__SSE2__)
    __m128i v[4], folded[4];
    const __m128i fold = _mm_set1_epi8(static_cast<char>(0xDF));  // '{' -> '[', '}' -> ']'
    for (int k = 0; k < 4; ++k) {
      v[k] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 16 * k));
      folded[k] = _mm_and_si128(v[k], fold);
    }
    quotes = eq64(v, '"');
    backslashes = eq64(v, '\\');
    brackets = eq64(folded, '[') | eq64(folded, ']');
#else
    for (int i = 0; i < 64; ++i) {
      const std::uint64_t bit = std::uint64_t{1} << i;
      const char c = p[i];
      if (c == '"') quotes |= bit;
      if (c == '\\') backslashes |= bit;
      if (c == '[' || c == ']' || c == '{' || c == '}') brackets |= bit;
    }
#endif
    out[b] = brackets_outside_strings<prefix_xor_portable>(quotes, backslashes, brackets, st);
  }
}

inline bool flat_stop(char c) { return c == '[' || c == ']' || c == '{' || c == '}' || c == '"'; }

const char* flat_sse2(const char* p, const char* end, std::uint64_t* commas) {
#if defined(__SSE2__)
  // Commas are counted per byte lane (SSE2 has no popcount on the x86-64
  // baseline) and summed every 255 blocks, before a lane can overflow.
  const __m128i close = _mm_set1_epi8(']'), comma = _mm_set1_epi8(','), q = _mm_set1_epi8('"');
  const __m128i mask = _mm_set1_epi8(static_cast<char>(0xDF)), open = _mm_set1_epi8('[');
  const __m128i zero = _mm_setzero_si128();
  __m128i lanes = zero;
  int pending = 0;
  auto flush = [&] {
    __m128i sums = _mm_sad_epu8(lanes, zero);
    *commas += static_cast<std::uint64_t>(_mm_cvtsi128_si32(sums)) + static_cast<std::uint64_t>(_mm_extract_epi16(sums, 4));
    lanes = zero;
    pending = 0;
  };
  while (p + 16 <= end) {
    __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    __m128i y = _mm_and_si128(x, mask);
    int stop = _mm_movemask_epi8(
        _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(y, close), _mm_cmpeq_epi8(y, open)), _mm_cmpeq_epi8(x, q)));
    if (stop) {
      flush();
      const int at = __builtin_ctz(static_cast<unsigned>(stop));
      for (int i = 0; i < at; ++i) *commas += p[i] == ',';
      return p + at;
    }
    lanes = _mm_sub_epi8(lanes, _mm_cmpeq_epi8(x, comma));
    if (++pending == 255) flush();
    p += 16;
  }
  flush();
  return p;
#else
  for (; p < end && !flat_stop(*p); ++p) *commas += *p == ',';
  return p;
#endif
}

const Kernels kSse2{"sse2", brackets_sse2, flat_sse2};
std::atomic<const Kernels*> g_override{nullptr};

// The widest kernel set this CPU runs, capped by LSTORE_ISA.
const Kernels& best_kernels() {
#if defined(__x86_64__) || defined(__i386__)
  const char* want = std::getenv("LSTORE_ISA");
  const int cap = !want ? 2 : std::strcmp(want, "sse2") == 0 ? 0 : std::strcmp(want, "avx2") == 0 ? 1 : 2;
  __builtin_cpu_init();
  if (cap >= 2 && avx512_kernels() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("popcnt"))
    return *avx512_kernels();
  if (cap >= 1 && avx2_kernels() && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("pclmul") &&
      __builtin_cpu_supports("popcnt"))
    return *avx2_kernels();
#endif
  return kSse2;
}

}  // namespace

const Kernels* sse2_kernels() { return &kSse2; }

const Kernels& kernels() {
  if (const Kernels* k = g_override.load(std::memory_order_relaxed)) return *k;
  static const Kernels& chosen = best_kernels();
  return chosen;
}

void use_kernels(const Kernels* k) { g_override.store(k); }

std::size_t available_kernels(const Kernels** out, std::size_t max) {
  std::size_t n = 0;
  auto add = [&](const Kernels* k) { if (k && n < max) out[n++] = k; };
  add(&kSse2);
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("popcnt"))
    add(avx2_kernels());
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("popcnt"))
    add(avx512_kernels());
#endif
  return n;
}

#if !defined(LSTORE_SCAN_AVX2)
const Kernels* avx2_kernels() { return nullptr; }
#endif
#if !defined(LSTORE_SCAN_AVX512)
const Kernels* avx512_kernels() { return nullptr; }
#endif

}  // namespace lstore::scan
