// JSON checked in pieces; see json_check_stream.hpp.
#include "core/json_check_stream.hpp"

#include "core/utf8.hpp"

namespace lstore {
namespace {

constexpr std::size_t kMaxDepth = 200;  // json_parse.cpp refuses beyond 256

bool is_ws(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
// Length of the UTF-8 sequence that `lead` starts; 0 when it starts none.
std::size_t sequence_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;
}

}  // namespace

// Complete sequences are checked by utf8::valid; one cut by the piece's end
// waits in the carry for the bytes that complete it.
bool JsonPieceChecker::feed_utf8(std::string_view p) {
  std::size_t i = 0;
  if (!m_utf8_carry.empty()) {
    std::size_t need = sequence_length(static_cast<unsigned char>(m_utf8_carry[0]));
    while (m_utf8_carry.size() < need && i < p.size()) m_utf8_carry += p[i++];
    if (m_utf8_carry.size() < need) return true;
    if (!utf8::valid(m_utf8_carry)) return false;
    m_utf8_carry.clear();
  }
  std::size_t cut = p.size();
  for (std::size_t back = 1; back <= 3 && back <= p.size() - i; ++back) {
    unsigned char c = static_cast<unsigned char>(p[p.size() - back]);
    if (c < 0x80) break;
    if (c >= 0xC0) {
      if (sequence_length(c) > back) cut = p.size() - back;
      break;
    }
  }
  if (!utf8::valid(p.substr(i, cut - i))) return false;
  m_utf8_carry.assign(p.substr(cut));
  return true;
}

bool JsonPieceChecker::feed(std::string_view piece) {
  if (m_failed) return false;
  if (!feed_utf8(piece)) return !(m_failed = true);
  const char* p = piece.data();
  const char* end = p + piece.size();
  while (p < end) {
    if (m_state == State::String && !m_high) {
      // The plain run of a string, where nearly all the bytes are.
      while (p < end && *p != '"' && *p != '\\' && static_cast<unsigned char>(*p) >= 0x20) ++p;
      if (p == end) break;
    }
    if (!step(*p++)) return !(m_failed = true);
  }
  return true;
}

bool JsonPieceChecker::end_value() {
  m_state = State::After;
  return true;
}

bool JsonPieceChecker::step(char c) {
  switch (m_state) {
    case State::String:
      if (m_high && c != '\\') return false;
      if (c == '"') {
        if (m_key) {
          m_key = false;
          m_state = State::Colon;
          return true;
        }
        return end_value();
      }
      if (c == '\\') {
        m_state = State::Escape;
        return true;
      }
      return static_cast<unsigned char>(c) >= 0x20;
    case State::Escape:
      if (c == 'u') {
        m_state = State::Hex;
        m_hex_left = 4;
        m_hex = 0;
        return true;
      }
      if (m_high) return false;
      m_state = State::String;
      return c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' || c == 'r' || c == 't';
    case State::Hex: {
      int d = hex_digit(c);
      if (d < 0) return false;
      m_hex = m_hex * 16 + static_cast<std::uint32_t>(d);
      if (--m_hex_left > 0) return true;
      m_state = State::String;
      bool high = m_hex >= 0xD800 && m_hex <= 0xDBFF, low = m_hex >= 0xDC00 && m_hex <= 0xDFFF;
      if (m_high) {
        m_high = false;
        return low;
      }
      m_high = high;
      return !low;
    }
    case State::Minus:
      if (c == '0') m_state = State::Zero;
      else if (is_digit(c)) m_state = State::Int;
      else return false;
      return true;
    case State::Zero:
    case State::Int:
      if (m_state == State::Int && is_digit(c)) return true;
      if (c == '.') m_state = State::Dot;
      else if (c == 'e' || c == 'E') m_state = State::Exp;
      else return end_value() && step(c);
      return true;
    case State::Dot:
      if (!is_digit(c)) return false;
      m_state = State::Frac;
      return true;
    case State::Frac:
      if (is_digit(c)) return true;
      if (c == 'e' || c == 'E') {
        m_state = State::Exp;
        return true;
      }
      return end_value() && step(c);
    case State::Exp:
      if (c == '+' || c == '-') m_state = State::ExpSign;
      else if (is_digit(c)) m_state = State::ExpDigits;
      else return false;
      return true;
    case State::ExpSign:
      if (!is_digit(c)) return false;
      m_state = State::ExpDigits;
      return true;
    case State::ExpDigits:
      if (is_digit(c)) return true;
      return end_value() && step(c);
    case State::Literal:
      if (c != *m_literal) return false;
      if (*++m_literal == '\0') return end_value();
      return true;
    case State::Colon:
      if (is_ws(c)) return true;
      if (c != ':') return false;
      m_state = State::Value;
      return true;
    case State::ObjectFirst:
    case State::ObjectKey:
      if (is_ws(c)) return true;
      if (c == '}' && m_state == State::ObjectFirst) {
        m_stack.pop_back();
        return end_value();
      }
      if (c != '"') return false;
      m_key = true;
      m_state = State::String;
      return true;
    case State::After:
      if (is_ws(c)) return true;
      if (m_stack.empty()) return false;  // one value, then nothing
      if (c == ',') {
        m_state = m_stack.back() == '{' ? State::ObjectKey : State::Value;
        return true;
      }
      if (c != (m_stack.back() == '{' ? '}' : ']')) return false;
      m_stack.pop_back();
      return end_value();
    case State::ArrayFirst:
      if (c == ']') {
        m_stack.pop_back();
        return end_value();
      }
      [[fallthrough]];
    case State::Value:
      if (is_ws(c)) return true;
      switch (c) {
        case '{':
        case '[':
          if (m_stack.size() >= kMaxDepth) return false;
          m_stack.push_back(c);
          m_state = c == '{' ? State::ObjectFirst : State::ArrayFirst;
          return true;
        case '"': m_state = State::String; return true;
        case '-': m_state = State::Minus; return true;
        case '0': m_state = State::Zero; return true;
        case 't': m_literal = "rue"; m_state = State::Literal; return true;
        case 'f': m_literal = "alse"; m_state = State::Literal; return true;
        case 'n': m_literal = "ull"; m_state = State::Literal; return true;
        default:
          if (!is_digit(c)) return false;
          m_state = State::Int;
          return true;
      }
  }
  return false;
}

bool JsonPieceChecker::finish() {
  if (m_failed || !m_utf8_carry.empty() || !m_stack.empty()) return false;
  switch (m_state) {
    case State::After:
    case State::Zero:
    case State::Int:
    case State::Frac:
    case State::ExpDigits:
      return true;
    default:
      return false;
  }
}

}  // namespace lstore
