// Structural scanner for the top levels of a JSON file; see outline.hpp for why.
//
// The scanner reads through a Source: either a whole text in memory, or a
// file read with pread() through a sliding window. The window keeps the bytes
// from the start of the member being scanned, so a file is scanned with
// memory bounded by its largest entry, and without mapping it (page faults
// cost more than the scan itself on large files).
#include "lstore/outline.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "lstore/error.hpp"
#include "lstore/json.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace lstore {
namespace {

bool is_ws(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// First pointer in [p, end) at one of `"` `\` (inside strings), or end.
const char* find_quote_or_backslash(const char* p, const char* end) {
#if defined(__SSE2__)
  const __m128i q = _mm_set1_epi8('"'), b = _mm_set1_epi8('\\');
  while (p + 16 <= end) {
    __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    int m = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(x, q), _mm_cmpeq_epi8(x, b)));
    if (m) return p + __builtin_ctz(static_cast<unsigned>(m));
    p += 16;
  }
#endif
  for (; p < end; ++p)
    if (*p == '"' || *p == '\\') return p;
  return end;
}

// First pointer in [p, end) at a character that changes nesting: " [ ] { }.
const char* find_structural(const char* p, const char* end) {
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
    if (m) return p + __builtin_ctz(static_cast<unsigned>(m));
    p += 16;
  }
#endif
  for (; p < end; ++p)
    if (*p == '"' || *p == '[' || *p == ']' || *p == '{' || *p == '}') return p;
  return end;
}

// The bytes being scanned: offsets are file offsets; at(off) is valid for
// off in [lo, hi).
class Source {
 public:
  explicit Source(std::string_view text) : m_base(text.data()), m_hi(text.size()), m_size(text.size()) {}
  Source(int fd, std::size_t size, std::size_t window) : m_chunk(std::max<std::size_t>(window, 1)), m_fd(fd), m_size(size) {}

  std::size_t size() const { return m_size; }
  std::size_t hi() const { return m_hi; }
  const char* base() const { return m_base; }  // base()[off] is the byte at file offset off
  char at(std::size_t off) const { return m_base[off]; }

  // Bytes before `off` may be dropped from now on.
  void keep_from(std::size_t off) { m_keep = off; }

  // Makes more bytes available after hi(); false at the end of the file.
  bool more() {
    if (m_fd < 0 || m_hi >= m_size) return false;
    std::size_t keep = std::clamp(m_keep, m_lo, m_hi);  // first offset still needed
    std::size_t kept = m_hi - keep;
    if (keep > m_lo && kept > 0) std::memmove(m_buf.data(), m_buf.data() + (keep - m_lo), kept);
    m_lo = keep;
    if (m_buf.size() < kept + m_chunk) m_buf.resize(kept + m_chunk);  // an entry larger than the window
    char* buf = m_buf.data();
    std::size_t want = std::min(m_buf.size() - kept, m_size - m_hi);
    std::size_t got = 0;
    while (got < want) {
      ssize_t n = ::pread(m_fd, buf + kept + got, want - got, static_cast<off_t>(m_hi + got));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw ParseError(m_hi + got, std::string("read failed: ") + (n < 0 ? std::strerror(errno) : "file shrank"));
      got += static_cast<std::size_t>(n);
    }
    m_hi += got;
    m_base = buf - m_lo;
    return true;
  }

 private:
  std::size_t m_chunk = 0;
  const char* m_base = nullptr;
  std::size_t m_lo = 0, m_hi = 0, m_keep = 0;
  std::size_t m_size = 0;
  int m_fd = -1;
  std::vector<char> m_buf;
};

class Scanner {
 public:
  Scanner(Source& src, const std::function<void(std::size_t)>* progress) : m_src(src), m_progress(progress) {}

  // Is `pos` readable (fetching more if needed)? False only at end of file.
  bool have(std::size_t pos) {
    while (pos >= m_src.hi())
      if (!m_src.more()) return false;
    return true;
  }
  char at(std::size_t pos) const { return m_src.at(pos); }

  std::size_t ws(std::size_t pos) {
    while (have(pos) && is_ws(at(pos))) ++pos;
    return pos;
  }

  [[noreturn]] void fail(std::size_t pos, const std::string& what) const {
    throw ParseError(std::min(pos, m_src.size()), what);
  }

  [[noreturn]] void fail_here(std::size_t pos, const char* expected) {
    if (!have(pos)) fail(pos, std::string("unexpected end of file (") + expected + ")");
    fail(pos, std::string("expected ") + expected);
  }

  // pos at the opening quote; returns just past the closing quote.
  std::size_t string(std::size_t pos) {
    std::size_t i = pos + 1;
    for (;;) {
      if (!have(i)) fail(pos, "unexpected end of file inside a string");
      const char* base = m_src.base();
      const char* hit = find_quote_or_backslash(base + i, base + m_src.hi());
      i = static_cast<std::size_t>(hit - base);
      if (i >= m_src.hi()) continue;  // fetch more
      if (*hit == '"') return i + 1;
      i += 2;  // skip the escaped character
    }
  }

  // A scalar other than a string: number, literal, NaN/Infinity.
  std::size_t scalar(std::size_t pos) {
    std::size_t i = pos;
    while (have(i)) {
      char c = at(i);
      if (c == ',' || c == '}' || c == ']' || c == ':' || is_ws(c)) break;
      if (c == '"' || c == '{' || c == '[') fail(i, "unexpected character");
      ++i;
    }
    if (i == pos) fail_here(pos, "a value");
    char c = at(pos);
    if (!(c == '-' || (c >= '0' && c <= '9') || c == 't' || c == 'f' || c == 'n' || c == 'N' || c == 'I'))
      fail(pos, "invalid value");
    return i;
  }

  // A flat array of scalars (an embedding): find its ']' and count the commas
  // in one pass, 16 bytes at a time. Returns 0 if something nested or a
  // string shows up (the caller then takes the general path).
  std::size_t flat_array(std::size_t pos, std::uint32_t& elements) {
    std::size_t i = ws(pos + 1);
    if (have(i) && at(i) == ']') {
      elements = 0;
      return i + 1;
    }
    std::uint64_t commas = 0;
    for (;;) {
      if (!have(i)) return 0;
      const char* base = m_src.base();
      const char* p = base + i;
      const char* end = base + m_src.hi();
#if defined(__SSE2__)
      // Commas are counted per byte lane (SSE2 has no popcount on the x86-64
      // baseline) and summed every 255 blocks, before a lane can overflow.
      const __m128i close = _mm_set1_epi8(']'), comma = _mm_set1_epi8(','), q = _mm_set1_epi8('"');
      const __m128i mask = _mm_set1_epi8(static_cast<char>(0xDF)), open = _mm_set1_epi8('[');
      const __m128i zero = _mm_setzero_si128();
      __m128i lanes = zero;
      int pending = 0;
      auto flush = [&] {
        __m128i sums = _mm_sad_epu8(lanes, zero);
        commas += static_cast<std::uint64_t>(_mm_cvtsi128_si32(sums)) +
                  static_cast<std::uint64_t>(_mm_extract_epi16(sums, 4));
        lanes = zero;
        pending = 0;
      };
      while (p + 16 <= end) {
        __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        __m128i y = _mm_and_si128(x, mask);  // '{' -> '[', '}' -> ']'
        int stop = _mm_movemask_epi8(
            _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(y, close), _mm_cmpeq_epi8(y, open)), _mm_cmpeq_epi8(x, q)));
        if (stop) break;
        lanes = _mm_sub_epi8(lanes, _mm_cmpeq_epi8(x, comma));
        if (++pending == 255) flush();
        p += 16;
      }
      flush();
#endif
      for (; p < end; ++p) {
        char c = *p;
        if (c == ',') {
          ++commas;
        } else if (c == ']') {
          elements = static_cast<std::uint32_t>(commas + 1);
          return static_cast<std::size_t>(p - base) + 1;
        } else if (c == '[' || c == '{' || c == '}' || c == '"') {
          return 0;
        }
      }
      i = static_cast<std::size_t>(end - base);
    }
  }

  std::size_t value(std::size_t pos, std::uint32_t* elements = nullptr) {
    if (!have(pos)) fail_here(pos, "a value");
    char c = at(pos);
    if (c == '"') return string(pos);
    if (c == '[' && elements) {
      std::uint32_t n = 0;
      if (std::size_t end = flat_array(pos, n)) {
        *elements = n;
        return end;
      }
    }
    if (c != '{' && c != '[') return scalar(pos);
    // Nested container: track depth; strings are skipped whole.
    std::vector<char> stack;
    stack.push_back(c);
    std::size_t i = pos + 1;
    while (!stack.empty()) {
      if (!have(i)) fail(pos, "unexpected end of file inside a value that starts here");
      const char* base = m_src.base();
      const char* hit = find_structural(base + i, base + m_src.hi());
      i = static_cast<std::size_t>(hit - base);
      if (i >= m_src.hi()) continue;  // fetch more
      char d = *hit;
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

  std::string key_at(const Span& key) const {
    return decode_key(std::string_view(m_src.base() + key.begin, key.size()), Span{0, key.size()});
  }

  // Outlines the container at pos. `path` names it for errors. With
  // `children`, object/array members are outlined too (one level more).
  Container container(std::size_t pos, const std::string& path,
                      std::vector<std::optional<Container>>* children = nullptr) {
    Container c;
    c.is_array = at(pos) == '[';
    const char close = c.is_array ? ']' : '}';
    std::size_t i = ws(pos + 1);
    auto where = [&](std::size_t at_pos, const char* expected) {
      std::string msg = !have(at_pos) ? "unexpected end of file" : std::string("expected ") + expected;
      msg += " in " + (path.empty() ? std::string("the root object") : path);
      msg += " after " + std::to_string(c.members.size()) + " complete entr" + (c.members.size() == 1 ? "y" : "ies");
      fail(at_pos, msg);
    };
    if (have(i) && at(i) == close) {
      c.span = {pos, i + 1};
      return c;
    }
    for (;;) {
      Member m;
      m_src.keep_from(i);
      if (!c.is_array) {
        if (!have(i) || at(i) != '"') where(i, "a key string");
        std::size_t k = i;
        try { i = string(i); } catch (const ParseError&) { where(m_src.size(), "a key"); }
        m.key = {k, i};
        m.name = key_at(m.key);
        i = ws(i);
        if (!have(i) || at(i) != ':') where(i, "':'");
        i = ws(i + 1);
      }
      std::size_t v = i;
      if (!have(i)) where(i, "a value");
      try {
        if (children) {
          if (at(i) == '{' || at(i) == '[') {
            std::string key = c.is_array ? std::to_string(c.members.size()) : m.name;
            children->push_back(container(i, key));
            i = children->back()->span.end;
          } else {
            children->emplace_back();
            i = value(i);
          }
        } else {
          i = value(i, &m.elements);
        }
      } catch (const ParseError& e) {
        bool nested_report = std::string_view(e.what()).find(" complete entr") != std::string_view::npos;
        if (!nested_report && (e.offset() >= m_src.size() || std::string_view(e.what()).find("end of file") != std::string_view::npos)) {
          std::string key = c.is_array ? "[" + std::to_string(c.members.size()) + "]" : m.name;
          std::string msg = "unexpected end of file inside " + (path.empty() ? key : path + "." + key) +
                            " after " + std::to_string(c.members.size()) + " complete entr" +
                            (c.members.size() == 1 ? "y" : "ies") + (path.empty() ? "" : " of " + path);
          fail(m_src.size(), msg);
        }
        throw;
      }
      m.value = {v, i};
      c.members.push_back(std::move(m));
      if (m_progress && *m_progress && i - m_reported >= (std::size_t{8} << 20)) {
        m_reported = i;
        (*m_progress)(i);
      }
      i = ws(i);
      if (have(i) && at(i) == ',') { i = ws(i + 1); continue; }
      if (have(i) && at(i) == close) break;
      where(i, c.is_array ? "',' or ']'" : "',' or '}'");
    }
    c.span = {pos, i + 1};
    return c;
  }

 private:
  Source& m_src;
  const std::function<void(std::size_t)>* m_progress;
  std::size_t m_reported = 0;
};

Outline outline(Source& src, int depth, const std::function<void(std::size_t)>& progress) {
  Scanner s(src, &progress);
  std::size_t i = 0;
  if (s.have(2) && s.at(0) == '\xEF' && s.at(1) == '\xBB' && s.at(2) == '\xBF') i = 3;
  i = s.ws(i);
  if (!s.have(i)) throw ParseError(i, "empty file (no JSON value)");
  if (s.at(i) != '{') throw ParseError(i, "the root is not a JSON object");
  Outline out;
  out.root = s.container(i, "", depth >= 2 ? &out.children : nullptr);
  out.children.resize(out.root.members.size());
  std::size_t end = s.ws(out.root.span.end);
  if (s.have(end)) throw ParseError(end, "trailing content after the root object");
  return out;
}

}  // namespace

std::size_t skip_value(std::string_view text, std::size_t pos) {
  Source src(text);
  return Scanner(src, nullptr).value(pos);
}

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
  Source src(text);
  return outline(src, depth, progress);
}

Outline outline_file(int fd, std::size_t size, int depth, const std::function<void(std::size_t)>& progress,
                     std::size_t window) {
  Source src(fd, size, window);
  return outline(src, depth, progress);
}

}  // namespace lstore
