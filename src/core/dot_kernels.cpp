// The portable screening kernel and the choice of kernel (dot_kernels.hpp).
#include "dot_kernels.hpp"

#include <cstdlib>
#include <cstring>

namespace lstore::dot {
namespace {

// Thirty-two independent sums of products, which the compiler keeps in
// vector registers of the baseline ISA.
void rows_generic(const std::int16_t* q, const std::int8_t* base, std::size_t stride, const std::size_t* rows,
                  std::size_t n, std::int32_t* out) {
  for (std::size_t i = 0; i < n; ++i) {
    const std::int8_t* v = base + rows[i] * stride;
    std::int32_t acc[32] = {};
    for (std::size_t j = 0; j < stride; j += 32)
      for (std::size_t l = 0; l < 32; ++l) acc[l] += static_cast<std::int32_t>(q[j + l]) * v[j + l];
    std::int32_t sum = 0;
    for (std::size_t l = 0; l < 32; ++l) sum += acc[l];
    out[i] = sum;
  }
}

const Kernels kGeneric{"generic", rows_generic};

const Kernels& best_kernels() {
#if defined(__x86_64__) || defined(__i386__)
  const char* want = std::getenv("LSTORE_ISA");
  const int cap = !want ? 2 : std::strcmp(want, "sse2") == 0 ? 0 : std::strcmp(want, "avx2") == 0 ? 1 : 2;
  __builtin_cpu_init();
  if (cap >= 2 && avx512_kernels() && __builtin_cpu_supports("avx512f") &&
      __builtin_cpu_supports("avx512bw"))
    return *avx512_kernels();
  if (cap >= 1 && avx2_kernels() && __builtin_cpu_supports("avx2"))
    return *avx2_kernels();
#endif
  return kGeneric;
}

}  // namespace

const Kernels* generic_kernels() { return &kGeneric; }

const Kernels& kernels() {
  static const Kernels& chosen = best_kernels();
  return chosen;
}

std::size_t available_kernels(const Kernels** out, std::size_t max) {
  std::size_t n = 0;
  auto add = [&](const Kernels* k) {
    if (k && n < max) out[n++] = k;
  };
  add(&kGeneric);
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2")) add(avx2_kernels());
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")) add(avx512_kernels());
#endif
  return n;
}

#if !defined(LSTORE_DOT_AVX2)
const Kernels* avx2_kernels() { return nullptr; }
#endif
#if !defined(LSTORE_DOT_AVX512)
const Kernels* avx512_kernels() { return nullptr; }
#endif

}  // namespace lstore::dot
