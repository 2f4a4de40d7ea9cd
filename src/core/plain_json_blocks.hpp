// The block logic of plain_number_array (plain_json.cpp), shared by the
// baseline build and the AVX-512 one (plain_json_avx512.cpp, built with
// -mavx512bw and used only on a CPU that has it). Like scan_kernels.hpp, it
// holds static functions on plain pointers and nothing from the standard
// library, so no inline code built for the wide ISA can reach the generic
// code through the linker.
//
// The inside of the array is read in 64-byte blocks, as simdjson's stage 1
// does: each byte class is a 64-bit mask, and every rule of the number
// grammar is a mask expression that must come out zero. Rules that look at
// the next byte are written as rules on the byte after (a mask shifted by
// one, its top bit carried into the next block), and the inside always ends
// with padding (a whole block of it when its length is a multiple of 64), so
// the last token's end is seen. Two rules span runs of any length ("the last
// non-space before here", "the last non-digit before here"); they use the
// carry of an addition, which runs through a run of ones.
#pragma once

#include <cstddef>
#include <cstdint>

namespace lstore::plain {

// The AVX-512BW build of check_inside below (called only when the CPU has
// AVX-512BW and the build has the file).
bool check_inside_avx512(const char* p, std::size_t n);

// Internal linkage: each file gets its own copy, built for its ISA (State's
// constructor included).
namespace {

struct Classes {
  std::uint64_t digit = 0, zero = 0, dot = 0, exp = 0, minus = 0, plus = 0, comma = 0, space = 0;
};

// x moved one byte later (bit i: byte i-1 is in x), the previous block's
// last bit coming in at bit 0.
inline std::uint64_t after_one(std::uint64_t x, std::uint64_t& carry) {
  std::uint64_t r = (x << 1) | carry;
  carry = x >> 63;
  return r;
}

// For `from` outside `run`: the first byte not in `run` after each byte of
// `from` and the run of `run` bytes that follows it (the byte right after,
// when no run follows). The shifted bit starts an addition that carries
// through the run; both the shift and the addition carry into the next block.
struct RunCarry {
  std::uint64_t shifted = 0, added = 0;
};
inline std::uint64_t after_run(std::uint64_t from, std::uint64_t run, RunCarry& c) {
  std::uint64_t start = (from << 1) | c.shifted;
  c.shifted = from >> 63;
  unsigned long long sum1 = 0, sum2 = 0;
  bool o1 = __builtin_uaddll_overflow(start, run, &sum1);
  bool o2 = __builtin_uaddll_overflow(sum1, c.added, &sum2);
  c.added = (o1 || o2) ? 1 : 0;
  return sum2 & ~run;
}

struct State {
  std::uint64_t token = 0, digit = 0, dot = 0, exp = 0, minus = 0, plus = 0, lead_minus = 0, lead_zero = 0;
  RunCarry no_dot, no_exp;  // after a run of digits: may a '.' / an 'e' come here?
  RunCarry after_token;     // the first non-space after a token's byte
  RunCarry after_comma;     // ... after a comma, or after the array's start
  bool last_is_comma = false;
  State() { after_comma.shifted = 1; }  // the '[' counts as a comma: a token may follow it
};

// One block of the array's inside; `data`: not the padded last block.
template <class Classify>
inline bool check_block(const char* p, State& st, bool data, Classify classify) {
  const Classes c = classify(p);
  const std::uint64_t token = c.digit | c.dot | c.exp | c.minus | c.plus;
  if (~(token | c.comma | c.space)) return false;  // a byte no number array has ('"', 'N', '[', ...)
  if (data && c.digit == ~std::uint64_t{0}) return false;  // a long digit run: the full check decides
  const std::uint64_t prev_token = after_one(token, st.token), prev_digit = after_one(c.digit, st.digit);
  const std::uint64_t prev_dot = after_one(c.dot, st.dot), prev_exp = after_one(c.exp, st.exp);
  const std::uint64_t prev_minus = after_one(c.minus, st.minus), prev_plus = after_one(c.plus, st.plus);
  const std::uint64_t start = token & ~prev_token;
  std::uint64_t bad = start & ~(c.digit | c.minus);      // a token starts with a digit or '-'
  bad |= ~token & prev_token & ~prev_digit;               // ... and ends with a digit
  bad |= c.minus & ~(start | prev_exp);                   // '-' only first, or after 'e'
  bad |= c.plus & ~prev_exp;                              // '+' only after 'e'
  bad |= (prev_minus | prev_plus | prev_dot) & ~c.digit;  // a digit after a sign or '.'
  bad |= (c.dot | c.exp) & ~prev_digit;                   // a digit before '.' and 'e'
  bad |= prev_exp & ~(c.digit | c.minus | c.plus);        // after 'e': a digit or a sign
  // No leading zero: "0" or "-0" may not be followed by a digit.
  const std::uint64_t prev_lead_minus = after_one(c.minus & start, st.lead_minus);
  const std::uint64_t lead_zero = c.zero & ((start & c.digit) | prev_lead_minus);
  bad |= after_one(lead_zero, st.lead_zero) & c.digit;
  // One '.' at most, before the exponent, and one exponent: what precedes a
  // '.' (past its digits) is not '.', 'e' or the exponent's sign; what
  // precedes an 'e' is not 'e' or the exponent's sign.
  const std::uint64_t exp_sign = (c.minus | c.plus) & prev_exp;
  bad |= c.dot & after_run(c.dot | c.exp | exp_sign, c.digit, st.no_dot);
  bad |= c.exp & after_run(c.exp | exp_sign, c.digit, st.no_exp);
  // Commas: one between two tokens, spaces aside.
  bad |= c.comma & ~after_run(token, c.space, st.after_token);  // after a token
  bad |= start & ~after_run(c.comma, c.space, st.after_comma);  // a token after a comma or '['
  if (bad) return false;
  const std::uint64_t solid = ~c.space;
  if (solid) st.last_is_comma = (c.comma >> (63 - __builtin_clzll(solid))) & 1;
  return true;
}

// The inside of an array (between its brackets), `n` bytes at `p`.
template <class Classify>
inline bool check_inside(const char* p, std::size_t n, Classify classify) {
  State st;
  std::size_t i = 0;
  for (; i + 64 <= n; i += 64)
    if (!check_block(p + i, st, true, classify)) return false;
  // The rest, padded with spaces: at least one, so the last token's end is in
  // this block (a whole block of spaces when nothing is left).
  char last[64];
  __builtin_memset(last, ' ', sizeof last);
  __builtin_memcpy(last, p + i, n - i);
  if (!check_block(last, st, false, classify)) return false;
  return !st.last_is_comma;  // no comma before ']'
}

}  // namespace
}  // namespace lstore::plain
