// Parses JSON into Json with the leniency of Python's json.load. simdjson does
// the work; the few tokens it rejects but Python accepts (NaN, Infinity, big or
// out-of-range numbers, lone surrogate escapes) are decoded from the raw token.
#include <simdjson.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <algorithm>
#include <functional>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "lstore/error.hpp"
#include "lstore/json.hpp"
#include "core/radix_sort.hpp"
#include "core/utf8.hpp"

namespace lstore {
namespace od = simdjson::ondemand;

namespace {

bool hex4(std::string_view s, size_t i, unsigned& cp) {
  if (i + 4 > s.size()) return false;
  cp = 0;
  for (size_t k = i; k < i + 4; ++k) {
    char c = s[k];
    cp <<= 4;
    if (c >= '0' && c <= '9') cp |= static_cast<unsigned>(c - '0');
    else if (c >= 'a' && c <= 'f') cp |= static_cast<unsigned>(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') cp |= static_cast<unsigned>(c - 'A' + 10);
    else return false;
  }
  return true;
}

// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?: a number as JSON (and
// Python's json module) spells it.
bool is_json_number(std::string_view t) {
  std::size_t i = 0, n = t.size();
  auto digits = [&] {
    std::size_t b = i;
    while (i < n && t[i] >= '0' && t[i] <= '9') ++i;
    return i - b;
  };
  if (i < n && t[i] == '-') ++i;
  if (i < n && t[i] == '0') ++i;
  else if (digits() == 0) return false;
  if (i < n && t[i] == '.') {
    ++i;
    if (digits() == 0) return false;
  }
  if (i < n && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    if (i < n && (t[i] == '+' || t[i] == '-')) ++i;
    if (digits() == 0) return false;
  }
  return i == n;
}

class Builder {
 public:
  Builder(od::document& doc, const char* base, size_t size) : m_doc(doc), m_base(base), m_size(size) {}

  // Byte offset where simdjson stopped, for error messages.
  size_t here() {
    const char* loc = nullptr;
    if (!m_doc.current_location().get(loc) && loc) return static_cast<size_t>(loc - m_base);
    return m_size;
  }

  // Deeper values are refused before they can exhaust the stack (the builder
  // recurses; LlamaIndex never writes more than a few levels, and Python's
  // json module itself gives up near 1000).
  static constexpr int kMaxDepth = 256;

  Json value(od::value v, int depth) {
    if (depth > kMaxDepth) throw ParseError(here(), "nested deeper than 256 levels");
    od::json_type type;
    auto err = v.type().get(type);
    if (err) return special_token(v);
    switch (type) {
      case od::json_type::object: return object(v, depth);
      case od::json_type::array: return array(v, depth);
      case od::json_type::string: return string(v);
      case od::json_type::number: return number(v);
      case od::json_type::boolean: {
        bool b;
        if (v.get_bool().get(b)) fail(v, "invalid literal");
        return Json(b);
      }
      case od::json_type::null: {
        bool is_null;
        if (v.is_null().get(is_null) || !is_null) fail(v, "invalid literal");
        return Json(nullptr);
      }
    }
    fail(v, "unexpected value");
  }

 private:
  [[noreturn]] void fail(od::value& v, const char* what) {
    std::string_view tok = v.raw_json_token();
    throw ParseError(static_cast<size_t>(tok.data() - m_base), what);
  }

  Json special_token(od::value& v) {
    std::string_view tok = trim(v.raw_json_token());
    if (tok == "NaN") return Json(std::nan(""));
    if (tok == "Infinity") return Json(HUGE_VAL);
    if (tok == "-Infinity") return Json(-HUGE_VAL);
    fail(v, "expected a value");
  }

  static std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' || s.back() == '\t'))
      s.remove_suffix(1);
    return s;
  }

  Json number(od::value& v) {
    od::number n;
    if (!v.get_number().get(n)) {
      switch (n.get_number_type()) {
        case od::number_type::signed_integer: return Json(n.get_int64());
        case od::number_type::unsigned_integer: return Json(BigInt{std::to_string(n.get_uint64())});
        case od::number_type::floating_point_number: return Json(n.get_double());
        default: break;
      }
    }
    // simdjson refuses integers beyond 64 bits and floats beyond double range;
    // Python keeps the integer exactly and turns the float into ±inf. Only
    // JSON's number grammar is accepted here ("1.", "00.5" are not numbers
    // to json.load), and integers up to CPython's 4300 digits (int() raises
    // beyond them since 3.11, so json.load does).
    std::string_view tok = trim(v.raw_json_token());
    if (tok == "-Infinity") return Json(-HUGE_VAL);
    if (!is_json_number(tok)) fail(v, "invalid number");
    bool is_float = tok.find_first_of(".eE") != std::string_view::npos;
    if (!is_float) {
      if (tok.size() - (tok[0] == '-') > 4300) fail(v, "integer of more than 4300 digits (Python's limit)");
      return Json(BigInt{std::string(tok)});
    }
    std::string s(tok);
    return Json(std::strtod(s.c_str(), nullptr));
    fail(v, "invalid number");
  }

  Json string(od::value& v) {
    std::string_view s;
    if (!v.get_string().get(s)) return Json(std::string(s));
    return Json(raw_string(v, trim(v.raw_json_token())));
  }

  std::string raw_string(od::value& v, std::string_view tok) {
    std::string out;
    if (tok.size() < 2 || !unescape_string(tok.substr(1, tok.size() - 2), out)) fail(v, "invalid string");
    return out;
  }

  Json array(od::value& v, int depth) {
    od::array arr;
    if (v.get_array().get(arr)) fail(v, "invalid array");
    JsonArray out;
    for (auto item : arr) {
      od::value e;
      if (std::move(item).get(e)) throw ParseError(here(), "invalid array element");
      out.push_back(value(e, depth + 1));
    }
    return Json(std::move(out));
  }

  Json object(od::value& v, int depth) {
    od::object obj;
    if (v.get_object().get(obj)) fail(v, "invalid object");
    JsonObject out;
    for (auto field : obj) {
      od::field f;
      if (std::move(field).get(f)) throw ParseError(here(), "invalid object member");
      std::string key;
      std::string_view k;
      const char* start = f.key().raw();  // just after the opening quote (unescaped_key consumes it)
      if (!f.unescaped_key().get(k)) {
        key = std::string(k);
      } else {
        const char* end = start;
        for (;;) {
          if (*end == '\\') { end += 2; continue; }
          if (*end == '"' || *end == '\0') break;
          ++end;
        }
        if (!unescape_string(std::string_view(start, static_cast<size_t>(end - start)), key))
          throw ParseError(static_cast<size_t>(start - m_base), "invalid key");
      }
      out.emplace_back(std::move(key), value(f.value(), depth + 1));
    }
    dedupe(out);
    return Json(std::move(out));
  }

  // Duplicate keys: the last value wins, in the first key's position (as a
  // Python dict built by json.load). Equal keys have equal hashes, so sorted
  // hashes with no two alike prove there are none in O(n) (a radix sort),
  // without comparing keys: sorting the keys themselves was most of the
  // parse of a 100,000-node index struct. Alike hashes (a duplicate, or
  // rarely two keys that collide) take the exact way.
  static void dedupe(JsonObject& out) {
    const size_t n = out.size();
    if (n < 2) return;
    if (n < 16) {
      for (size_t i = 1; i < n; ++i)
        for (size_t j = 0; j < i; ++j)
          if (out[j].first == out[i].first) return dedupe_slow(out);
      return;
    }
    std::vector<std::uint64_t> hashes(n);
    const std::hash<std::string_view> hash;
    for (size_t i = 0; i < n; ++i) hashes[i] = hash(out[i].first);
    radix_sort(hashes);
    for (size_t i = 1; i < n; ++i)
      if (hashes[i] == hashes[i - 1]) return dedupe_slow(out);
  }

  static void dedupe_slow(JsonObject& out) {
    JsonObject result;
    std::unordered_map<std::string, size_t> at;
    for (auto& [k, v] : out) {
      auto [it, inserted] = at.emplace(k, result.size());
      if (inserted) result.emplace_back(std::move(k), std::move(v));
      else result[it->second].second = std::move(v);
    }
    out = std::move(result);
  }

  od::document& m_doc;
  const char* m_base;
  size_t m_size;
};

}  // namespace

bool unescape_string(std::string_view s, std::string& out) {
  out.reserve(out.size() + s.size());
  size_t i = 0;
  while (i < s.size()) {
    size_t bs = s.find('\\', i);
    if (bs == std::string_view::npos) bs = s.size();
    out.append(s.data() + i, bs - i);
    i = bs;
    if (i >= s.size()) break;
    if (i + 1 >= s.size()) return false;
    char c = s[i + 1];
    i += 2;
    switch (c) {
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case '/': out += '/'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'u': {
        unsigned cp;
        if (!hex4(s, i, cp)) return false;
        i += 4;
        unsigned lo;
        if (cp >= 0xD800 && cp < 0xDC00 && i + 6 <= s.size() && s[i] == '\\' && s[i + 1] == 'u' &&
            hex4(s, i + 2, lo) && lo >= 0xDC00 && lo < 0xE000) {
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          i += 6;
        }
        utf8::append(out, cp);
        break;
      }
      default: return false;
    }
  }
  return true;
}

namespace {
constexpr std::size_t kScannedText = std::size_t{1} << 20;
// LSTORE_NO_STREAM=1 takes the parser for every text, as before the
// scanner's path (tests compare the two).
bool scan_large_texts() {
  static const bool on = [] {
    const char* off = std::getenv("LSTORE_NO_STREAM");
    return !(off && *off && std::string_view(off) != "0");
  }();
  return on;
}
}  // namespace

bool accepts_json(std::string_view text, bool padded) {
  // A large text (an index store's struct: 34 MB at 400k nodes) is accepted
  // by the strict scanner, a byte at a time but in no memory: simdjson's DOM
  // parser takes about 8 bytes a byte of text and keeps them (thread_local),
  // which was half of validate's peak. What the scanner refuses still goes
  // the usual way, so only an accepted text takes this path.
  if (text.size() > kScannedText && scan_large_texts() && !locate_json_error(text)) return true;
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element root;
  // `padded`: SIMDJSON_PADDING readable bytes follow the text (the rest of a
  // mapped file), so simdjson reads it where it is instead of copying it.
  if (!parser.parse(text.data(), text.size(), !padded).get(root)) return true;
  try {
    parse(text);
    return true;
  } catch (const ParseError&) {
    return false;
  }
}

Json parse(std::string_view text) {
  size_t skip = 0;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") skip = 3;  // Python's reader accepts a UTF-8 BOM
  std::string_view body = text.substr(skip);
  // simdjson stops near an error, not at it: the faulty byte is found again
  // by the strict scanner (json_locate.cpp), which also words it as Python.
  auto located = [&](std::size_t offset, const std::string& what) {
    if (auto exact = locate_json_error(body)) return ParseError(exact->offset() + skip, exact->what());
    return ParseError(std::min(offset, body.size()) + skip, what);
  };
  simdjson::padded_string padded(body);
  od::parser parser;
  od::document doc;
  if (auto error = parser.iterate(padded).get(doc)) throw located(0, simdjson::error_message(error));
  Builder builder(doc, padded.data(), body.size());
  try {
    size_t first = body.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) throw ParseError(body.size(), "no JSON value");
    if (body[first] != '{' && body[first] != '[') {
      // simdjson gives no value handle for a root scalar: parse it inside [].
      Json arr = parse("[" + std::string(body) + "]");
      if (arr.as_array().size() != 1) throw ParseError(0, "trailing content after the value");
      return std::move(arr.as_array()[0]);
    }
    od::value root;
    if (doc.get_value().get(root)) throw ParseError(builder.here(), "invalid document");
    Json result = builder.value(root, 0);
    const char* rest = nullptr;
    if (doc.current_location().get(rest) != simdjson::OUT_OF_BOUNDS) throw ParseError(builder.here(), "trailing content after the value");
    return result;
  } catch (const ParseError& e) {
    throw located(e.offset(), e.what());
  } catch (const simdjson::simdjson_error& e) {
    throw located(builder.here(), e.what());
  }
}

}  // namespace lstore
