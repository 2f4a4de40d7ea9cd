// The warm query's screening loop (dot products of a query with many rows of
// the cache's int8 screening copy) as per-ISA kernels, picked once at
// start-up like scan_kernels.hpp and for the same reason: each wide kernel
// lives in its own file compiled for its ISA (CMakeLists.txt) that includes
// nothing but this header and intrinsics. The products and sums are integer
// and the caller keeps them below 2^31 (ops/query_screen.cpp), so every
// kernel returns the same exact value.
#pragma once

#include <cstddef>
#include <cstdint>

namespace lstore::dot {

struct Kernels {
  const char* name;
  // out[i] = sum over j < stride of q[j] * base[rows[i] * stride + j], exact
  // in int32; stride is a multiple of 32.
  void (*rows_i8)(const std::int16_t* q, const std::int8_t* base, std::size_t stride, const std::size_t* rows,
                  std::size_t n, std::int32_t* out);
};

// AVX-512BW, else AVX2, else the portable loop. LSTORE_ISA=sse2|avx2 picks a
// narrower one (for measuring), as for the outline kernels.
const Kernels& kernels();
// Every kernel set this CPU can run, narrowest first (for the tests).
std::size_t available_kernels(const Kernels** out, std::size_t max);

const Kernels* generic_kernels();
const Kernels* avx2_kernels();    // nullptr when not compiled in
const Kernels* avx512_kernels();  // nullptr when not compiled in

}  // namespace lstore::dot
