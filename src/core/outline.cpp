// Structural scanner for the top levels of a JSON file; see outline.hpp for why.
#include "lstore/outline.hpp"

#include <algorithm>
#include <cstring>

#include "lstore/error.hpp"
#include "lstore/json.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace lstore {
namespace {

bool is_ws(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// First position >= pos holding one of `"` `\` (inside strings).
std::size_t find_quote_or_backslash(std::string_view t, std::size_t pos) {
  const char* p = t.data() + pos;
  const char* end = t.data() + t.size();
#if defined(__SSE2__)
  const __m128i q = _mm_set1_epi8('"'), b = _mm_set1_epi8('\\');
  while (p + 16 <= end) {
    __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    int m = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(x, q), _mm_cmpeq_epi8(x, b)));
    if (m) return static_cast<std::size_t>(p - t.data()) + static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(m)));
    p += 16;
  }
#endif
  for (; p < end; ++p)
    if (*p == '"' || *p == '\\') return static_cast<std::size_t>(p - t.data());
  return t.size();
}

// First position >= pos holding a character that changes nesting: " [ ] { }.
std::size_t find_structural(std::string_view t, std::size_t pos) {
  const char* p = t.data() + pos;
  const char* end = t.data() + t.size();
#if defined(__SSE2__)
  const __m128i q = _mm_set1_epi8('"');
  // '[' 0x5B, ']' 0x5D, '{' 0x7B, '}' 0x7D: equal to 0x5B/0x5D after clearing bit 0x20.
  const __m128i mask = _mm_set1_epi8(static_cast<char>(0xDF));
  const __m128i ob = _mm_set1_epi8('['), cb = _mm_set1_epi8(']');
  while (p + 16 <= end) {
    __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    __m128i y = _mm_and_si128(x, mask);
    __m128i hit = _mm_or_si128(_mm_cmpeq_epi8(x, q), _mm_or_si128(_mm_cmpeq_epi8(y, ob), _mm_cmpeq_epi8(y, cb)));
    int m = _mm_movemask_epi8(hit);
    if (m) return static_cast<std::size_t>(p - t.data()) + static_cast<std::size_t>(__builtin_ctz(static_cast<unsigned>(m)));
    p += 16;
  }
#endif
  for (; p < end; ++p)
    if (*p == '"' || *p == '[' || *p == ']' || *p == '{' || *p == '}') return static_cast<std::size_t>(p - t.data());
  return t.size();
}

class Scanner {
 public:
  explicit Scanner(std::string_view t, const std::function<void(std::size_t)>* progress = nullptr)
      : m_t(t), m_progress(progress) {}

  std::size_t ws(std::size_t pos) const {
    while (pos < m_t.size() && is_ws(m_t[pos])) ++pos;
    return pos;
  }

  [[noreturn]] void fail(std::size_t pos, const std::string& what) const {
    throw ParseError(std::min(pos, m_t.size()), what);
  }

  [[noreturn]] void fail_here(std::size_t pos, const char* expected) const {
    if (pos >= m_t.size()) fail(pos, std::string("unexpected end of file (") + expected + ")");
    fail(pos, std::string("expected ") + expected);
  }

  // pos at the opening quote; returns just past the closing quote.
  std::size_t string(std::size_t pos) const {
    std::size_t i = pos + 1;
    for (;;) {
      i = find_quote_or_backslash(m_t, i);
      if (i >= m_t.size()) fail(pos, "unexpected end of file inside a string");
      if (m_t[i] == '"') return i + 1;
      i += 2;  // skip the escaped character
    }
  }

  // A scalar other than a string: number, literal, NaN/Infinity.
  std::size_t scalar(std::size_t pos) const {
    std::size_t i = pos;
    while (i < m_t.size()) {
      char c = m_t[i];
      if (c == ',' || c == '}' || c == ']' || c == ':' || is_ws(c)) break;
      if (c == '"' || c == '{' || c == '[') fail(i, "unexpected character");
      ++i;
    }
    if (i == pos) fail_here(pos, "a value");
    char c = m_t[pos];
    if (!(c == '-' || (c >= '0' && c <= '9') || c == 't' || c == 'f' || c == 'n' || c == 'N' || c == 'I'))
      fail(pos, "invalid value");
    return i;
  }

  std::size_t value(std::size_t pos) const {
    if (pos >= m_t.size()) fail_here(pos, "a value");
    char c = m_t[pos];
    if (c == '"') return string(pos);
    if (c != '{' && c != '[') return scalar(pos);
    // Nested container: track depth; strings are skipped whole.
    std::vector<char> stack;
    stack.push_back(c);
    std::size_t i = pos + 1;
    while (!stack.empty()) {
      i = find_structural(m_t, i);
      if (i >= m_t.size())
        fail(pos, "unexpected end of file inside a value that starts here");
      char d = m_t[i];
      if (d == '"') { i = string(i); continue; }
      if (d == '{' || d == '[') {
        if (stack.size() >= 100000) fail(i, "nesting too deep");
        stack.push_back(d);
      } else {
        char open = stack.back();
        if ((d == '}' && open != '{') || (d == ']' && open != '[')) fail(i, "mismatched bracket");
        stack.pop_back();
      }
      ++i;
    }
    return i;
  }

  // Outlines the container at pos. `path` names it for errors.
  // With `children`, object/array members are outlined too (one level more).
  Container container(std::size_t pos, const std::string& path,
                      std::vector<std::optional<Container>>* children = nullptr) const {
    Container c;
    c.is_array = m_t[pos] == '[';
    const char close = c.is_array ? ']' : '}';
    std::size_t i = ws(pos + 1);
    auto where = [&](std::size_t at, const char* expected) {
      std::string msg = at >= m_t.size() ? "unexpected end of file" : std::string("expected ") + expected;
      msg += " in " + (path.empty() ? std::string("the root object") : path);
      msg += " after " + std::to_string(c.members.size()) + " complete entr" + (c.members.size() == 1 ? "y" : "ies");
      fail(at, msg);
    };
    if (i < m_t.size() && m_t[i] == close) {
      c.span = {pos, i + 1};
      return c;
    }
    for (;;) {
      Member m;
      if (!c.is_array) {
        if (i >= m_t.size() || m_t[i] != '"') where(i, "a key string");
        std::size_t k = i;
        try { i = string(i); } catch (const ParseError&) { where(m_t.size(), "a key"); }
        m.key = {k, i};
        i = ws(i);
        if (i >= m_t.size() || m_t[i] != ':') where(i, "':'");
        i = ws(i + 1);
      }
      std::size_t v = i;
      if (i >= m_t.size()) where(i, "a value");
      try {
        if (children) {
          if (m_t[i] == '{' || m_t[i] == '[') {
            std::string key = c.is_array ? std::to_string(c.members.size()) : decode_key(m_t, m.key);
            children->push_back(container(i, key));
            i = children->back()->span.end;
          } else {
            children->emplace_back();
            i = value(i);
          }
        } else {
          i = value(i);
        }
      } catch (const ParseError& e) {
        bool nested_report = std::string_view(e.what()).find(" complete entr") != std::string_view::npos;
        if (!nested_report && (e.offset() >= m_t.size() || std::string_view(e.what()).find("end of file") != std::string_view::npos)) {
          std::string key = c.is_array ? "[" + std::to_string(c.members.size()) + "]" : decode_key(m_t, m.key);
          std::string msg = "unexpected end of file inside " + (path.empty() ? key : path + "." + key) +
                            " after " + std::to_string(c.members.size()) + " complete entr" +
                            (c.members.size() == 1 ? "y" : "ies") + (path.empty() ? "" : " of " + path);
          fail(m_t.size(), msg);
        }
        throw;
      }
      m.value = {v, i};
      c.members.push_back(m);
      if (m_progress && *m_progress && i - m_reported >= (std::size_t{32} << 20)) {
        m_reported = i;
        (*m_progress)(i);
      }
      i = ws(i);
      if (i < m_t.size() && m_t[i] == ',') { i = ws(i + 1); continue; }
      if (i < m_t.size() && m_t[i] == close) break;
      where(i, c.is_array ? "',' or ']'" : "',' or '}'");
    }
    c.span = {pos, i + 1};
    return c;
  }

 private:
  std::string_view m_t;
  const std::function<void(std::size_t)>* m_progress;
  mutable std::size_t m_reported = 0;
};

}  // namespace

std::size_t skip_value(std::string_view text, std::size_t pos) { return Scanner(text).value(pos); }

std::string decode_key(std::string_view text, const Span& key) {
  std::string_view body = text.substr(key.begin + 1, key.size() >= 2 ? key.size() - 2 : 0);
  if (body.find('\\') == std::string_view::npos) return std::string(body);
  std::string out;
  if (!unescape_string(body, out)) return std::string(body);
  return out;
}

std::size_t count_array_elements(std::string_view text, const Span& span) {
  std::string_view body = text.substr(span.begin + 1, span.size() >= 2 ? span.size() - 2 : 0);
  std::size_t i = 0;
  while (i < body.size() && is_ws(body[i])) ++i;
  if (i == body.size()) return 0;
  return static_cast<std::size_t>(std::count(body.begin(), body.end(), ',')) + 1;
}

Outline outline_object(std::string_view text, int depth, const std::function<void(std::size_t)>& progress) {
  Scanner s(text, &progress);
  std::size_t i = 0;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") i = 3;
  i = s.ws(i);
  if (i >= text.size()) throw ParseError(i, "empty file (no JSON value)");
  if (text[i] != '{') throw ParseError(i, "the root is not a JSON object");
  Outline out;
  out.root = s.container(i, "", depth >= 2 ? &out.children : nullptr);
  out.children.resize(out.root.members.size());
  std::size_t end = s.ws(out.root.span.end);
  if (end != text.size()) throw ParseError(end, "trailing content after the root object");
  return out;
}

}  // namespace lstore
