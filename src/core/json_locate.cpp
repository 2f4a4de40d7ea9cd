// Where JSON text first goes wrong, to the byte, in the words of Python's
// json module. simdjson is the parser; it reports an error near where it
// stopped (often the start of the enclosing value), so when it refuses a text
// this small strict scanner walks it once more to name the faulty byte. It
// accepts exactly what json.load accepts: NaN, Infinity, -Infinity, lone
// surrogate escapes; no comments, no trailing commas, no control characters
// in strings, valid UTF-8 only.
#include <cstdint>
#include <optional>
#include <string_view>

#include "lstore/error.hpp"
#include "lstore/json.hpp"

namespace lstore {
namespace {

class Locator {
 public:
  explicit Locator(std::string_view t) : m_t(t) {}

  std::optional<ParseError> run() {
    try {
      ws();
      value(0);
      ws();
      if (m_i != m_t.size()) fail("Extra data");
      return std::nullopt;
    } catch (const ParseError& e) {
      return e;
    }
  }

 private:
  [[noreturn]] void fail(const char* what) { throw ParseError(m_i, what); }
  bool at_end() const { return m_i >= m_t.size(); }
  char peek() const { return at_end() ? '\0' : m_t[m_i]; }

  void ws() {
    while (!at_end() && (m_t[m_i] == ' ' || m_t[m_i] == '\t' || m_t[m_i] == '\n' || m_t[m_i] == '\r')) ++m_i;
  }

  bool literal(std::string_view word) {
    if (m_t.substr(m_i, word.size()) != word) return false;
    m_i += word.size();
    return true;
  }

  void value(int depth) {
    if (depth > 256) fail("nested deeper than 256 levels");
    switch (peek()) {
      case '{': return object(depth);
      case '[': return array(depth);
      case '"': return string();
      default: break;
    }
    if (literal("true") || literal("false") || literal("null") || literal("NaN") || literal("Infinity") ||
        literal("-Infinity"))
      return;
    number();
  }

  void object(int depth) {
    ++m_i;
    ws();
    if (peek() == '}') {
      ++m_i;
      return;
    }
    for (;;) {
      if (peek() != '"') fail("Expecting property name enclosed in double quotes");
      string();
      ws();
      if (peek() != ':') fail("Expecting ':' delimiter");
      ++m_i;
      ws();
      value(depth + 1);
      ws();
      if (peek() == '}') {
        ++m_i;
        return;
      }
      if (peek() != ',') fail("Expecting ',' delimiter");
      ++m_i;
      ws();
    }
  }

  void array(int depth) {
    ++m_i;
    ws();
    if (peek() == ']') {
      ++m_i;
      return;
    }
    for (;;) {
      value(depth + 1);
      ws();
      if (peek() == ']') {
        ++m_i;
        return;
      }
      if (peek() != ',') fail("Expecting ',' delimiter");
      ++m_i;
      ws();
    }
  }

  void string() {
    ++m_i;  // the opening quote
    for (;;) {
      if (at_end()) fail("Unterminated string");
      auto c = static_cast<unsigned char>(m_t[m_i]);
      if (c == '"') {
        ++m_i;
        return;
      }
      if (c < 0x20) fail("Invalid control character in string");
      if (c == '\\') {
        char e = m_i + 1 < m_t.size() ? m_t[m_i + 1] : '\0';
        if (e == 'u') {
          for (std::size_t k = m_i + 2; k < m_i + 6; ++k) {
            char h = k < m_t.size() ? m_t[k] : '\0';
            if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') || (h >= 'A' && h <= 'F'))) fail("Invalid \\uXXXX escape");
          }
          m_i += 6;
        } else if (e == '"' || e == '\\' || e == '/' || e == 'b' || e == 'f' || e == 'n' || e == 'r' || e == 't') {
          m_i += 2;
        } else {
          fail("Invalid \\escape");
        }
        continue;
      }
      if (c < 0x80) {
        ++m_i;
        continue;
      }
      utf8_sequence(c);
    }
  }

  // One multi-byte UTF-8 sequence (what Python's decoder accepts: no
  // overlong forms, no encoded surrogates, nothing past U+10FFFF).
  void utf8_sequence(unsigned char c) {
    std::size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    if (n == 0 || c > 0xF4 || m_i + n > m_t.size()) fail("invalid UTF-8");
    auto b1 = static_cast<unsigned char>(m_t[m_i + 1]);
    unsigned char lo = 0x80, hi = 0xBF;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
    if (b1 < lo || b1 > hi) fail("invalid UTF-8");
    for (std::size_t k = 2; k < n; ++k) {
      auto b = static_cast<unsigned char>(m_t[m_i + k]);
      if (b < 0x80 || b > 0xBF) fail("invalid UTF-8");
    }
    m_i += n;
  }

  void number() {
    std::size_t start = m_i;
    auto digits = [&] {
      std::size_t b = m_i;
      while (!at_end() && m_t[m_i] >= '0' && m_t[m_i] <= '9') ++m_i;
      return m_i - b;
    };
    if (peek() == '-') ++m_i;
    if (peek() == '0') {
      ++m_i;
    } else if (digits() == 0) {
      m_i = start;
      fail("Expecting value");
    }
    // As Python's scanner: a fraction or an exponent without digits is not
    // part of the number ("1." is 1 and a stray '.', and the error is the
    // delimiter expected at the '.').
    auto digit_at = [&](std::size_t i) { return i < m_t.size() && m_t[i] >= '0' && m_t[i] <= '9'; };
    if (peek() == '.' && digit_at(m_i + 1)) {
      ++m_i;
      digits();
    }
    if (peek() == 'e' || peek() == 'E') {
      std::size_t sign = m_i + 1 < m_t.size() && (m_t[m_i + 1] == '+' || m_t[m_i + 1] == '-') ? 1 : 0;
      if (digit_at(m_i + 1 + sign)) {
        m_i += 1 + sign;
        digits();
      }
    }
  }

  std::string_view m_t;
  std::size_t m_i = 0;
};

}  // namespace

std::optional<ParseError> locate_json_error(std::string_view text) { return Locator(text).run(); }

}  // namespace lstore
