// Reading an index store's structs in windows; see stream_index_store.hpp.
#include "core/stream_index_store.hpp"

#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <functional>
#include <set>
#include <string>
#include <vector>

namespace lstore {
namespace {

constexpr std::size_t kWindow = std::size_t{1} << 20;
constexpr std::size_t kMaxToken = 256;  // keys, type names and numbers checked here
constexpr std::size_t kMaxSample = std::size_t{64} << 20;
constexpr std::size_t kStrictDepth = 64;  // well inside locate_json_error's 256

// Anything this reader does not take on: the file is read whole instead.
struct GiveUp {};

bool is_ws(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }
bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// A JSON number as RFC 8259 writes it (NaN and Infinity, which Python also
// reads, are left to the loaded path).
bool is_number(const std::string& s) {
  std::size_t i = 0, n = s.size();
  if (i < n && s[i] == '-') ++i;
  if (i >= n) return false;
  if (s[i] == '0') {
    ++i;
  } else if (is_digit(s[i])) {
    while (i < n && is_digit(s[i])) ++i;
  } else {
    return false;
  }
  if (i < n && s[i] == '.') {
    if (++i >= n || !is_digit(s[i])) return false;
    while (i < n && is_digit(s[i])) ++i;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
    if (i >= n || !is_digit(s[i])) return false;
    while (i < n && is_digit(s[i])) ++i;
  }
  return i == n;
}

// A JSON lexer fed one character at a time: it checks the grammar (ASCII
// only: anything else gives up) and tells its owner where keys and values
// are. `depth` is the number of containers open around a key or value.
class Lexer {
 public:
  class Hooks {
   public:
    virtual ~Hooks() = default;
    virtual void key(std::size_t depth, const std::string& k, bool whole) = 0;
    // kind: '"', '{', '[', or '0' for a number or literal.
    virtual void value_start(std::size_t depth, char kind) = 0;
    // A string value has ended: its raw text (escapes as written), the first
    // kMaxToken bytes of it.
    virtual void value_string(std::size_t depth, const std::string& raw, bool whole) = 0;
    // A ',' between the members of the container open at `depth` (>= 1).
    virtual void separator(std::size_t depth) = 0;
    // The container open at `depth` (>= 1) closes with this character.
    virtual void closing(std::size_t depth) = 0;
  };

  explicit Lexer(Hooks& hooks) : m_hooks(hooks) {}

  // Reading references (stream_index_refs): a \\u escape gives up (json.load
  // and locate_json_error may judge a lone surrogate apart; a decoded
  // non-ASCII id would be misread here), and so does nesting deeper than
  // locate_json_error's limit could matter.
  bool strict = false;

  // Inside a string, not within an escape: a run of plain characters may be
  // passed with plain().
  bool in_plain_string() const { return m_in_string && !m_escape && m_hex == 0; }
  bool in_string() const { return m_in_string; }

  // `n` characters of a string, none of them '"', '\\', control or non-ASCII.
  void plain(const char* p, std::size_t n) {
    const std::size_t room = kMaxToken - std::min(kMaxToken, m_buf.size());
    if (n > room) m_buf_whole = false;
    m_buf.append(p, std::min(n, room));
  }

  void feed(char c) {
    if (static_cast<unsigned char>(c) >= 0x80) throw GiveUp{};
    if (m_in_string) {
      string_char(c);
      return;
    }
    if (m_scalar) {
      if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '+' || c == '-' ||
          c == '.') {
        if (m_buf.size() >= kMaxToken) throw GiveUp{};
        m_buf.push_back(c);
        return;
      }
      end_scalar();
    }
    if (is_ws(c)) return;
    switch (c) {
      case '"':
        if (!m_frames.empty() && m_frames.back().object &&
            (m_frames.back().expect == Expect::KeyOrClose || m_frames.back().expect == Expect::Key)) {
          m_is_key = true;
        } else {
          begin_value('"');
          m_is_key = false;
        }
        m_in_string = true;
        m_buf.clear();
        m_buf_whole = true;
        return;
      case '{':
      case '[':
        begin_value(c);
        if (strict && m_frames.size() >= kStrictDepth) throw GiveUp{};
        m_frames.push_back({c == '{', c == '{' ? Expect::KeyOrClose : Expect::ValueOrClose});
        return;
      case '}':
      case ']': {
        if (m_frames.empty() || m_frames.back().object != (c == '}')) throw GiveUp{};
        Expect e = m_frames.back().expect;
        if (e != Expect::CommaOrClose && e != Expect::KeyOrClose && e != Expect::ValueOrClose) throw GiveUp{};
        m_hooks.closing(m_frames.size());
        m_frames.pop_back();
        if (m_frames.empty()) m_done = true;
        return;
      }
      case ':':
        if (m_frames.empty() || m_frames.back().expect != Expect::Colon) throw GiveUp{};
        m_frames.back().expect = Expect::Value;
        return;
      case ',':
        if (m_frames.empty() || m_frames.back().expect != Expect::CommaOrClose) throw GiveUp{};
        m_hooks.separator(m_frames.size());
        m_frames.back().expect = m_frames.back().object ? Expect::Key : Expect::Value;
        return;
      default:
        if (c == '-' || is_digit(c) || c == 't' || c == 'f' || c == 'n') {
          begin_value('0');
          m_scalar = true;
          m_buf.assign(1, c);
          return;
        }
        throw GiveUp{};
    }
  }

  // The end of the text: exactly one value, whole.
  void end() {
    if (m_scalar) end_scalar();
    if (m_in_string || !m_frames.empty() || !m_done) throw GiveUp{};
  }

 private:
  enum class Expect { Value, ValueOrClose, Key, KeyOrClose, Colon, CommaOrClose };
  struct Frame {
    bool object;
    Expect expect;
  };

  void begin_value(char kind) {
    if (m_frames.empty()) {
      if (m_done || m_started) throw GiveUp{};
      m_started = true;
    } else {
      Expect e = m_frames.back().expect;
      if (e != Expect::Value && e != Expect::ValueOrClose) throw GiveUp{};
      m_frames.back().expect = Expect::CommaOrClose;  // once this value is over
    }
    m_hooks.value_start(m_frames.size(), kind);
  }

  void string_char(char c) {
    if (m_hex) {
      if (!is_hex(c)) throw GiveUp{};
      --m_hex;
    } else if (m_escape) {
      m_escape = false;
      if (c == 'u' && strict) throw GiveUp{};
      if (c == 'u') m_hex = 4;
      else if (!std::strchr("\"\\/bfnrt", c)) throw GiveUp{};
    } else if (c == '\\') {
      m_escape = true;
    } else if (c == '"') {
      m_in_string = false;
      if (m_is_key) {
        m_hooks.key(m_frames.size(), m_buf, m_buf_whole);
        m_frames.back().expect = Expect::Colon;
      } else {
        m_hooks.value_string(m_frames.size(), m_buf, m_buf_whole);
        if (m_frames.empty()) m_done = true;
      }
      return;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      throw GiveUp{};
    }
    if (m_buf.size() < kMaxToken) m_buf.push_back(c);
    else m_buf_whole = false;
  }

  void end_scalar() {
    m_scalar = false;
    if (m_buf != "true" && m_buf != "false" && m_buf != "null" && !is_number(m_buf)) throw GiveUp{};
    if (m_frames.empty()) m_done = true;
  }

  Hooks& m_hooks;
  std::vector<Frame> m_frames;
  bool m_started = false, m_done = false;
  bool m_in_string = false, m_is_key = false, m_escape = false, m_scalar = false;
  int m_hex = 0;
  std::string m_buf;  // the string or scalar being read (its first kMaxToken bytes)
  bool m_buf_whole = true;
};

// The struct inside one __data__ string: counts the entries of its first
// member named `a` or `b` (as count_index_struct() does), and tells the
// reader which of its characters to leave out of the sample (every entry of
// that member after the first).
//
// With `refs` (stream_index_refs) it also tells every member of the
// struct's nodes_dict to `refs`, and gives up wherever visit_vector_struct()
// of validate_index_refs.cpp would refuse the struct: nodes_dict not an
// object found once, a key or value not a plain string without escapes, a
// root name or a node key twice (compared by hash, as there).
class StructCounter : public Lexer::Hooks {
 public:
  StructCounter(const char* a, const char* b, const IndexRefSink* refs = nullptr) : m_a(a), m_b(b), m_refs(refs) {}

  std::size_t count = 0;
  bool skipping = false;

  void key(std::size_t depth, const std::string& k, bool whole) override {
    if (depth == 2 && m_in_nodes) {
      if (!whole || k.find('\\') != std::string::npos) throw GiveUp{};
      m_key = k;
    }
    if (depth != 1) return;
    // A name written with escapes is compared decoded by the loaded path.
    if (k.find('\\') != std::string::npos) throw GiveUp{};
    m_member = whole ? k : std::string();
    if (m_refs) {
      if (!whole) throw GiveUp{};
      m_roots.push_back(std::hash<std::string_view>{}(k));
    }
  }
  void value_start(std::size_t depth, char kind) override {
    if (depth == 0 && kind != '{') throw GiveUp{};  // not a struct: the loaded path decides
    if (m_refs && depth == 1 && m_member == "nodes_dict") {
      if (m_nodes_seen || kind != '{') throw GiveUp{};
      m_nodes_seen = m_in_nodes = true;
    }
    if (m_in_nodes && depth == 2 && kind != '"') throw GiveUp{};
    if (depth == 1 && !m_found && (m_member == m_a || (m_b && m_member == m_b))) {
      m_found = true;
      m_counting = kind == '{' || kind == '[';
    } else if (depth == 2 && m_counting) {
      ++count;
    }
  }
  void value_string(std::size_t depth, const std::string& raw, bool whole) override {
    if (depth != 2 || !m_in_nodes) return;
    if (!whole || raw.find('\\') != std::string::npos) throw GiveUp{};
    m_keys.push_back(std::hash<std::string_view>{}(m_key));
    (*m_refs)(m_key, raw);
  }
  void separator(std::size_t depth) override {
    if (depth == 2 && m_counting) skipping = true;
  }
  void closing(std::size_t depth) override {
    if (depth == 2) m_in_nodes = false;
    if (depth == 2 && m_counting) {
      m_counting = false;
      skipping = false;
    }
  }

  // The struct has been read whole: the checks made at its end.
  void finish_refs() {
    if (!m_refs) return;
    if (!m_nodes_seen || !distinct(m_roots) || !distinct(m_keys)) throw GiveUp{};
  }

 private:
  static bool distinct(std::vector<std::size_t>& hashes) {
    std::sort(hashes.begin(), hashes.end());
    return std::adjacent_find(hashes.begin(), hashes.end()) == hashes.end();
  }

  const char* m_a;
  const char* m_b;
  const IndexRefSink* m_refs;
  std::string m_member;
  bool m_found = false;
  bool m_counting = false;
  bool m_nodes_seen = false, m_in_nodes = false;
  std::string m_key;  // the nodes_dict key whose value comes next
  std::vector<std::size_t> m_roots, m_keys;
};

// The member counted for a struct type, as count_index_struct() has it.
bool counted_members(const std::string& type, const char*& a, const char*& b) {
  a = b = nullptr;
  if (type == "vector_store" || type == "multimodal" || type == "simple_dict" || type == "dict") a = "nodes_dict", b = "nodesDict";
  else if (type == "list") a = "nodes";
  else if (type == "tree") a = "all_nodes";
  return a != nullptr;
}

// The whole file: root object -> collections (objects) -> entries (objects)
// -> members. A __data__ string of an entry whose type was given before it
// is fed through a StructCounter as it is read.
//
// With `refs` (stream_index_refs) only what the streamed validate takes is
// followed: root members each once, the one container index_store/data an
// object whose entries are all {"__type__": "vector_store", "__data__":
// "..."} objects with distinct member names, the type before the struct;
// anything else gives up.
class Reader : public Lexer::Hooks {
 public:
  explicit Reader(const std::string* keep, const IndexRefSink* refs = nullptr) : m_keep(keep), m_refs(refs) {}
  StreamedFile out;

  void key(std::size_t depth, const std::string& k, bool whole) override {
    if (depth > 3) return;
    // Collection names, struct ids and member names are compared decoded by
    // the loaded path: one written with escapes is left to it.
    if (!whole || k.find('\\') != std::string::npos) throw GiveUp{};
    if (depth == 1) {
      m_collection = k;
      if (!m_collections.insert(k).second) throw GiveUp{};  // a root key twice: the model's business
    } else if (depth == 2) {
      m_entry = k;
      if (!m_entries.insert(m_collection + '\0' + k).second) throw GiveUp{};
    } else if (depth == 3) {
      m_member = k;
      if (m_refs && !m_names.insert(k).second) throw GiveUp{};
      if (m_refs && k == "__type__" && m_data_seen) throw GiveUp{};  // whatever its value
    }
  }

  void value_start(std::size_t depth, char kind) override {
    if (depth == 0 && kind != '{') throw GiveUp{};
    if (m_refs && depth == 1 && (kind == '[' || (kind == '{' && m_collection != "index_store/data"))) throw GiveUp{};
    if (m_refs && depth == 2) {
      if (kind != '{') throw GiveUp{};
      m_names.clear();
    }
    if (depth == 1) {
      m_collection_object = kind == '{';
      if (m_collection_object) out.counts[m_collection];  // counted below
    }
    if (depth == 2) {
      m_entry_object = kind == '{' && m_collection_object;
      m_type.reset();
      m_data_seen = false;
      if (m_collection_object) {
        CollectionCounts& c = out.counts[m_collection];
        ++c.entries;
        ++c.distinct;  // keys are checked distinct above
      }
    }
    if (depth == 3 && m_entry_object && m_member == "__data__") {
      if (m_data_seen) throw GiveUp{};  // the last one counts: not worth following here
      m_data_seen = true;
      const char* a;
      const char* b;
      const bool asked = m_keep && *m_keep == m_entry;  // get ID: this struct stays whole
      if (m_refs && (kind != '"' || m_type != std::string("vector_store"))) throw GiveUp{};
      if (kind == '"' && m_type && !asked && counted_members(*m_type, a, b)) m_enter_struct = StructCounter(a, b, m_refs);
    }
  }

  void value_string(std::size_t depth, const std::string& raw, bool whole) override {
    // (validate_index_refs.cpp reads "__type__" alone.)
    if (depth == 3 && m_entry_object && (m_member == "__type__" || (!m_refs && m_member == "type"))) {
      if (m_data_seen) throw GiveUp{};  // the type after the struct: not followed here
      if (whole && raw.find('\\') == std::string::npos) m_type = raw;
      else m_type = std::string("\\");  // a type no struct counter takes
    }
  }
  void separator(std::size_t) override {}
  void closing(std::size_t depth) override {
    if (m_refs && depth == 3 && !m_data_seen) throw GiveUp{};  // an entry without a struct
  }

  // Set by value_start() when a struct to count begins; taken by the loop.
  std::optional<StructCounter> m_enter_struct;
  std::string m_entry;
  std::string m_collection;

 private:
  const std::string* m_keep;
  const IndexRefSink* m_refs;
  std::set<std::string> m_names;  // of the entry being read (refs)
  std::set<std::string> m_collections;
  std::set<std::string> m_entries;
  std::string m_member;
  bool m_collection_object = false;
  bool m_entry_object = false;
  bool m_data_seen = false;
  std::optional<std::string> m_type;
};

// One escape sequence (or plain character) of the outer string, decoded to
// the character the struct's text holds there; 0 for a character outside
// ASCII (allowed only inside the struct's own strings).
char decode_unit(const std::string& unit) {
  if (unit.size() == 1) return unit[0];
  switch (unit[1]) {
    case '"': return '"';
    case '\\': return '\\';
    case '/': return '/';
    case 'b': return '\b';
    case 'f': return '\f';
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    default: break;
  }
  unsigned v = static_cast<unsigned>(std::stoul(unit.substr(2), nullptr, 16));
  return v < 0x80 ? static_cast<char>(v) : 0;
}

// The length of an escape sequence starting "\\" + c.
std::size_t unit_length(const std::string& unit) {
  if (unit.size() < 2) return unit[0] == '\\' ? 2 : 1;
  return unit[1] == 'u' ? 6 : 2;
}

class Loop {
 public:
  explicit Loop(const std::string* keep, const IndexRefSink* refs = nullptr)
      : m_reader(keep, refs), m_outer(m_reader), m_refs(refs) {
    m_outer.strict = refs != nullptr;
  }

  void feed(const char* p, std::size_t n) {
    std::size_t i = 0;
    while (i < n) {
      if (!m_struct) {
        char c = p[i++];
        m_outer.feed(c);
        if (!m_refs) m_reader.out.sample.push_back(c);  // (no sample is made of references)
        if (m_reader.m_enter_struct) {
          m_struct.emplace(*m_reader.m_enter_struct);
          m_reader.m_enter_struct.reset();
          m_inner.emplace(*m_struct);
          m_inner->strict = m_refs != nullptr;
        }
        if (m_reader.out.sample.size() > kMaxSample) throw GiveUp{};
        continue;
      }
      // Inside a struct's string: a run of plain characters at once.
      if (m_unit.empty() && m_outer.in_plain_string() && m_inner->in_plain_string()) {
        std::size_t j = i;
        while (j < n && p[j] != '\\' && p[j] != '"' && static_cast<unsigned char>(p[j]) >= 0x20 &&
               static_cast<unsigned char>(p[j]) < 0x80)
          ++j;
        if (j > i) {
          m_outer.plain(p + i, j - i);
          m_inner->plain(p + i, j - i);
          if (!m_struct->skipping && !m_refs) m_reader.out.sample.append(p + i, j - i);
          i = j;
          continue;
        }
      }
      char c = p[i++];
      m_outer.feed(c);
      if (!m_outer.in_string()) {  // the closing quote of __data__
        if (!m_unit.empty()) throw GiveUp{};
        m_inner->end();
        m_struct->finish_refs();
        m_reader.out.counts[m_reader.m_collection].struct_nodes[m_reader.m_entry] = m_struct->count;
        if (!m_refs) m_reader.out.sample.push_back(c);
        m_inner.reset();
        m_struct.reset();
        continue;
      }
      m_unit.push_back(c);
      if (m_unit.size() < unit_length(m_unit)) continue;
      char d = decode_unit(m_unit);
      if (d == 0) {
        if (!m_inner->in_string()) throw GiveUp{};
        d = 'x';  // a character of one of the struct's strings: not structure
      }
      m_inner->feed(d);
      if (!m_struct->skipping && !m_refs) m_reader.out.sample.append(m_unit);
      m_unit.clear();
      if (m_reader.out.sample.size() > kMaxSample) throw GiveUp{};
    }
  }

  StreamedFile finish() {
    m_outer.end();
    if (m_struct) throw GiveUp{};
    return std::move(m_reader.out);
  }

 private:
  Reader m_reader;
  Lexer m_outer;
  std::optional<StructCounter> m_struct;
  std::optional<Lexer> m_inner;
  std::string m_unit;  // an escape sequence of the struct's string being read
  const IndexRefSink* m_refs;
};

// The file read in windows through `loop`; false on a read error.
template <class Feed>
bool read_windows(int fd, std::size_t size, std::size_t window, Feed&& feed) {
  std::vector<char> buf(window);
  std::size_t off = 0;
  while (off < size) {
    ssize_t n = ::pread(fd, buf.data(), std::min(buf.size(), size - off), static_cast<off_t>(off));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    feed(buf.data(), static_cast<std::size_t>(n));
    off += static_cast<std::size_t>(n);
  }
  return true;
}

}  // namespace

bool stream_index_refs(int fd, std::size_t size, const IndexRefSink& sink,
                       const std::function<void(std::size_t)>& passed) {
  try {
    Loop loop(nullptr, &sink);
    std::size_t off = 0;
    bool read = read_windows(fd, size, kWindow, [&](const char* p, std::size_t n) {
      loop.feed(p, n);
      off += n;
      if (passed) passed(off);
    });
    if (!read) return false;
    loop.finish();
    return true;
  } catch (const GiveUp&) {
    return false;
  }
}

bool stream_index_refs(std::string_view text, const IndexRefSink& sink, std::size_t window) {
  try {
    Loop loop(nullptr, &sink);
    for (std::size_t off = 0; off < text.size(); off += window)
      loop.feed(text.data() + off, std::min(window, text.size() - off));
    loop.finish();
    return true;
  } catch (const GiveUp&) {
    return false;
  }
}

std::optional<StreamedFile> stream_index_store(int fd, std::size_t size, const std::string* keep) {
  try {
    Loop loop(keep);
    std::vector<char> buf(kWindow);
    std::size_t off = 0;
    while (off < size) {
      ssize_t n = ::pread(fd, buf.data(), std::min(buf.size(), size - off), static_cast<off_t>(off));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return std::nullopt;  // the loaded path reports the read error
      loop.feed(buf.data(), static_cast<std::size_t>(n));
      off += static_cast<std::size_t>(n);
    }
    return loop.finish();
  } catch (const GiveUp&) {
    return std::nullopt;
  }
}

}  // namespace lstore
