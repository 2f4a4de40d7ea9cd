// See validate_checks.hpp.
#include "ops/validate_checks.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <unordered_set>

#include "core/numbers.hpp"
#include "core/outline.hpp"

namespace lstore {

VectorScan scan_embedding(std::string_view raw, std::uint32_t elements) {
  VectorScan r;
  r.is_list = !raw.empty() && raw[0] == '[';
  // Element count: counted by the outline for flat arrays.
  if (elements != Member::kNotCounted) {
    r.count = elements;
  } else {
    std::size_t commas = static_cast<std::size_t>(std::count(raw.begin(), raw.end(), ','));
    r.count = raw.find_first_of("0123456789NI") == std::string_view::npos ? 0 : commas + 1;
  }
  // NaN / Infinity tokens (memchr-speed), and exponents of 3 digits or more
  // (`suspect`: what the bytes suggest, kept for a text that is no flat array).
  bool suspect = raw.find('N') != std::string_view::npos || raw.find('I') != std::string_view::npos;
  bool unusual = suspect;
  // (find() is memchr; find_first_of would test every byte against each letter.)
  std::size_t pe = raw.find('e'), pE = raw.find('E');
  auto next_exp = [&](std::size_t from) {  // each letter's next position is searched only once
    if (pe != std::string_view::npos && pe < from) pe = raw.find('e', from);
    if (pE != std::string_view::npos && pE < from) pE = raw.find('E', from);
    return std::min(pe, pE);
  };
  for (std::size_t p = next_exp(0); p != std::string_view::npos && !suspect; p = next_exp(p + 1)) {
    std::size_t q = p + 1;
    if (q < raw.size() && (raw[q] == '+' || raw[q] == '-')) ++q;
    while (q < raw.size() && raw[q] == '0') ++q;
    std::size_t digits = 0;
    while (q + digits < raw.size() && raw[q + digits] >= '0' && raw[q + digits] <= '9') ++digits;
    if (digits >= 3) unusual = true;  // 1e308 is a double, 1e400 is inf, 1e-400 is 0.0
    if (digits >= 3 && raw[p + 1] != '-') suspect = true;
  }
  // A number with an exponent of at most two digits leaves the range of
  // doubles (past 1.8e308, or below 4.9e-324 to 0.0) only with a run of
  // over 200 digits (99 + 210 > 308; 99 + 225 > 323). A run of kLongRun
  // digits or more holds one of the bytes at multiples of kLongRun: only
  // those are looked at.
  constexpr std::size_t kLongRun = 200;
  auto is_digit = [&](std::size_t i) { return raw[i] >= '0' && raw[i] <= '9'; };
  for (std::size_t p = 0; p < raw.size() && !unusual; p += kLongRun) {
    if (!is_digit(p)) continue;
    std::size_t lo = p, hi = p;
    while (lo > 0 && is_digit(lo - 1)) --lo;
    while (hi + 1 < raw.size() && is_digit(hi + 1)) ++hi;
    unusual = hi - lo + 1 >= kLongRun;
  }
  // All zero: no digit 1-9 outside an exponent (usually found at once).
  r.non_finite = suspect;
  r.all_zero = !suspect;
  for (std::size_t p = raw.find_first_of("123456789"); p != std::string_view::npos && r.all_zero;
       p = raw.find_first_of("123456789", p + 1)) {
    std::size_t back = raw.find_last_of(",[eE", p);
    if (back == std::string_view::npos || raw[back] == ',' || raw[back] == '[') r.all_zero = false;
  }
  if (unusual) {
    bool non_finite = false, zero = true;
    auto err = numbers::scan_array(raw, [&](const numbers::Token& t) {
      using numbers::Kind;
      non_finite = non_finite || t.kind == Kind::NaN || t.kind == Kind::Infinity || (t.kind == Kind::Float && !t.finite());
      zero = zero && t.value == 0;
      return true;
    });
    if (!err) {  // (otherwise no flat array of numbers: what the bytes suggest stands)
      r.non_finite = non_finite;
      r.all_zero = !non_finite && zero;
    }
  }
  return r;
}

bool pack_sha256_hex(std::string_view hex, std::array<unsigned char, 32>& out) {
  if (hex.size() != 64) return false;
  auto nibble = [](char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1; };
  for (std::size_t i = 0; i < 32; ++i) {
    int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<unsigned char>(hi << 4 | lo);
  }
  return true;
}

std::size_t metadata_dict_digest(const Json& md) {
  static const std::unordered_set<std::string> added = {"_node_type", "document_id", "doc_id", "ref_doc_id", "_node_content"};
  std::function<Json(const Json&)> norm = [&](const Json& v) -> Json {
    if (v.is_float() && !std::isfinite(v.as_float())) return Json();
    if (v.is_array()) {
      JsonArray a;
      for (const Json& e : v.as_array()) a.push_back(norm(e));
      return Json(std::move(a));
    }
    if (v.is_object()) {
      JsonObject o;
      for (const auto& [k, e] : v.as_object()) o.emplace_back(k, norm(e));
      return Json(std::move(o));
    }
    return v;
  };
  JsonObject o;
  if (md.is_object())
    for (const auto& [k, e] : md.as_object())
      if (!added.count(k)) o.emplace_back(k, norm(e));
  return std::hash<std::string>{}(dump(Json(std::move(o)), {JsonDialect::Compact}));
}

}  // namespace lstore
