// Writers for the three JSON dialects LlamaIndex stores are written in
// (FORMAT.md §2.2). Shortest round-trip digits come from std::to_chars; only
// the layout of those digits differs between Python, pydantic and JavaScript.
#include <algorithm>
#include <charconv>
#include <cstring>
#include <cmath>
#include <cstdio>
#include <string>

#include "lstore/json.hpp"
#include "core/utf8.hpp"

namespace lstore {
namespace {

// Shortest digits d1d2...dn and decpt such that v = 0.d1d2...dn × 10^decpt.
struct Digits {
  std::string digits;
  int decpt = 0;
  bool negative = false;
};

Digits shortest_digits(double v) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, std::fabs(v), std::chars_format::scientific);
  std::string_view s(buf, static_cast<size_t>(res.ptr - buf));  // "d.ddde-XX"
  Digits d;
  d.negative = std::signbit(v);
  size_t e = s.find('e');
  for (size_t i = 0; i < e; ++i)
    if (s[i] != '.') d.digits.push_back(s[i]);
  int exp = std::atoi(std::string(s.substr(e + 1)).c_str());
  d.decpt = exp + 1;
  return d;
}

std::string fixed_form(const Digits& d, bool with_point_zero) {
  std::string out = d.negative ? "-" : "";
  int n = static_cast<int>(d.digits.size());
  if (d.decpt <= 0) {
    out += "0.";
    out.append(static_cast<size_t>(-d.decpt), '0');
    out += d.digits;
  } else if (d.decpt >= n) {
    out += d.digits;
    out.append(static_cast<size_t>(d.decpt - n), '0');
    if (with_point_zero) out += ".0";
  } else {
    out += d.digits.substr(0, static_cast<size_t>(d.decpt));
    out += '.';
    out += d.digits.substr(static_cast<size_t>(d.decpt));
  }
  return out;
}

std::string exponent_form(const Digits& d, bool plus_sign, int min_exp_digits) {
  std::string out = d.negative ? "-" : "";
  out += d.digits[0];
  if (d.digits.size() > 1) {
    out += '.';
    out += d.digits.substr(1);
  }
  int e = d.decpt - 1;
  out += 'e';
  if (e < 0) out += '-';
  else if (plus_sign) out += '+';
  std::string ed = std::to_string(e < 0 ? -e : e);
  if (static_cast<int>(ed.size()) < min_exp_digits) ed.insert(0, static_cast<size_t>(min_exp_digits) - ed.size(), '0');
  return out + ed;
}

void append_hex4(std::string& out, unsigned cp) {
  static const char* hex = "0123456789abcdef";
  out += "\\u";
  out += hex[(cp >> 12) & 15];
  out += hex[(cp >> 8) & 15];
  out += hex[(cp >> 4) & 15];
  out += hex[cp & 15];
}

bool short_escape(char c, std::string& out) {
  switch (c) {
    case '"': out += "\\\""; return true;
    case '\\': out += "\\\\"; return true;
    case '\n': out += "\\n"; return true;
    case '\r': out += "\\r"; return true;
    case '\t': out += "\\t"; return true;
    case '\b': out += "\\b"; return true;
    case '\f': out += "\\f"; return true;
    default: return false;
  }
}

void write_number(std::string& out, double v, JsonDialect dialect) {
  switch (dialect) {
    case JsonDialect::Python:
      if (std::isnan(v)) out += "NaN";
      else if (std::isinf(v)) out += v > 0 ? "Infinity" : "-Infinity";
      else out += python_float_repr(v);
      return;
    case JsonDialect::Pydantic:
      out += std::isfinite(v) ? pydantic_float(v) : "null";
      return;
    case JsonDialect::PydanticPyFloat:
      out += std::isfinite(v) ? python_float_repr(v) : "null";
      return;
    case JsonDialect::JavaScript:
      out += std::isfinite(v) ? js_number(v) : "null";
      return;
    case JsonDialect::Compact:
      out += std::isfinite(v) ? python_float_repr(v) : "null";
      return;
  }
}

void newline_indent(std::string& out, const WriteStyle& st, int depth) {
  out += '\n';
  out.append(static_cast<size_t>(st.indent * depth), ' ');
}

void write_value(std::string& out, const Json& v, const WriteStyle& st, int depth) {
  const bool compact = st.dialect != JsonDialect::Python;
  const char* item_sep = compact || st.indent >= 0 ? "," : ", ";
  const char* key_sep = compact && st.indent < 0 ? ":" : ": ";
  switch (v.value().index()) {
    case 0: out += "null"; return;
    case 1: out += v.as_bool() ? "true" : "false"; return;
    case 2: out += std::to_string(v.as_int()); return;
    case 3: {
      const auto& digits = std::get<BigInt>(v.value()).digits;
      if (st.dialect == JsonDialect::JavaScript) write_number(out, v.as_number(), st.dialect);
      else out += digits;
      return;
    }
    case 4: write_number(out, v.as_float(), st.dialect); return;
    case 5: dump_string(out, v.as_string(), st.dialect); return;
    case 6: {
      const auto& arr = v.as_array();
      if (arr.empty()) { out += "[]"; return; }
      out += '[';
      for (size_t i = 0; i < arr.size(); ++i) {
        if (i) out += item_sep;
        if (st.indent >= 0) newline_indent(out, st, depth + 1);
        write_value(out, arr[i], st, depth + 1);
      }
      if (st.indent >= 0) newline_indent(out, st, depth);
      out += ']';
      return;
    }
    default: {
      const auto& obj = v.as_object();
      if (obj.empty()) { out += "{}"; return; }
      out += '{';
      for (size_t i = 0; i < obj.size(); ++i) {
        if (i) out += item_sep;
        if (st.indent >= 0) newline_indent(out, st, depth + 1);
        dump_string(out, obj[i].first, st.dialect);
        out += key_sep;
        write_value(out, obj[i].second, st, depth + 1);
      }
      if (st.indent >= 0) newline_indent(out, st, depth);
      out += '}';
      return;
    }
  }
}

}  // namespace

std::size_t format_float(char* out, double v, JsonDialect dialect) {
  bool js = dialect == JsonDialect::JavaScript;
  char* p = out;
  if (v == 0) {
    if (js) {
      *p++ = '0';
    } else {
      if (std::signbit(v)) *p++ = '-';
      std::memcpy(p, "0.0", 3);
      p += 3;
    }
    return static_cast<std::size_t>(p - out);
  }
  // Shortest round-trip digits, as "d.ddde[+-]XX", without allocating.
  char sci[40];
  auto res = std::to_chars(sci, sci + sizeof sci, std::fabs(v), std::chars_format::scientific);
  const char* e = std::find(sci, res.ptr, 'e');
  char digits[24];
  int n = 0;
  for (const char* q = sci; q < e; ++q)
    if (*q != '.') digits[n++] = *q;
  int exp = 0;
  bool neg_exp = e[1] == '-';
  for (const char* q = e + 2; q < res.ptr; ++q) exp = exp * 10 + (*q - '0');
  if (neg_exp) exp = -exp;
  int decpt = exp + 1;
  if (std::signbit(v)) *p++ = '-';
  bool exponent = js ? (decpt <= -6 || decpt > 21) : (decpt <= -4 || decpt > 16);
  if (exponent) {
    *p++ = digits[0];
    if (n > 1) {
      *p++ = '.';
      std::memcpy(p, digits + 1, static_cast<std::size_t>(n - 1));
      p += n - 1;
    }
    *p++ = 'e';
    int ee = decpt - 1;
    *p++ = ee < 0 ? '-' : '+';
    ee = ee < 0 ? -ee : ee;
    if (!js && ee < 10) *p++ = '0';  // Python prints at least two exponent digits
    char eb[8];
    auto er = std::to_chars(eb, eb + sizeof eb, ee);
    std::memcpy(p, eb, static_cast<std::size_t>(er.ptr - eb));
    p += er.ptr - eb;
  } else if (decpt <= 0) {
    *p++ = '0';
    *p++ = '.';
    std::memset(p, '0', static_cast<std::size_t>(-decpt));
    p += -decpt;
    std::memcpy(p, digits, static_cast<std::size_t>(n));
    p += n;
  } else if (decpt >= n) {
    std::memcpy(p, digits, static_cast<std::size_t>(n));
    p += n;
    std::memset(p, '0', static_cast<std::size_t>(decpt - n));
    p += decpt - n;
    if (!js) {
      *p++ = '.';
      *p++ = '0';
    }
  } else {
    std::memcpy(p, digits, static_cast<std::size_t>(decpt));
    p += decpt;
    *p++ = '.';
    std::memcpy(p, digits + decpt, static_cast<std::size_t>(n - decpt));
    p += n - decpt;
  }
  return static_cast<std::size_t>(p - out);
}

std::string python_float_repr(double v) {
  if (v == 0) return std::signbit(v) ? "-0.0" : "0.0";
  Digits d = shortest_digits(v);
  // float_repr_style 'short': exponent iff decpt <= -4 or decpt > 16.
  if (d.decpt <= -4 || d.decpt > 16) return exponent_form(d, true, 2);
  return fixed_form(d, true);
}

std::string pydantic_float(double v) {
  if (v == 0) return std::signbit(v) ? "-0.0" : "0.0";
  Digits d = shortest_digits(v);
  // Verified forms: 1e-05 -> 0.00001, 2.5e-07 -> 2.5e-7, 1e+16 and 1.0 as Python.
  if (d.decpt <= -5 || d.decpt > 16) return exponent_form(d, true, 1);
  return fixed_form(d, true);
}

std::string js_number(double v) {
  // Number.prototype.toString: what a template string prints (TS's node
  // hash prints metadata values so); JSON.stringify writes null instead.
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  if (v == 0) return "0";
  Digits d = shortest_digits(v);
  // ECMAScript Number::toString: fixed for -6 < decpt <= 21, no ".0".
  if (d.decpt <= -6 || d.decpt > 21) return exponent_form(d, true, 1);
  return fixed_form(d, false);
}

void dump_string(std::string& out, std::string_view s, JsonDialect dialect) {
  out += '"';
  size_t i = 0;
  while (i < s.size()) {
    // Copy the run of bytes that need no escaping in one go.
    size_t run = i;
    if (dialect == JsonDialect::Python) {
      while (run < s.size()) {
        unsigned char c = static_cast<unsigned char>(s[run]);
        if (c < 0x20 || c > 0x7E || c == '"' || c == '\\') break;
        ++run;
      }
    } else {
      while (run < s.size()) {
        unsigned char c = static_cast<unsigned char>(s[run]);
        if (c < 0x20 || c == '"' || c == '\\') break;
        // Lone surrogates (ED A0..BF xx in WTF-8) are escaped: JSON.stringify
        // does so, and raw they would not be UTF-8 (pydantic-core refuses to
        // write them at all; escaped, they read back as the same string).
        if (c == 0xED && run + 1 < s.size() && static_cast<unsigned char>(s[run + 1]) >= 0xA0) break;
        ++run;
      }
    }
    out.append(s.data() + i, run - i);
    i = run;
    if (i >= s.size()) break;
    char c = s[i];
    if (short_escape(c, out)) { ++i; continue; }
    char32_t cp = utf8::next(s, i);
    if (cp < 0x10000) {
      append_hex4(out, cp);
    } else {
      cp -= 0x10000;
      append_hex4(out, 0xD800 + (cp >> 10));
      append_hex4(out, 0xDC00 + (cp & 0x3FF));
    }
  }
  out += '"';
}

void dump_to(std::string& out, const Json& value, const WriteStyle& style) {
  write_value(out, value, style, style.depth);
}

std::string dump(const Json& value, const WriteStyle& style) {
  std::string out;
  dump_to(out, value, style);
  return out;
}

}  // namespace lstore
