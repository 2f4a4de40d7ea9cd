// Python's repr() and str() of JSON-loaded values, byte for byte, because node
// hashes are SHA-256 over them (FORMAT.md §3.5).
#include <openssl/evp.h>

#include <algorithm>
#include <cmath>
#include <vector>
#include <cstdio>

#include "core/hash.hpp"
#include "lstore/json.hpp"
#include "core/utf8.hpp"

namespace lstore {
namespace {

// str.isprintable() for a code point: false for the categories Python calls
// non-printable (Cc, Cf, Cs, Co, Cn, Zl, Zp, Zs except ' '). Without the
// Unicode database this covers the assigned ranges of those categories that
// occur in text; an unassigned code point (Cn) elsewhere is taken as printable.
bool printable(unsigned cp) {
  if (cp < 0x20 || (cp >= 0x7F && cp <= 0xA0) || cp == 0xAD) return false;
  if (cp == 0x34F) return true;
  if ((cp >= 0x600 && cp <= 0x605) || cp == 0x61C || cp == 0x6DD || cp == 0x70F || cp == 0x890 || cp == 0x891 ||
      cp == 0x8E2 || cp == 0x180E || cp == 0x1680)
    return false;
  if ((cp >= 0x2000 && cp <= 0x200F) || (cp >= 0x2028 && cp <= 0x202F) || (cp >= 0x205F && cp <= 0x2064) ||
      (cp >= 0x2066 && cp <= 0x206F) || cp == 0x3000)
    return false;
  if (cp >= 0xD800 && cp <= 0xF8FF) return false;  // surrogates and private use
  if (cp == 0xFEFF || (cp >= 0xFFF0 && cp <= 0xFFFB) || cp == 0xFFFE || cp == 0xFFFF) return false;
  if (cp == 0x110BD || cp == 0x110CD || (cp >= 0x13430 && cp <= 0x1343F) || (cp >= 0x1BCA0 && cp <= 0x1BCA3) ||
      (cp >= 0x1D173 && cp <= 0x1D17A) || cp == 0xE0001 || (cp >= 0xE0020 && cp <= 0xE007F))
    return false;
  if (cp >= 0xF0000) return false;  // planes 15-16: private use
  if ((cp & 0xFFFE) == 0xFFFE) return false;  // noncharacters
  return true;
}

void repr_string(std::string& out, std::string_view s) {
  // Single quotes unless the text has ' and no ".
  bool sq = s.find('\'') != std::string_view::npos, dq = s.find('"') != std::string_view::npos;
  char quote = sq && !dq ? '"' : '\'';
  out += quote;
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t start = i;
    unsigned cp = utf8::next(s, i);
    if (cp == static_cast<unsigned>(quote) || cp == '\\') {
      out += '\\';
      out += static_cast<char>(cp);
    } else if (cp == '\t') {
      out += "\\t";
    } else if (cp == '\n') {
      out += "\\n";
    } else if (cp == '\r') {
      out += "\\r";
    } else if (printable(cp)) {
      out.append(s.data() + start, i - start);
    } else {
      char buf[16];
      if (cp < 0x100) std::snprintf(buf, sizeof buf, "\\x%02x", cp);
      else if (cp < 0x10000) std::snprintf(buf, sizeof buf, "\\u%04x", cp);
      else std::snprintf(buf, sizeof buf, "\\U%08x", cp);
      out += buf;
    }
  }
  out += quote;
}

void repr(std::string& out, const Json& v) {
  switch (v.value().index()) {
    case 0: out += "None"; return;
    case 1: out += v.as_bool() ? "True" : "False"; return;
    case 2: out += std::to_string(v.as_int()); return;
    case 3: out += std::get<BigInt>(v.value()).digits; return;
    case 4: {
      double d = v.as_float();
      if (d != d) out += "nan";
      else if (d == HUGE_VAL) out += "inf";
      else if (d == -HUGE_VAL) out += "-inf";
      else out += python_float_repr(d);
      return;
    }
    case 5: repr_string(out, v.as_string()); return;
    case 6: {
      out += '[';
      bool first = true;
      for (const Json& e : v.as_array()) {
        if (!first) out += ", ";
        first = false;
        repr(out, e);
      }
      out += ']';
      return;
    }
    default: {
      out += '{';
      bool first = true;
      for (const auto& [k, e] : v.as_object()) {
        if (!first) out += ", ";
        first = false;
        repr_string(out, k);
        out += ": ";
        repr(out, e);
      }
      out += '}';
      return;
    }
  }
}

}  // namespace

std::string python_repr(const Json& v) {
  std::string out;
  repr(out, v);
  return out;
}

std::string python_str(const Json& v) { return v.is_string() ? v.as_string() : python_repr(v); }

std::string sha256_hex(std::string_view bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

std::string text_node_hash(const std::string& text, const Json& metadata) {
  return sha256_hex(text + python_str(metadata));
}

std::string js_string(const Json& v) {
  switch (v.value().index()) {
    case 0: return "null";
    case 1: return v.as_bool() ? "true" : "false";
    case 2: case 3: case 4: return js_number(v.as_number());
    case 5: return v.as_string();
    case 6: {
      std::string out;
      bool first = true;
      for (const Json& e : v.as_array()) {
        if (!first) out += ',';
        first = false;
        if (!e.is_null()) out += js_string(e);  // [null].toString() is ""
      }
      return out;
    }
    default: return "[object Object]";
  }
}

std::string ts_node_hash(const std::string& type, const std::string& text, const Json& metadata,
                         const std::string& separator, const Json* start_char, const Json* end_char) {
  std::vector<std::string> keys;
  if (metadata.is_object())
    for (const auto& [k, v] : metadata.as_object()) keys.push_back(k);
  std::sort(keys.begin(), keys.end());
  std::string meta;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (i) meta += separator;
    meta += keys[i] + ": " + js_string(*metadata.find(keys[i]));
  }
  std::string content = meta + "\n\n" + text;
  auto space = [](char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; };
  std::size_t b = 0, e = content.size();
  while (b < e && space(content[b])) ++b;
  while (e > b && space(content[e - 1])) --e;
  auto idx = [](const Json* v) { return v && v->is_number() ? js_number(v->as_number()) : std::string("undefined"); };
  std::string input = "type=" + type + "startCharIdx=" + idx(start_char) + " endCharIdx=" + idx(end_char) +
                      content.substr(b, e - b);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(input.data(), input.size(), md, &len, EVP_sha256(), nullptr);
  unsigned char out[64];
  int n = EVP_EncodeBlock(out, md, static_cast<int>(len));
  return std::string(reinterpret_cast<char*>(out), static_cast<std::size_t>(n));
}

std::string document_hash_0_12_28(const std::string& text, const Json& metadata, const std::string& separator) {
  std::string parts;
  if (metadata.is_object() && !metadata.as_object().empty()) {
    std::string m;
    bool first = true;
    for (const auto& [k, v] : metadata.as_object()) {
      if (!first) m += separator;
      first = false;
      m += k + ": " + python_str(v);
    }
    parts = m;
  }
  if (!text.empty()) {
    if (!parts.empty()) parts += "-";
    parts += sha256_hex(text);  // the text resource's hash
  }
  return sha256_hex(parts);
}

}  // namespace lstore
