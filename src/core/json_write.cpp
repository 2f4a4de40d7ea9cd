// Writers for the three JSON dialects LlamaIndex stores are written in
// (FORMAT.md §2.2). Numbers are printed by core/numbers.cpp.
#include <algorithm>
#include <charconv>
#include <cstring>
#include <cmath>
#include <cstdio>
#include <string>

#include "lstore/json.hpp"
#include "core/numbers.hpp"
#include "core/utf8.hpp"

namespace lstore {
namespace {

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

// The number forms are core/numbers.cpp's; format_float keeps its contract
// of Python's repr for every dialect but JavaScript.
std::size_t format_float(char* out, double v, JsonDialect dialect) {
  return numbers::format(out, v, dialect == JsonDialect::JavaScript ? JsonDialect::JavaScript : JsonDialect::Python);
}

std::string python_float_repr(double v) { return numbers::format(v, JsonDialect::Python); }

std::string pydantic_float(double v) { return numbers::format(v, JsonDialect::Pydantic); }

// Number.prototype.toString: what a template string prints (TS's node hash
// prints metadata values so); JSON.stringify writes null for NaN instead.
std::string js_number(double v) { return numbers::format(v, JsonDialect::JavaScript); }

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
