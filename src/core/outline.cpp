// Structural scanner for the top levels of a JSON file; see outline.hpp for why.
//
// The scanner reads through a Source: either a whole text in memory, or a
// file read through a sliding window, mapped a window at a time (faulted in
// ahead of the scan in one call per few MiB, dropped behind it) or read with
// pread(). The window keeps the bytes from the start of the member being
// scanned, so a file is scanned with memory bounded by its largest entry.
#include "core/outline.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <thread>
#include <atomic>
#include <cctype>

#include "lstore/error.hpp"
#include "lstore/json.hpp"
#include "core/mapped_file.hpp"
#include "scan_kernels.hpp"

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

// The bytes being scanned: offsets are file offsets; at(off) is valid for
// off in [lo, hi). A file is read through a mapping (mapped_file.hpp) when it
// can be, else with pread() into a buffer that keeps the bytes from `keep`.
class Source {
 public:
  explicit Source(std::string_view text) : m_base(text.data()), m_hi(text.size()), m_size(text.size()) {}
  Source(int fd, std::size_t size, std::size_t window)
      : m_chunk(std::max<std::size_t>(window, 1)), m_size(size), m_fd(fd) {
    if (MappedFile::wanted(size)) {
      m_map = std::make_unique<MappedFile>(fd, size);
      if (!m_map->ok()) m_map.reset();
    }
  }

  std::size_t size() const { return m_size; }
  std::size_t chunk() const { return m_chunk; }
  bool file() const { return m_fd >= 0; }
  std::size_t hi() const { return m_hi; }
  const char* base() const { return m_base; }  // base()[off] is the byte at file offset off
  char at(std::size_t off) const { return m_base[off]; }

  // Bytes before `off` may be dropped from now on.
  void keep_from(std::size_t off) { m_keep = off; }

  // Goes on from `off`, with nothing before it kept: another thread scanned
  // the bytes up to it (a split), or a guess is tried again further on.
  void skip_to(std::size_t off) {
    if (m_fd < 0) return;
    off = std::min(off, m_size);
    if (off >= m_lo && off <= m_hi) {
      m_keep = off;
      return;
    }
    m_lo = m_hi = m_keep = off;
    if (m_map) m_populated = std::max(m_populated, off);
  }

  // The mapped file was cut short under the scan: what was read since is
  // not the file's (mapped_file.hpp).
  bool shrank() const { return m_map && m_map->shrank(); }
  [[noreturn]] void fail_shrank() const {
    struct stat st {};
    std::size_t now = ::fstat(m_fd, &st) == 0 ? static_cast<std::size_t>(st.st_size) : m_lo;
    throw ParseError(std::clamp(now, m_lo, m_size), "read failed: file shrank");
  }

  // Makes more bytes available after hi(); false at the end of the file.
  bool more() {
    if (m_fd < 0 || m_hi >= m_size) return false;
    std::size_t keep = std::clamp(m_keep, m_lo, m_hi);  // first offset still needed
    if (m_map) return more_mapped(keep);
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
  // Pages are faulted in this far ahead at once, and dropped behind the scan
  // in steps as large: fewer madvise calls, a few MiB resident.
  static constexpr std::size_t kMapStep = std::size_t{4} << 20;

  bool more_mapped(std::size_t keep) {
    if (shrank()) fail_shrank();
    m_lo = keep;
    if (keep >= m_map_released + kMapStep) {
      m_map->release_below(keep);
      m_map_released = keep;
    }
    const std::size_t want = std::min(m_chunk, m_size - m_hi);
    if (m_hi + want > m_populated) {
      const std::size_t to = std::min(m_size, std::max(m_hi + want, m_populated + kMapStep));
      if (!m_map->populate(m_populated, to)) fail_shrank();
      m_populated = to;
    }
    m_hi += want;
    m_base = m_map->data();
    return true;
  }

  std::size_t m_chunk = 0;
  const char* m_base = nullptr;
  std::size_t m_lo = 0, m_hi = 0, m_keep = 0;
  std::size_t m_size = 0;
  int m_fd = -1;
  std::vector<char> m_buf;
  std::unique_ptr<MappedFile> m_map;
  std::size_t m_populated = 0, m_map_released = 0;
};

// A split scan (stream_file_split): while the caller's thread scans the
// file from its start, another thread finds the key of a member of a large
// collection near the middle of the file and streams that collection's
// entries from there to its end, to a visitor of its own (tail()). When the
// caller's scan reaches that very key as a member of the collection it is
// streaming, the other thread's entries are joined to its own and it goes on
// at the collection's end.
//
// Why this is exact: from a member's key to its collection's closing brace,
// the scan is the same code in the same state (outside any string, at depth
// 2, expecting a key), so the other thread saw exactly the entries the
// caller's thread would have seen. A point it guessed wrong (inside a string,
// or a member of a nested object) is never met at that state by the
// caller's scan, which then cancels the other thread and scans on alone; so
// does a file with any fault after the point: its error is always the
// caller's scan's own.
struct Cancelled {};

// What the other thread's scan shares with the caller's.
struct TailRun {
  std::atomic<bool>* cancel;
  std::atomic<std::size_t>* point;  // published here
  std::size_t confirm;              // bytes of entries before publishing
  bool published = false;
  std::size_t entries = 0;          // streamed, once the collection closed
};

class Split {
 public:
  static constexpr std::size_t kNone = ~std::size_t{0};
  struct Result {
    std::unique_ptr<OutlineVisitor> tail;
    std::size_t close = 0;    // offset of the collection's closing brace
    std::size_t entries = 0;  // entries the tail was told
  };

  Split(int fd, std::size_t size, std::size_t window, std::size_t from, SplitVisitor& visitor)
      : m_fd(fd), m_size(size), m_window(window), m_from(from), m_visitor(visitor) {
    m_thread = std::thread([this] { run(); });
    if (waits()) m_thread.join();
  }
  static bool waits();
  ~Split() {
    m_cancel.store(true);
    if (m_thread.joinable()) m_thread.join();
  }
  Split(const Split&) = delete;
  Split& operator=(const Split&) = delete;

  // Where the other thread's entries begin, once it is sure enough to say.
  std::size_t point() const { return m_point.load(std::memory_order_acquire); }

  // The caller's scan is at a key at or past point(): the other thread's
  // result when that key is the point and its scan succeeded.
  std::optional<Result> take(std::size_t at) {
    if (at != point()) m_cancel.store(true);
    if (m_thread.joinable()) m_thread.join();
    if (at != point() || !m_ok) return std::nullopt;
    return std::move(m_result);
  }

 private:
  void run();

  int m_fd;
  std::size_t m_size, m_window, m_from;
  SplitVisitor& m_visitor;
  std::atomic<bool> m_cancel{false};
  std::atomic<std::size_t> m_point{kNone};
  bool m_ok = false;  // set by the thread before it ends
  Result m_result;
  std::thread m_thread;
};

class Scanner {
 public:
  Scanner(Source& src, const std::function<void(std::size_t)>* progress, std::vector<char>* keys = nullptr,
          OutlineVisitor* visitor = nullptr, Split* split = nullptr)
      : m_src(src), m_progress(progress), m_keys(keys), m_visitor(visitor), m_split(split), m_kernels(scan::kernels()) {}

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
      // i may be one past the window (an escape's second byte, skipped unread).
      if (i >= m_src.hi()) spill(m_src.hi());
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
  // in one pass, a block of this CPU's width at a time. Returns 0 if something nested or a
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
      p = m_kernels.flat(p, end, &commas);  // whole blocks; the stop byte and the tail below
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
    return nested(pos);
  }

  // Skips an object or array: 64 bytes at a time, strings and escapes found
  // with bit masks (as simdjson's first stage does), brackets outside strings
  // matched on a stack. Node records are mostly short strings, where a
  // token-by-token skip would branch on every quote.
  std::size_t nested(std::size_t pos) {
    std::vector<char> stack;
    std::size_t i = pos;
    std::uint64_t in_string = 0;   // all ones when the previous block ended inside a string
    std::uint64_t escape = 0;      // 1 when the next byte is escaped
    auto bracket = [&](char d, std::size_t at_pos) -> bool {  // true when the value ends here
      if (d == '{' || d == '[') {
        if (stack.size() >= 100000) fail(at_pos, "nesting too deep");
        stack.push_back(d);
        return false;
      }
      if (stack.empty() || (d == '}' && stack.back() != '{') || (d == ']' && stack.back() != '['))
        fail(at_pos, "mismatched bracket");
      stack.pop_back();
      return stack.empty();
    };
    for (;;) {
      if (m_src.hi() - std::min(i, m_src.hi()) < 64) {
        spill(i);
        m_src.more();
      }
      const char* base = m_src.base();
      std::size_t hi = m_src.hi();
      while (i + 64 <= hi) {
        // A few blocks per kernel call: records are a few KB, and bits
        // computed past the value's end are wasted.
        constexpr std::size_t kBatch = 4;
        const std::size_t blocks = std::min<std::size_t>((hi - i) / 64, kBatch);
        std::uint64_t masks[kBatch];
        scan::StringState st{in_string, escape};
        m_kernels.brackets(base + i, blocks, &st, masks);
        for (std::size_t b = 0; b < blocks; ++b, i += 64) {
          const char* p = base + i;
          for (std::uint64_t brackets = masks[b]; brackets; brackets &= brackets - 1) {
            int k = __builtin_ctzll(brackets);
            if (bracket(p[k], i + static_cast<std::size_t>(k))) return i + static_cast<std::size_t>(k) + 1;
          }
        }
        in_string = st.in_string;
        escape = st.escape;
        if (i + 64 > hi && m_src.hi() == hi) spill(i);
        if (i + 64 > hi && m_src.hi() == hi && m_src.more()) {  // keep the window ahead
          base = m_src.base();
          hi = m_src.hi();
        }
      }
      // The last bytes of the file: the same state, a byte at a time.
      if (i >= hi) spill(i);
      if (i >= hi && !m_src.more()) fail(pos, "unexpected end of file inside a value that starts here");
      base = m_src.base();
      hi = m_src.hi();
      for (; i < hi; ++i) {
        char d = base[i];
        if (escape) { escape = 0; continue; }
        if (in_string) {
          if (d == '\\') escape = 1;
          else if (d == '"') in_string = 0;
          continue;
        }
        if (d == '"') in_string = ~std::uint64_t{0};
        else if (d == '{' || d == '[' || d == '}' || d == ']') {
          if (bracket(d, i)) return i + 1;
        }
      }
    }
  }

  // Streaming an entry's value, about to read past the window: once the
  // value has outgrown a window and the visitor takes pieces, the bytes
  // scanned so far are handed over and dropped (the scan state of nested()
  // and string() is all in variables, none of it in the bytes behind `i`).
  void spill(std::size_t i) {
    if (!m_piece.on) return;
    if (!m_piece.started) {
      if (i - m_piece.from < m_src.chunk() || !m_visitor->takes_pieces()) return;
      m_piece.entry.raw = std::string_view(m_src.base() + m_piece.from, 0);
      m_piece.entry.lead = std::string_view(m_src.base() + m_piece.lead_at, m_piece.lead_size);
      if (!m_piece.entry.raw_key.empty()) {
        const std::size_t k = m_piece.entry.key_offset;
        m_piece.entry.raw_key = std::string_view(m_src.base() + k, m_piece.entry.raw_key.size());
        m_piece.name = key_at(Span{k, k + m_piece.entry.raw_key.size()});
      }
      if (!m_piece.entry.escaped && !m_piece.entry.raw_key.empty())
        m_piece.entry.key = m_piece.entry.raw_key.substr(1, m_piece.entry.raw_key.size() - 2);
      m_visitor->entry_begin(m_piece.entry);
      m_piece.started = true;
    }
    if (i <= m_piece.from) return;
    m_visitor->entry_piece(std::string_view(m_src.base() + m_piece.from, i - m_piece.from));
    m_piece.from = i;
    m_src.keep_from(i);
  }

  std::string key_at(const Span& key) const {
    return decode_key(std::string_view(m_src.base() + key.begin, key.size()), Span{0, key.size()});
  }

  // The key of what looks like an object member, at or after `pos` and
  // before `limit`: a string after a ',' that follows the end of a value,
  // then ':' and the start of a value (keys with escapes are passed over).
  // kNone when there is none, or once `cancel` is set (the caller's scan
  // no longer wants a split). Only a guess: see Split.
  std::size_t next_member_key(std::size_t pos, std::size_t limit, const std::atomic<bool>& cancel) {
    const std::size_t start = pos;
    for (std::size_t j = pos; j < limit; ++j) {
      if (cancel.load(std::memory_order_relaxed)) return Split::kNone;
      m_src.keep_from(j > start + 64 ? j - 64 : start);
      if (!have(j)) return Split::kNone;
      const char* base = m_src.base();
      const void* hit = std::memchr(base + j, ',', m_src.hi() - j);
      if (!hit) {
        j = m_src.hi() - 1;
        continue;
      }
      j = static_cast<std::size_t>(static_cast<const char*>(hit) - base);
      std::size_t b = j;
      while (b > start && b + 64 > j && is_ws(at(b - 1))) --b;
      if (b <= start) continue;
      const char before = at(b - 1);
      if (!(before == ']' || before == '}' || before == '"' || std::isalnum(static_cast<unsigned char>(before)))) continue;
      const std::size_t k = ws(j + 1);
      if (!have(k) || at(k) != '"') continue;
      std::size_t e = k + 1;
      while (have(e) && at(e) != '"' && at(e) != '\\' && e - k < 4096) ++e;
      if (!have(e) || at(e) != '"') continue;
      const std::size_t colon = ws(e + 1);
      if (!have(colon) || at(colon) != ':') continue;
      const std::size_t v = ws(colon + 1);
      if (!have(v)) return Split::kNone;
      const char c = at(v);
      if (c == '{' || c == '[' || c == '"' || c == '-' || (c >= '0' && c <= '9') || c == 't' || c == 'f' || c == 'n' ||
          c == 'N' || c == 'I')
        return k;
    }
    return Split::kNone;
  }

  // Outlines the container at pos. `path` names it for errors. With
  // `children`, object/array members are outlined too (one level more).
  // With `stream`, the members are handed to m_visitor as entries and not
  // kept (the container's span and count are still returned).
  //
  // With `tail` (the other thread of a split scan, see Split), `pos` is a
  // member's key inside an object collection whose start was not read: its
  // members from there are streamed, and the span returned ends at the
  // collection's closing brace. The scan publishes `pos` once the entries
  // from it look like the collection's (kConfirm bytes of them without
  // the collection ending), and stops when told to (Cancelled).
  Container container(std::size_t pos, const std::string& path,
                      std::vector<std::optional<Container>>* children = nullptr, bool names = false,
                      bool stream = false, TailRun* tail = nullptr) {
    Container c;
    std::size_t count = 0;  // members so far (c.members stays empty when streaming)
    c.is_array = !tail && at(pos) == '[';
    const char close = c.is_array ? ']' : '}';
    std::size_t i = ws(pos + 1);
    auto where = [&](std::size_t at_pos, const char* expected) {
      std::string msg = !have(at_pos) ? "unexpected end of file" : std::string("expected ") + expected;
      msg += " in " + (path.empty() ? std::string("the root object") : path);
      msg += " after " + std::to_string(count) + " complete entr" + (count == 1 ? "y" : "ies");
      fail(at_pos, msg);
    };
    if (tail) i = pos;
    else if (have(i) && at(i) == close) {
      c.span = {pos, i + 1};
      return c;
    }
    std::size_t lead_at = tail ? pos : pos + 1;  // where the bytes before the next member start
    for (;;) {
      if (stream && m_split && !c.is_array && count > 0 && i >= m_split->point() && join_split(i, count)) {
        if (!have(i) || at(i) != close) where(i, "the other thread's end");  // cannot be: it read these bytes
        break;
      }
      if (tail) {
        if (tail->cancel->load(std::memory_order_relaxed)) throw Cancelled{};
        if (!tail->published && i >= pos + tail->confirm) {
          tail->published = true;
          tail->point->store(pos, std::memory_order_release);
        }
      }
      Member m;
      // Streaming keeps the bytes before the member too (StreamEntry::lead).
      m_src.keep_from(stream ? lead_at : i);
      if (!c.is_array) {
        if (!have(i) || at(i) != '"') where(i, "a key string");
        std::size_t k = i;
        try { i = string(i); } catch (const ParseError&) { where(m_src.size(), "a key"); }
        m.key = {k, i};
        m.escaped = std::memchr(m_src.base() + k, '\\', i - k) != nullptr;
        if (names || m.escaped) m.name = key_at(m.key);
        if (m_keys) {
          std::size_t at_key = m_keys->size();
          if (m.escaped) m_keys->insert(m_keys->end(), m.name.begin(), m.name.end());
          else m_keys->insert(m_keys->end(), m_src.base() + k + 1, m_src.base() + i - 1);
          m.name_at = {at_key, m_keys->size()};
        }
        i = ws(i);
        if (!have(i) || at(i) != ':') where(i, "':'");
        i = ws(i + 1);
      }
      std::size_t v = i;
      if (!have(i)) where(i, "a value");
      try {
        if (children && m_visitor) {
          // The root of a streamed file: a collection's entries go to the
          // visitor; its name and key token are copied first, as the window
          // moves on under the entries.
          std::string raw_key(m_src.base() + m.key.begin, m.key.size());
          if (at(i) == '{' || at(i) == '[') {
            bool is_array = at(i) == '[';
            m_visitor->section(m.name, raw_key, true, is_array, {});
            Container sub = container(i, c.is_array ? std::to_string(count) : key_at(m.key), nullptr, false, true);
            i = sub.span.end;
            m_visitor->section_end(sub.span);
          } else {
            i = value(i);
            m_visitor->section(m.name, raw_key, false, false, std::string_view(m_src.base() + v, i - v));
          }
          children->emplace_back();
        } else if (children) {
          if (at(i) == '{' || at(i) == '[') {
            std::string key = c.is_array ? std::to_string(count) : key_at(m.key);
            children->push_back(container(i, key));
            i = children->back()->span.end;
          } else {
            children->emplace_back();
            i = value(i);
          }
        } else if (stream && m_src.file()) {
          // What spill() needs to begin the entry; its views are made again
          // from the window when it does.
          m_piece = {};
          m_piece.on = true;
          m_piece.from = v;
          m_piece.lead_at = lead_at;
          m_piece.lead_size = (c.is_array ? v : m.key.begin) - lead_at;
          if (!c.is_array) {
            m_piece.entry.raw_key = std::string_view(m_src.base() + m.key.begin, m.key.size());
            m_piece.entry.key_offset = m.key.begin;
            if (m.escaped) m_piece.entry.key = m.name;
          }
          m_piece.entry.offset = v;
          m_piece.entry.index = count;
          m_piece.entry.escaped = m.escaped;
          i = value(i, &m.elements);
          m_piece.on = false;
        } else {
          i = value(i, &m.elements);
        }
      } catch (const ParseError& e) {
        const bool pieced = m_piece.started;  // the key's bytes are gone from the window
        const std::string piece_name = std::move(m_piece.name);
        m_piece = {};
        bool nested_report = std::string_view(e.what()).find(" complete entr") != std::string_view::npos;
        if (!nested_report && (e.offset() >= m_src.size() || std::string_view(e.what()).find("end of file") != std::string_view::npos)) {
          std::string key = c.is_array ? "[" + std::to_string(count) + "]" : pieced ? piece_name : key_at(m.key);
          std::string msg = "unexpected end of file inside " + (path.empty() ? key : path + "." + key) +
                            " after " + std::to_string(count) + " complete entr" +
                            (count == 1 ? "y" : "ies") + (path.empty() ? "" : " of " + path);
          fail(m_src.size(), msg);
        }
        throw;
      }
      m.value = {v, i};
      if (m_piece.started) {
        m_visitor->entry_piece(std::string_view(m_src.base() + m_piece.from, i - m_piece.from));
        m_piece = {};
        m_visitor->entry_end(i - v);
      } else if (stream) {
        StreamEntry e;
        const char* base = m_src.base();
        if (!c.is_array) {
          e.raw_key = std::string_view(base + m.key.begin, m.key.size());
          e.key_offset = m.key.begin;
          e.key = m.escaped ? std::string_view(m.name) : e.raw_key.substr(1, e.raw_key.size() - 2);
        }
        e.raw = std::string_view(base + v, i - v);
        std::size_t start = c.is_array ? v : m.key.begin;
        e.lead = std::string_view(base + lead_at, start - lead_at);
        e.offset = v;
        e.index = count;
        e.elements = m.elements;
        e.escaped = m.escaped;
        m_visitor->entry(e);
      } else {
        c.members.push_back(std::move(m));
      }
      ++count;
      lead_at = i;
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
    if (tail) tail->entries = count;
    return c;
  }

 private:
  // The scan is at the key of a member (`count` before it) of the collection
  // being streamed, at or past where the other thread of a split began. At
  // it: the other thread's entries are the visitor's, and the scan goes on
  // at the collection's closing brace (true). Past it, or when the other
  // thread failed or the visitor refuses: the scan goes on here (false).
  bool join_split(std::size_t& i, std::size_t& count) {
    Split* split = m_split;
    m_split = nullptr;  // one split per scan
    std::optional<Split::Result> r = split->take(i);
    if (!r || !static_cast<SplitVisitor*>(m_visitor)->join(*r->tail, r->entries)) return false;
    count += r->entries;
    i = r->close;
    m_src.skip_to(i);
    return true;
  }

  Source& m_src;
  const std::function<void(std::size_t)>* m_progress;
  std::vector<char>* m_keys;
  OutlineVisitor* m_visitor;  // streaming: collections' entries go here instead of into Containers
  Split* m_split;             // the other thread of a split scan, until it is met
  std::size_t m_reported = 0;
  const scan::Kernels& m_kernels;
  // The streamed entry whose value is being scanned, for spill().
  struct Piece {
    bool on = false;       // a streamed entry's value is being scanned
    bool started = false;  // it is being handed over in pieces
    std::size_t from = 0;  // file offset of the first byte not handed over
    std::size_t lead_at = 0, lead_size = 0;
    StreamEntry entry;     // lead, raw_key and raw re-pointed into the window at the start
    std::string name;      // the decoded key, for an error once the key's bytes are gone
  } m_piece;  // this CPU's block scanners
};

void Split::run() {
  try {
    Source src(m_fd, m_size, m_window);
    src.skip_to(m_from);
    // Guesses are tried for a while past the middle; a file whose middle
    // yields no run is scanned by the caller alone.
    const std::size_t limit = std::min(m_size, m_from + m_size / 4);
    // A run is trusted once this much of it parsed as entries of one
    // collection: a guess inside a nested object meets its closing brace first.
    const std::size_t confirm = std::min<std::size_t>(std::size_t{1} << 20, m_size / 16);
    for (std::size_t pos = m_from; !m_cancel.load(std::memory_order_relaxed);) {
      Scanner finder(src, nullptr);
      const std::size_t key = finder.next_member_key(pos, limit, m_cancel);
      if (key == kNone) return;
      std::unique_ptr<OutlineVisitor> tail = m_visitor.tail();
      TailRun run{&m_cancel, &m_point, confirm};
      Scanner s(src, nullptr, nullptr, tail.get());
      Container got;
      try {
        got = s.container(key, "", nullptr, false, true, &run);
      } catch (const ParseError&) {
        if (run.published) return;  // the caller's scan meets the fault itself
        pos = key + 1;
        src.skip_to(pos);
        continue;
      }
      if (!run.published) {  // ended soon: a nested object's members
        pos = got.span.end;
        src.skip_to(pos);
        continue;
      }
      m_result = Result{std::move(tail), got.span.end - 1, run.entries};
      m_ok = true;
      return;
    }
  } catch (...) {
    // Cancelled, or anything else: the caller's scan reads it all itself.
  }
}

Outline outline_unchecked(Source& src, int depth, const std::function<void(std::size_t)>& progress,
                          OutlineVisitor* visitor, Split* split) {
  Outline out;
  Scanner s(src, &progress, visitor ? nullptr : &out.keys, visitor, split);
  if (visitor) depth = 2;
  std::size_t i = 0;
  if (s.have(2) && s.at(0) == '\xEF' && s.at(1) == '\xBB' && s.at(2) == '\xBF') i = 3;
  i = s.ws(i);
  if (!s.have(i)) throw ParseError(i, "empty file (no JSON value)");
  if (s.at(i) != '{') throw ParseError(i, "the root is not a JSON object");
  out.root = s.container(i, "", depth >= 2 ? &out.children : nullptr, true);
  out.children.resize(out.root.members.size());
  std::size_t end = s.ws(out.root.span.end);
  if (s.have(end)) throw ParseError(end, "trailing content after the root object");
  return out;
}

// A mapped file cut short under the scan read zeros where its bytes were:
// whatever the scan made of them, the error is that the file shrank.
Outline outline(Source& src, int depth, const std::function<void(std::size_t)>& progress,
                OutlineVisitor* visitor = nullptr, Split* split = nullptr) {
  Outline out;
  try {
    out = outline_unchecked(src, depth, progress, visitor, split);
  } catch (const ParseError&) {
    if (src.shrank()) src.fail_shrank();
    throw;
  }
  if (src.shrank()) src.fail_shrank();
  return out;
}

}  // namespace

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

std::size_t stream_window() {
  static const std::size_t window = [] {
    const char* env = std::getenv("LSTORE_STREAM_WINDOW");
    std::size_t n = env && *env ? std::strtoull(env, nullptr, 10) : 0;
    return n >= 64 ? n : std::size_t{1} << 20;
  }();
  return window;
}

Outline outline_object(std::string_view text, int depth, const std::function<void(std::size_t)>& progress) {
  Source src(text);
  return outline(src, depth, progress);
}

Outline stream_file(int fd, std::size_t size, OutlineVisitor& visitor,
                    const std::function<void(std::size_t)>& progress, std::size_t window) {
  Source src(fd, size, window);
  return outline(src, 2, progress, &visitor);
}

std::atomic<bool> g_split_waits{false};

void split_waits_for_tests(bool wait) { g_split_waits.store(wait); }

bool Split::waits() {
  static const bool env = [] {
    const char* e = std::getenv("LSTORE_SPLIT_WAIT");
    return e && *e && std::string_view(e) != "0";
  }();
  return env || g_split_waits.load();
}

std::size_t split_bytes() {
  static const std::size_t bytes = [] {
    const char* env = std::getenv("LSTORE_SPLIT_BYTES");
    return env && *env ? std::strtoull(env, nullptr, 10) : std::size_t{16} << 20;
  }();
  return bytes;
}

Outline stream_file_split(int fd, std::size_t size, SplitVisitor& visitor, std::size_t window,
                          std::size_t split_at) {
  Source src(fd, size, window);
  std::unique_ptr<Split> split;
  if (size >= std::max<std::size_t>(split_at, 64) && std::thread::hardware_concurrency() > 1)
    split = std::make_unique<Split>(fd, size, window, size / 2, visitor);
  return outline(src, 2, {}, &visitor, split.get());
}

Outline stream_object(std::string_view text, OutlineVisitor& visitor) {
  Source src(text);
  return outline(src, 2, {}, &visitor);
}

Outline outline_file(int fd, std::size_t size, int depth, const std::function<void(std::size_t)>& progress,
                     std::size_t window) {
  Source src(fd, size, window);
  return outline(src, depth, progress);
}

}  // namespace lstore
