// PostgreSQL's text and json input rules (json_check.hpp).
#include "json_check.hpp"

#include <cstddef>
#include <cstring>

#include "core/utf8.hpp"

namespace lstore::pg {
namespace {

class PgJsonCheck {
 public:
  explicit PgJsonCheck(std::string_view s) : m_p(s.data()), m_end(s.data() + s.size()) {}
  bool ok() {
    ws();
    if (!value(0)) return false;
    ws();
    return m_p == m_end;
  }

 private:
  static constexpr int kMaxDepth = 512;
  void ws() {
    while (m_p < m_end && (*m_p == ' ' || *m_p == '\t' || *m_p == '\n' || *m_p == '\r')) ++m_p;
  }
  bool lit(std::string_view w) {
    if (static_cast<std::size_t>(m_end - m_p) < w.size() || std::memcmp(m_p, w.data(), w.size()) != 0) return false;
    m_p += w.size();
    return true;
  }
  bool digits() {
    const char* s = m_p;
    while (m_p < m_end && *m_p >= '0' && *m_p <= '9') ++m_p;
    return m_p > s;
  }
  bool number() {
    if (m_p < m_end && *m_p == '-') ++m_p;
    if (m_p < m_end && *m_p == '0') ++m_p;
    else if (!digits()) return false;
    if (m_p < m_end && *m_p == '.') {
      ++m_p;
      if (!digits()) return false;
    }
    if (m_p < m_end && (*m_p == 'e' || *m_p == 'E')) {
      ++m_p;
      if (m_p < m_end && (*m_p == '+' || *m_p == '-')) ++m_p;
      if (!digits()) return false;
    }
    return true;
  }
  int hex4() {
    if (m_end - m_p < 4) return -1;
    int v = 0;
    for (int i = 0; i < 4; ++i) {
      char c = *m_p++;
      int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
      if (d < 0) return -1;
      v = v * 16 + d;
    }
    return v;
  }
  bool string() {
    ++m_p;  // the opening quote
    bool want_low = false;
    while (m_p < m_end) {
      auto c = static_cast<unsigned char>(*m_p++);
      if (c == '"') return !want_low;
      if (c < 0x20) return false;
      if (c != '\\') {
        if (want_low) return false;
        continue;
      }
      if (m_p >= m_end) return false;
      char e = *m_p++;
      if (e != 'u') {
        if (want_low || !std::strchr("\"\\/bfnrt", e) || e == '\0') return false;
        continue;
      }
      int u = hex4();
      if (u <= 0) return false;  // bad hex, or \u0000
      bool high = u >= 0xD800 && u <= 0xDBFF, low = u >= 0xDC00 && u <= 0xDFFF;
      if (want_low != low || (want_low && high)) return false;
      want_low = high;
    }
    return false;
  }
  bool value(int depth) {
    if (m_p >= m_end || depth > kMaxDepth) return false;
    switch (*m_p) {
      case '"': return string();
      case '{': return container('}', depth, true);
      case '[': return container(']', depth, false);
      case 't': return lit("true");
      case 'f': return lit("false");
      case 'n': return lit("null");
      default: return number();
    }
  }
  bool container(char close, int depth, bool object) {
    ++m_p;
    ws();
    if (m_p < m_end && *m_p == close) {
      ++m_p;
      return true;
    }
    for (;;) {
      if (object) {
        if (m_p >= m_end || *m_p != '"' || !string()) return false;
        ws();
        if (m_p >= m_end || *m_p++ != ':') return false;
        ws();
      }
      if (!value(depth + 1)) return false;
      ws();
      if (m_p >= m_end) return false;
      char c = *m_p++;
      if (c == close) return true;
      if (c != ',') return false;
      ws();
    }
  }
  const char* m_p;
  const char* m_end;
};

}  // namespace

bool pg_text_ok(std::string_view s) { return s.find('\0') == std::string_view::npos && utf8::valid(s); }

bool pg_json_ok(std::string_view s) { return PgJsonCheck(s).ok(); }

}  // namespace lstore::pg
