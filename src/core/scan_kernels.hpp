// The outline's two hot loops as per-ISA kernels, picked once at start-up.
//
// Why per-ISA translation units: the x86-64 baseline is SSE2 (16 bytes per
// compare, no popcount), while the machines lstore runs on have AVX2 or
// AVX-512 (64 bytes per compare, carry-less multiply for the in-string mask).
// Each kernel lives in its own file compiled for its ISA (CMakeLists.txt);
// those files include nothing but this header and intrinsics, so no inline
// library code built for a wide ISA can be picked by the linker for the
// generic code. Every kernel computes exactly the same bits; the tests run
// each one the CPU has on the same inputs.
#pragma once

#include <cstddef>
#include <cstdint>

namespace lstore::scan {

// String state carried from one 64-byte block to the next.
struct StringState {
  std::uint64_t in_string = 0;  // all ones when the previous block ended inside a string
  std::uint64_t escape = 0;     // 1 when the first byte of the next block is escaped
};

struct Kernels {
  const char* name;
  // For `blocks` 64-byte blocks at p: out[b] has bit i set where byte
  // 64*b+i is a bracket ([ ] { }) outside any string. Updates `state`.
  void (*brackets)(const char* p, std::size_t blocks, StringState* state, std::uint64_t* out);
  // Inside a flat array: scans whole blocks of the kernel's width from p
  // while end is not reached, adding the commas seen to *commas, and stops at
  // the first byte of [ ] { } " (returned, with only the commas before it
  // counted), or at the start of the last incomplete block.
  const char* (*flat)(const char* p, const char* end, std::uint64_t* commas);
};

// The kernel set for this CPU: AVX-512BW, else AVX2 + PCLMUL, else SSE2.
// LSTORE_ISA=sse2|avx2|avx512 picks a narrower one (for measuring).
const Kernels& kernels();
// Every kernel set this CPU can run, narrowest first (for the tests).
std::size_t available_kernels(const Kernels** out, std::size_t max);
// Makes kernels() return `k` (tests only); nullptr restores the default.
void use_kernels(const Kernels* k);

const Kernels* sse2_kernels();
const Kernels* avx2_kernels();    // nullptr when not compiled in
const Kernels* avx512_kernels();  // nullptr when not compiled in

// Shared bit tricks (static: every kernel file gets its own copy, built for
// its ISA, and none is shared with the generic code through the linker).

// Positions escaped by an odd run of backslashes (simdjson's classic
// find_escaped); `carry` is 1 when the previous block ended inside such a run.
static inline std::uint64_t escaped_positions(std::uint64_t bs, std::uint64_t& carry) {
  const std::uint64_t even = 0x5555555555555555ULL, odd = ~even;
  std::uint64_t starts = bs & ~(bs << 1);
  std::uint64_t even_start_mask = even ^ carry;
  std::uint64_t even_starts = starts & even_start_mask;
  std::uint64_t odd_starts = starts & ~even_start_mask;
  std::uint64_t even_carries = bs + even_starts;
  unsigned long long odd_carries;
  bool overflow = __builtin_uaddll_overflow(bs, odd_starts, &odd_carries);
  odd_carries |= carry;
  carry = overflow ? 1 : 0;
  std::uint64_t even_carry_ends = even_carries & ~bs;
  std::uint64_t odd_carry_ends = odd_carries & ~bs;
  return (even_carry_ends & odd) | (odd_carry_ends & even);
}

// Bit i = xor of bits 0..i (which bytes are inside a string).
static inline std::uint64_t prefix_xor_portable(std::uint64_t x) {
  x ^= x << 1;
  x ^= x << 2;
  x ^= x << 4;
  x ^= x << 8;
  x ^= x << 16;
  x ^= x << 32;
  return x;
}

// One block's brackets outside strings, from its quote, backslash and
// bracket bits: the step every kernel shares after its compares.
template <std::uint64_t (*PrefixXor)(std::uint64_t)>
static inline std::uint64_t brackets_outside_strings(std::uint64_t quotes, std::uint64_t backslashes,
                                                     std::uint64_t brackets, StringState* st) {
  quotes &= ~escaped_positions(backslashes, st->escape);
  std::uint64_t str = PrefixXor(quotes) ^ st->in_string;
  st->in_string = static_cast<std::uint64_t>(static_cast<std::int64_t>(str) >> 63);
  return brackets & ~str;
}

}  // namespace lstore::scan
