// Python's comparison, membership and lower() over JSON values, because
// LlamaIndex evaluates metadata filters with plain Python operators on what
// json.load returned: True == 1, 1 == 1.0, "ab" in "cab", [1] < [2], and a
// TypeError for "2020" > 2021.
#include <unordered_map>
#include <clocale>
#include <cmath>
#include <cstring>
#include <cwctype>
#include <locale.h>

#include "core/utf8.hpp"
#include "core/python_values.hpp"

namespace lstore::detail::py {
namespace {

// ---- numbers: bool, int (any size) and float compare by exact value

bool is_num(const Json& v) { return v.is_number() || v.is_bool(); }

// -1, 0, 1; NaN handled by the caller.
int sign_cmp(long double a, long double b) { return a < b ? -1 : (a > b ? 1 : 0); }

int cmp_int_double(std::int64_t i, double d) {
  if (d >= 9223372036854775808.0) return -1;
  if (d < -9223372036854775808.0) return 1;
  auto t = static_cast<std::int64_t>(d);  // truncates; exact below 2^63
  if (i != t) return i < t ? -1 : 1;
  double frac = d - static_cast<double>(t);
  return frac > 0 ? -1 : (frac < 0 ? 1 : 0);
}

// Decimal digit strings with an optional '-': numeric order.
int cmp_decimal(const std::string& a, const std::string& b) {
  bool na = !a.empty() && a[0] == '-', nb = !b.empty() && b[0] == '-';
  if (na != nb) return na ? -1 : 1;
  std::string_view da = std::string_view(a).substr(na), db = std::string_view(b).substr(nb);
  int c = da.size() != db.size() ? (da.size() < db.size() ? -1 : 1) : (da < db ? -1 : (da > db ? 1 : 0));
  return na ? -c : c;
}

std::string exact_decimal(double d) {  // d integral
  char buf[400];
  std::snprintf(buf, sizeof buf, "%.0f", d);
  return buf;
}

// Compares two numbers; nullopt when either is NaN (every comparison false).
std::optional<int> num_cmp(const Json& a, const Json& b) {
  auto as_i = [](const Json& v) -> std::int64_t { return v.is_bool() ? (v.as_bool() ? 1 : 0) : v.as_int(); };
  bool ai = a.is_int() || a.is_bool(), bi = b.is_int() || b.is_bool();
  if (ai && bi) {
    std::int64_t x = as_i(a), y = as_i(b);
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (a.is_float() && b.is_float()) {
    double x = a.as_float(), y = b.as_float();
    if (std::isnan(x) || std::isnan(y)) return std::nullopt;
    return sign_cmp(x, y);
  }
  if (a.is_float() || b.is_float()) {
    const Json& f = a.is_float() ? a : b;
    const Json& o = a.is_float() ? b : a;
    double d = f.as_float();
    if (std::isnan(d)) return std::nullopt;
    int c;  // o compared with d
    if (o.is_bigint()) {
      const std::string& digits = std::get<BigInt>(o.value()).digits;
      bool neg = digits[0] == '-';
      if (std::isinf(d)) c = d > 0 ? -1 : 1;
      else if (std::fabs(d) < 9223372036854775808.0) c = neg ? -1 : 1;  // a big int is beyond int64
      else c = cmp_decimal(digits, exact_decimal(d));
    } else {
      c = cmp_int_double(as_i(o), d);
    }
    return a.is_float() ? -c : c;
  }
  // At least one big int, no float.
  auto digits = [&](const Json& v) { return v.is_bigint() ? std::get<BigInt>(v.value()).digits : std::to_string(as_i(v)); };
  return cmp_decimal(digits(a), digits(b));
}

bool eq_impl(const Json& a, const Json& b, bool nan_is_same) {
  if (is_num(a) && is_num(b)) {
    if (nan_is_same && a.is_float() && b.is_float() && std::isnan(a.as_float()) && std::isnan(b.as_float())) return true;
    auto c = num_cmp(a, b);
    return c && *c == 0;
  }
  if (a.is_null() || b.is_null()) return a.is_null() && b.is_null();
  if (a.is_string() && b.is_string()) return a.as_string() == b.as_string();
  if (a.is_array() && b.is_array()) {
    const auto& x = a.as_array();
    const auto& y = b.as_array();
    if (x.size() != y.size()) return false;
    for (std::size_t i = 0; i < x.size(); ++i)
      if (!same(x[i], y[i])) return false;
    return true;
  }
  if (a.is_object() && b.is_object()) {
    const auto& x = a.as_object();
    const auto& y = b.as_object();
    if (x.size() != y.size()) return false;  // json.load already merged duplicate keys
    // The same keys in the same order (the usual case): pairwise, in O(n).
    std::size_t i = 0;
    while (i < x.size() && x[i].first == y[i].first) {
      if (!same(x[i].second, y[i].second)) return false;
      ++i;
    }
    if (i == x.size()) return true;
    if (x.size() - i <= 16) {
      for (; i < x.size(); ++i) {
        const Json* w = b.find(x[i].first);
        if (!w || !same(x[i].second, *w)) return false;
      }
      return true;
    }
    // Many keys in another order: one hash table, not a search per key.
    std::unordered_map<std::string_view, const Json*> at;
    at.reserve(y.size() - i);
    for (std::size_t j = i; j < y.size(); ++j) at.emplace(y[j].first, &y[j].second);
    for (; i < x.size(); ++i) {
      auto it = at.find(x[i].first);
      if (it == at.end() || !same(x[i].second, *it->second)) return false;
    }
    return true;
  }
  return false;
}

const char* op_symbol(Order op) {
  switch (op) {
    case Order::Lt: return "<";
    case Order::Le: return "<=";
    case Order::Gt: return ">";
    case Order::Ge: return ">=";
  }
  return "?";
}

bool apply(int c, Order op) {
  switch (op) {
    case Order::Lt: return c < 0;
    case Order::Le: return c <= 0;
    case Order::Gt: return c > 0;
    case Order::Ge: return c >= 0;
  }
  return false;
}

// glibc's Unicode case tables, independent of the user's locale.
locale_t utf8_locale() {
  static locale_t loc = [] {
    locale_t l = ::newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr));
    if (!l) l = ::newlocale(LC_CTYPE_MASK, "en_US.UTF-8", static_cast<locale_t>(nullptr));
    return l;
  }();
  return loc;
}

char32_t simple_lower(char32_t cp) {
  if (cp < 0x80) return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
  locale_t loc = utf8_locale();
  if (!loc || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return cp;
  return static_cast<char32_t>(::towlower_l(static_cast<wint_t>(cp), loc));
}

bool is_cased(char32_t cp) {
  locale_t loc = utf8_locale();
  if (cp < 0x80) return (cp >= 'A' && cp <= 'Z') || (cp >= 'a' && cp <= 'z');
  if (!loc || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return false;
  auto w = static_cast<wint_t>(cp);
  return ::iswupper_l(w, loc) || ::iswlower_l(w, loc);
}

// Unicode Case_Ignorable, the part that occurs in text: apostrophes, dots,
// combining marks.
bool is_case_ignorable(char32_t cp) {
  return cp == '\'' || cp == '.' || cp == ':' || cp == '^' || cp == '`' || cp == 0xAD || cp == 0x2019 ||
         (cp >= 0x300 && cp <= 0x36F);
}

}  // namespace

const char* type_name(const Json& v) {
  if (v.is_null()) return "NoneType";
  if (v.is_bool()) return "bool";
  return v.type_name();  // int, float, str, list, dict
}

bool eq(const Json& a, const Json& b) { return eq_impl(a, b, false); }
bool same(const Json& a, const Json& b) { return eq_impl(a, b, true); }

bool order(const Json& a, const Json& b, Order op) {
  if (is_num(a) && is_num(b)) {
    auto c = num_cmp(a, b);
    return c && apply(*c, op);
  }
  if (a.is_string() && b.is_string()) return apply(a.as_string().compare(b.as_string()), op);
  if (a.is_array() && b.is_array()) {
    // list_richcompare: the first items that differ decide; else the lengths.
    const auto& x = a.as_array();
    const auto& y = b.as_array();
    std::size_t i = 0;
    while (i < x.size() && i < y.size() && same(x[i], y[i])) ++i;
    if (i >= x.size() || i >= y.size()) return apply(x.size() < y.size() ? -1 : (x.size() > y.size() ? 1 : 0), op);
    return order(x[i], y[i], op);
  }
  throw PyError{"TypeError", std::string("'") + op_symbol(op) + "' not supported between instances of '" +
                                 type_name(a) + "' and '" + type_name(b) + "'"};
}

bool contains(const Json& container, const Json& item) {
  if (container.is_array()) {
    for (const Json& e : container.as_array())
      if (same(e, item)) return true;
    return false;
  }
  if (container.is_string()) {
    if (!item.is_string())
      throw PyError{"TypeError", std::string("'in <string>' requires string as left operand, not ") + type_name(item)};
    return container.as_string().find(item.as_string()) != std::string::npos;
  }
  if (container.is_object()) {
    if (item.is_array() || item.is_object())
      throw PyError{"TypeError", std::string("unhashable type: '") + type_name(item) + "'"};
    return item.is_string() && container.find(item.as_string()) != nullptr;  // keys are str: 1 is not "1"
  }
  throw PyError{"TypeError", std::string("argument of type '") + type_name(container) + "' is not iterable"};
}

std::vector<Json> iterate(const Json& value) {
  std::vector<Json> out;
  if (value.is_array()) return value.as_array();
  if (value.is_string()) {
    const std::string& s = value.as_string();
    for (std::size_t i = 0; i < s.size();) {
      std::size_t b = i;
      utf8::next(s, i);
      out.emplace_back(s.substr(b, i - b));
    }
    return out;
  }
  if (value.is_object()) {
    for (const auto& kv : value.as_object()) out.emplace_back(kv.first);
    return out;
  }
  throw PyError{"TypeError", std::string("'") + type_name(value) + "' object is not iterable"};
}

std::string lower(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  std::vector<char32_t> cps;
  for (std::size_t i = 0; i < s.size();) cps.push_back(utf8::next(s, i));
  for (std::size_t i = 0; i < cps.size(); ++i) {
    char32_t cp = cps[i];
    if (cp == 0x130) {  // İ -> i + combining dot above (SpecialCasing)
      utf8::append(out, 'i');
      utf8::append(out, 0x307);
      continue;
    }
    if (cp == 0x3A3) {  // Σ: final sigma when it ends a cased word
      std::size_t j = i;
      bool before = false, after = false;
      while (j > 0) {
        char32_t p = cps[--j];
        if (is_case_ignorable(p)) continue;
        before = is_cased(p);
        break;
      }
      for (j = i + 1; j < cps.size(); ++j) {
        if (is_case_ignorable(cps[j])) continue;
        after = is_cased(cps[j]);
        break;
      }
      utf8::append(out, before && !after ? 0x3C2 : 0x3C3);
      continue;
    }
    utf8::append(out, simple_lower(cp));
  }
  return out;
}

}  // namespace lstore::detail::py
