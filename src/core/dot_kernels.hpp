// The warm query's screening loop (float32 dot products of a query with many
// rows) as per-ISA kernels, picked once at start-up like scan_kernels.hpp and
// for the same reason: each wide kernel lives in its own file compiled for
// its ISA (CMakeLists.txt) that includes nothing but this header and
// intrinsics. The kernels add in different orders, so their results may
// differ in the last bits; the screening bound (ops/query_screen.cpp) holds
// for any order, and the scores a query returns are recomputed in float64.
#pragma once

#include <cstddef>

namespace lstore::dot {

struct Kernels {
  const char* name;
  // out[i] = sum over j < stride of q[j] * base[rows[i] * stride + j], in
  // float32; stride is a multiple of 16.
  void (*rows_f32)(const float* q, const float* base, std::size_t stride, const std::size_t* rows, std::size_t n,
                   float* out);
};

// AVX-512F, else AVX2 + FMA, else the portable loop. LSTORE_ISA=sse2|avx2
// picks a narrower one (for measuring), as for the outline kernels.
const Kernels& kernels();
// Every kernel set this CPU can run, narrowest first (for the tests).
std::size_t available_kernels(const Kernels** out, std::size_t max);

const Kernels* generic_kernels();
const Kernels* avx2_kernels();    // nullptr when not compiled in
const Kernels* avx512_kernels();  // nullptr when not compiled in

}  // namespace lstore::dot
