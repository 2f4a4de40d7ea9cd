// Python's number semantics for embeddings and floats (numbers.hpp).
#include "core/numbers.hpp"

#include <algorithm>
#include <charconv>
#include <clocale>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <locale.h>

namespace lstore::numbers {
namespace {

bool digit(char c) { return c >= '0' && c <= '9'; }

bool starts(const char* p, const char* end, std::string_view word) {
  return static_cast<std::size_t>(end - p) >= word.size() && std::memcmp(p, word.data(), word.size()) == 0;
}

// float(token) for a token std::from_chars calls out of range: ±inf past
// the largest double, ±0.0 (or a subnormal) below the smallest, exactly as
// CPython's float() rounds. strtod in the C locale, whatever the process's.
double python_float(std::string_view tok) {
  static const locale_t c_locale = newlocale(LC_ALL_MASK, "C", nullptr);
  std::string s(tok);
  return strtod_l(s.c_str(), nullptr, c_locale);
}

// The end of a JSON number token at p (RFC 8259 grammar), or nullptr.
const char* json_number_end(const char* p, const char* end, bool& integral) {
  const char* q = p;
  if (q < end && *q == '-') ++q;
  if (q == end || !digit(*q)) return nullptr;
  if (*q == '0') ++q;
  else
    while (q < end && digit(*q)) ++q;
  integral = true;
  if (q < end && *q == '.') {
    if (q + 1 == end || !digit(q[1])) return nullptr;
    q += 2;
    while (q < end && digit(*q)) ++q;
    integral = false;
  }
  if (q < end && (*q == 'e' || *q == 'E')) {
    const char* e = q + 1;
    if (e < end && (*e == '+' || *e == '-')) ++e;
    if (e == end || !digit(*e)) return nullptr;
    while (e < end && digit(*e)) ++e;
    q = e;
    integral = false;
  }
  return q;
}

}  // namespace

const char* scan_number(const char* p, const char* end, Token& out) {
  // The words only where their first letter is (a query parses a hundred
  // million numbers: three compares each were a fifth of its time).
  if (p < end && (*p == 'N' || *p == 'I' || (*p == '-' && p + 1 < end && p[1] == 'I'))) {
    if (starts(p, end, "NaN")) {
      out = {std::string_view(p, 3), std::nan(""), Kind::NaN, false};
      return p + 3;
    }
    if (starts(p, end, "Infinity")) {
      out = {std::string_view(p, 8), HUGE_VAL, Kind::Infinity, false};
      return p + 8;
    }
    if (starts(p, end, "-Infinity")) {
      out = {std::string_view(p, 9), -HUGE_VAL, Kind::Infinity, false};
      return p + 9;
    }
    return nullptr;
  }
  bool integral = false;
  const char* q = json_number_end(p, end, integral);
  if (!q) return nullptr;
  Token t;
  t.text = std::string_view(p, static_cast<std::size_t>(q - p));
  t.kind = integral ? Kind::Int : Kind::Float;
  auto r = std::from_chars(p, q, t.value);
  if (r.ec == std::errc::result_out_of_range) {
    if (integral) {  // float(int) raises OverflowError; an int never underflows
      t.int_overflow = true;
      t.value = *p == '-' ? -HUGE_VAL : HUGE_VAL;
    } else {
      t.value = python_float(t.text);
    }
  } else if (r.ec != std::errc() || r.ptr != q) {
    return nullptr;  // not reached for a token of JSON's grammar
  }
  if (integral && t.value == 0) t.value = 0.0;  // -0 is the int 0
  out = t;
  return q;
}

namespace detail {
ScanError error_at(std::string_view text, const char* p, const char* what) {
  std::size_t offset = static_cast<std::size_t>(p - text.data());
  std::string msg = what;
  if (offset < text.size()) {
    std::size_t n = 0;
    while (offset + n < text.size() && n < 24 && text[offset + n] != ',' && text[offset + n] != ']' &&
           !json_space(text[offset + n]))
      ++n;
    if (n) msg += ", found '" + std::string(text.substr(offset, n)) + "'";
  } else {
    msg += " at the end";
  }
  return {offset, std::move(msg)};
}
}  // namespace detail

std::optional<ScanError> scan_array(std::string_view text, std::vector<double>& out) {
  out.clear();
  std::optional<ScanError> overflow;
  auto err = scan_array(text, [&](const Token& t) {
    if (t.int_overflow) {
      overflow = ScanError{static_cast<std::size_t>(t.text.data() - text.data()),
                           "int too large to convert to float: " + std::string(t.text)};
      return false;
    }
    out.push_back(t.value);
    return true;
  });
  return err ? err : overflow;
}

namespace {

// How a dialect lays out shortest round-trip digits.
struct Form {
  int exponent_below;  // exponent form when the decimal point position is <= this
  int exponent_above;  // or > this
  bool two_digit_exponent;  // Python's e-05; pydantic and JavaScript write e-5
  bool point_zero;          // 1.0 (Python, pydantic) or 1 (JavaScript)
};

Form form_of(JsonDialect d) {
  switch (d) {
    case JsonDialect::Pydantic: return {-5, 16, false, true};   // 1e-05 -> 0.00001, 2.5e-07 -> 2.5e-7
    case JsonDialect::JavaScript: return {-6, 21, false, false};  // ECMAScript Number::toString
    default: return {-4, 16, true, true};                          // float_repr_style 'short'
  }
}

char* put(char* p, std::string_view s) {
  std::memcpy(p, s.data(), s.size());
  return p + s.size();
}

}  // namespace

std::size_t format(char* out, double v, JsonDialect dialect) {
  char* p = out;
  if (std::isnan(v)) return static_cast<std::size_t>(put(p, "NaN") - out);
  if (std::isinf(v)) return static_cast<std::size_t>(put(p, v > 0 ? "Infinity" : "-Infinity") - out);
  const Form f = form_of(dialect);
  if (v == 0) {
    if (!f.point_zero) return static_cast<std::size_t>(put(p, "0") - out);  // JavaScript: -0 is "0"
    return static_cast<std::size_t>(put(p, std::signbit(v) ? "-0.0" : "0.0") - out);
  }
  // Shortest round-trip digits d1...dn with v = 0.d1...dn x 10^decpt.
  char sci[40];
  auto res = std::to_chars(sci, sci + sizeof sci, std::fabs(v), std::chars_format::scientific);
  const char* e = std::find(sci, res.ptr, 'e');
  char digits[24];
  int n = 0;
  for (const char* q = sci; q < e; ++q)
    if (*q != '.') digits[n++] = *q;
  int exp = 0;
  for (const char* q = e + 2; q < res.ptr; ++q) exp = exp * 10 + (*q - '0');
  if (e[1] == '-') exp = -exp;
  const int decpt = exp + 1;
  if (std::signbit(v)) *p++ = '-';
  if (decpt <= f.exponent_below || decpt > f.exponent_above) {
    *p++ = digits[0];
    if (n > 1) {
      *p++ = '.';
      p = put(p, std::string_view(digits + 1, static_cast<std::size_t>(n - 1)));
    }
    *p++ = 'e';
    int ee = decpt - 1;
    *p++ = ee < 0 ? '-' : '+';
    ee = ee < 0 ? -ee : ee;
    if (f.two_digit_exponent && ee < 10) *p++ = '0';
    auto er = std::to_chars(p, p + 8, ee);
    p = er.ptr;
  } else if (decpt <= 0) {
    p = put(p, "0.");
    std::memset(p, '0', static_cast<std::size_t>(-decpt));
    p += -decpt;
    p = put(p, std::string_view(digits, static_cast<std::size_t>(n)));
  } else if (decpt >= n) {
    p = put(p, std::string_view(digits, static_cast<std::size_t>(n)));
    std::memset(p, '0', static_cast<std::size_t>(decpt - n));
    p += decpt - n;
    if (f.point_zero) p = put(p, ".0");
  } else {
    p = put(p, std::string_view(digits, static_cast<std::size_t>(decpt)));
    *p++ = '.';
    p = put(p, std::string_view(digits + decpt, static_cast<std::size_t>(n - decpt)));
  }
  return static_cast<std::size_t>(p - out);
}

std::string format(double v, JsonDialect dialect) {
  char buf[kMaxFormatted];
  return std::string(buf, format(buf, v, dialect));
}

}  // namespace lstore::numbers
