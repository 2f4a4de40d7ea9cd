// Numbers as LlamaIndex's writers and readers have them: an embedding's text
// scanned into doubles the way Python's json.loads reads it, and a double
// printed as Python's repr, as pydantic-core writes it, and as JavaScript's
// Number.prototype.toString (what JSON.stringify writes for a finite number).
// Every embedding scanner and float printer of lstore goes through here, so
// the NaN, range and integer rules are one set.
#pragma once

#include <cmath>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lstore/json.hpp"

namespace lstore::numbers {

// What json.loads makes of a number token.
enum class Kind : unsigned char {
  Int,       // an int: its value is float(int), exact rounding, -0 is 0.0
  Float,     // a float: float(token); beyond double range it is ±inf or ±0.0
  NaN,       // NaN
  Infinity,  // Infinity or -Infinity
};

struct Token {
  std::string_view text;  // the token's bytes
  double value = 0;
  Kind kind = Kind::Float;
  // An int too large for a double: json.loads keeps it, but float() of it
  // raises OverflowError (pydantic and numpy refuse it); `value` is ±inf.
  bool int_overflow = false;
  bool finite() const { return std::isfinite(value); }
};

// One number at `p` as json.loads reads it: JSON's grammar plus NaN,
// Infinity and -Infinity. Returns the end of the token, or nullptr when no
// number starts at `p` (then `out` is unchanged).
const char* scan_number(const char* p, const char* end, Token& out);

struct ScanError {
  std::size_t offset = 0;  // in the text
  std::string what;        // "expected a number", with the token when there is one
};

// An embedding's text ("[0.1, 2, NaN]", JSON whitespace anywhere) token by
// token: `each(const Token&)` is called for every number in order and
// returns false to stop early (then the scan reports success). Anything but a
// flat array of numbers is a ScanError.
template <class Each>
std::optional<ScanError> scan_array(std::string_view text, Each&& each);

// The same into doubles (json.loads, then float() of each element; an int
// too large for a double is an error, as float() raises).
std::optional<ScanError> scan_array(std::string_view text, std::vector<double>& out);

// The longest text format() writes ("-2.2250738585072014e-308" and the like).
inline constexpr std::size_t kMaxFormatted = 32;

// `v` as the dialect's writer prints a float: Python's repr (Python, Compact
// and PydanticPyFloat), pydantic-core's own form (Pydantic: 1e-05 is 0.00001,
// 2.5e-07 is 2.5e-7) or JavaScript's (JavaScript: 1.0 is 1, exponent past
// 1e21). Non-finite values are written NaN, Infinity, -Infinity in every
// form (json.dumps and Number.toString; JSON.stringify and pydantic write
// null instead, which is the caller's choice). `out` holds kMaxFormatted
// bytes; returns the length. Allocation-free, for loops over embeddings.
std::size_t format(char* out, double v, JsonDialect dialect);
std::string format(double v, JsonDialect dialect);

// ------------------------------------------------------------ implementation

namespace detail {
inline bool json_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }
inline const char* skip_space(const char* p, const char* end) {
  while (p < end && json_space(*p)) ++p;
  return p;
}
ScanError error_at(std::string_view text, const char* p, const char* what);
}  // namespace detail

template <class Each>
std::optional<ScanError> scan_array(std::string_view text, Each&& each) {
  const char* p = detail::skip_space(text.data(), text.data() + text.size());
  const char* end = text.data() + text.size();
  if (p == end || *p != '[') return detail::error_at(text, p, "expected '['");
  p = detail::skip_space(p + 1, end);
  if (p < end && *p == ']') {
    if (detail::skip_space(p + 1, end) != end) return detail::error_at(text, p + 1, "extra data after the array");
    return std::nullopt;
  }
  for (;;) {
    Token t;
    const char* next = scan_number(p, end, t);
    if (!next) return detail::error_at(text, p, "expected a number");
    if (!each(static_cast<const Token&>(t))) return std::nullopt;
    p = detail::skip_space(next, end);
    if (p < end && *p == ',') {
      p = detail::skip_space(p + 1, end);
      continue;
    }
    if (p < end && *p == ']') {
      if (detail::skip_space(p + 1, end) != end) return detail::error_at(text, p + 1, "extra data after the array");
      return std::nullopt;
    }
    return detail::error_at(text, p, "expected ',' or ']'");
  }
}

}  // namespace lstore::numbers
