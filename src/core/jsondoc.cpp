// JsonDoc: raw bytes + outline + edits; see jsondoc.hpp.
#include "lstore/jsondoc.hpp"

#include <algorithm>
#include <functional>
#include <exception>
#include <thread>

#include "lstore/error.hpp"
#include "core/fileio.hpp"
#include "core/outline.hpp"
#include "core/plain_json.hpp"

namespace lstore {
namespace {

std::string between(std::string_view t, std::size_t a, std::size_t b) {
  return b > a ? std::string(t.substr(a, b - a)) : std::string();
}

// Gaps of an outlined container, from its first two members.
Gaps gaps_of(std::string_view t, const Container& c, const Gaps& fallback) {
  Gaps g = fallback;
  if (c.members.empty()) {
    g.empty = between(t, c.span.begin + 1, c.span.end - 1);
    return g;
  }
  const Member& first = c.members.front();
  std::size_t first_start = c.is_array ? first.value.begin : first.key.begin;
  g.open = between(t, c.span.begin + 1, first_start);
  if (!c.is_array) g.kv = between(t, first.key.end, first.value.begin);
  if (c.members.size() > 1) {
    const Member& second = c.members[1];
    g.item = between(t, first.value.end, c.is_array ? second.value.begin : second.key.begin);
  }
  g.close = between(t, c.members.back().value.end, c.span.end - 1);
  return g;
}

}  // namespace

const Entry* Section::find(std::string_view key) const {
  if (entries.size() < 8) {
    for (auto it = entries.rbegin(); it != entries.rend(); ++it)
      if (it->key == key) return &*it;
    return nullptr;
  }
  if (m_index.empty()) {
    m_index.clear();
    m_index.reserve(entries.size());
    // Duplicate keys: the last one wins, as in Python's json.load.
    for (std::size_t i = 0; i < entries.size(); ++i) m_index[entries[i].key] = i;
  }
  auto it = m_index.find(key);
  return it == m_index.end() ? nullptr : &entries[it->second];
}

std::size_t Section::size() const {
  if (is_array || entries.size() < 2) return entries.size();
  if (m_distinct != kUnknown) return m_distinct;
  // Distinct keys: sort the keys' hashes and compare the keys only where two
  // hashes are equal (cheaper than a hash map of 100k keys).
  std::vector<std::pair<std::size_t, std::uint32_t>> h(entries.size());
  for (std::size_t i = 0; i < entries.size(); ++i)
    h[i] = {std::hash<std::string_view>{}(entries[i].key), static_cast<std::uint32_t>(i)};
  std::sort(h.begin(), h.end());
  std::size_t n = entries.size();
  for (std::size_t i = 0; i < h.size();) {
    std::size_t j = i + 1;
    while (j < h.size() && h[j].first == h[i].first) ++j;
    for (std::size_t a = i + 1; a < j; ++a)  // same hash: duplicates unless the keys differ
      for (std::size_t b = i; b < a; ++b)
        if (entries[h[a].second].key == entries[h[b].second].key) {
          --n;
          break;
        }
    i = j;
  }
  m_distinct = n;
  return n;
}

JsonDoc JsonDoc::read(std::string name, std::shared_ptr<Buffer> buffer, JsonDialect dialect) {
  JsonDoc d;
  d.m_name = std::move(name);
  d.m_dialect = dialect;
  d.m_buffer = std::move(buffer);
  std::string_view t = d.m_buffer->view();
  Outline o;
  try {
    const Buffer& buf = *d.m_buffer;
    o = buf.fd() >= 0 ? outline_file(buf.fd(), t.size(), 2) : outline_object(t, 2);
  } catch (const ParseError& e) {
    throw Error(ErrorKind::Data, d.m_name, e.what(), line_column(t.data(), t.size(), e.offset()));
  }
  d.m_keys = std::make_shared<const std::vector<char>>(std::move(o.keys));
  std::string_view keys(d.m_keys->data(), d.m_keys->size());
  d.m_prefix = t.substr(0, o.root.span.begin);
  d.m_suffix = t.substr(o.root.span.end);
  Gaps base = d.default_gaps(0);
  d.m_root = gaps_of(t, o.root, base);
  // A pretty-printed file: indent = spaces after the newline that opens the root.
  auto nl = d.m_root.open.rfind('\n');
  if (nl != std::string::npos) d.m_indent = static_cast<int>(d.m_root.open.size() - nl - 1);
  d.m_sections.reserve(o.root.members.size());
  for (std::size_t i = 0; i < o.root.members.size(); ++i) {
    Member& m = o.root.members[i];
    Section s;
    s.name = std::move(m.name);
    s.raw_key = m.key.in(t);
    s.raw = m.value.in(t);
    if (o.children[i]) {
      Container& c = *o.children[i];
      s.outlined = true;
      s.is_array = c.is_array;
      s.gaps = gaps_of(t, c, d.default_gaps(1));
      s.entries.reserve(c.members.size());
      for (Member& e : c.members) {
        Entry en;
        if (!c.is_array) {
          en.raw_key = e.key.in(t);
          en.key = e.name_at.in(keys);
        }
        en.raw = e.value.in(t);
        en.elements = e.elements;
        s.entries.push_back(std::move(en));
      }
      // Each collection's outline goes as soon as its entries are made, so
      // the peak holds one collection twice, not the whole file.
      std::vector<Member>().swap(c.members);
    }
    d.m_sections.push_back(std::move(s));
  }
  return d;
}

Gaps JsonDoc::default_gaps(int depth) const {
  Gaps g;
  if (m_indent >= 0) {
    g.open = "\n" + std::string(static_cast<std::size_t>(m_indent * (depth + 1)), ' ');
    g.item = "," + g.open;
    g.close = "\n" + std::string(static_cast<std::size_t>(m_indent * depth), ' ');
    g.kv = ": ";
  } else if (m_dialect != JsonDialect::Python) {
    g.kv = ":";
    g.item = ",";
  }
  return g;
}

void JsonDoc::release_between(const char* from, const char* to) const {
  std::string_view t = bytes();
  if (!m_buffer || from < t.data() || to > t.data() + t.size() || from >= to) return;
  m_buffer->release(static_cast<std::size_t>(from - t.data()), static_cast<std::size_t>(to - t.data()));
}

bool JsonDoc::changed() const {
  if (m_structure_changed || !m_buffer) return true;
  for (const Section& s : m_sections)
    if (s.dirty) return true;
  return false;
}

// A key that appears twice at the root: the last one wins, as in json.load.
const Section* JsonDoc::section(std::string_view name) const {
  for (auto it = m_sections.rbegin(); it != m_sections.rend(); ++it)
    if (it->name == name) return &*it;
  return nullptr;
}

Section* JsonDoc::section(std::string_view name) {
  return const_cast<Section*>(static_cast<const JsonDoc*>(this)->section(name));
}

Json JsonDoc::decode(std::string_view raw) const {
  try {
    return parse(raw);
  } catch (const ParseError& e) {
    std::string_view t = bytes();
    std::size_t base = (!t.empty() && raw.data() >= t.data() && raw.data() < t.data() + t.size())
                           ? static_cast<std::size_t>(raw.data() - t.data())
                           : 0;
    throw Error(ErrorKind::Data, m_name, e.what(), line_column(t.data(), t.size(), base + e.offset()));
  }
}

namespace {

// What json.load accepts, as verify() and the precheck judge a value:
// embeddings and ids first by the cheap checks (sound: a "no" goes to
// accepts_json, whose answer and error are the ones reported).
bool value_is_json(std::string_view raw, bool in_file) {
  bool plain = !raw.empty() && ((raw.front() == '[' && plain_number_array(raw)) || (raw.front() == '"' && plain_ascii_string(raw)));
  return plain || accepts_json(raw, in_file);
}

// A pass over a large file lets the pages behind it go, `window` bytes at a
// time (they are not needed again): verify() and keep_passing().
class ReleaseBehind {
 public:
  ReleaseBehind(const Buffer* buffer, std::ptrdiff_t window) : m_buffer(buffer), m_window(window) {}
  // The pass has got to `p`, a byte of the buffer.
  void at(const char* p) {
    if (!m_buffer) return;
    if (!m_from) m_from = p;
    if (p - m_from <= m_window) return;
    const char* base = m_buffer->view().data();
    m_buffer->release(static_cast<std::size_t>(m_from - base), static_cast<std::size_t>(p - base));
    m_from = p;
  }

 private:
  const Buffer* m_buffer;
  std::ptrdiff_t m_window;
  const char* m_from = nullptr;
};

bool in_file_padded(std::string_view all, std::string_view raw) {
  return !all.empty() && raw.data() >= all.data() && raw.data() + raw.size() + kJsonPadding <= all.data() + all.size();
}

}  // namespace

std::vector<std::string_view> JsonDoc::values_as_read() const {
  std::vector<std::string_view> raws;
  std::size_t n = 0;
  for (const Section& s : m_sections) n += s.outlined ? 2 * s.entries.size() : 1;
  raws.reserve(n);
  std::string_view all = bytes();
  auto add = [&](std::string_view raw) {
    if (in_file_padded(all, raw)) raws.push_back(raw);
  };
  for (const Section& s : m_sections) {
    if (!s.outlined) {
      if (!s.dirty) add(s.raw);
      continue;
    }
    for (const Entry& e : s.entries) {
      if (!e.raw_key.empty()) add(e.raw_key);
      add(e.raw);
    }
  }
  return raws;
}

std::size_t keep_passing(std::span<std::string_view> raws, const Buffer& buffer, const std::function<bool()>& go_on) {
  ReleaseBehind behind(&buffer, std::ptrdiff_t{4} << 20);  // it runs beside the edit: little resident
  std::size_t kept = 0;
  for (std::size_t i = 0; i < raws.size(); ++i) {
    if ((i & 255) == 0 && !go_on()) return 0;
    std::string_view raw = raws[i];
    if (!value_is_json(raw, true)) continue;
    raws[kept++] = raw;
    behind.at(raw.data());
  }
  return kept;
}

void JsonDoc::verify(const std::vector<std::string_view>* passed) const {
  std::string_view all = bytes();
  // A value the precheck passed (the same bytes, where they were) is not
  // checked again. Both lists are in file order, so each run walks `passed`
  // along with its values (a search only to start, or if the order breaks).
  auto by_address = [](std::string_view a, std::string_view b) { return a.data() < b.data(); };
  auto was_passed = [&](std::string_view raw, std::size_t& at) {
    if (!passed || passed->empty()) return false;
    const std::vector<std::string_view>& p = *passed;
    if (at >= p.size() || p[at].data() > raw.data())
      at = static_cast<std::size_t>(std::lower_bound(p.begin(), p.end(), raw, by_address) - p.begin());
    while (at < p.size() && p[at].data() < raw.data()) ++at;
    return at < p.size() && p[at].data() == raw.data() && p[at].size() == raw.size();
  };

  // Every value to check, in document order (entry null: a section kept whole).
  struct Item {
    const Section* section;
    const Entry* entry;
  };
  std::vector<Item> items;
  std::size_t total = 0;
  for (const Section& s : m_sections) {
    if (!s.outlined) {
      if (!s.dirty) items.push_back({&s, nullptr}), total += s.raw.size();
      continue;
    }
    for (const Entry& e : s.entries) items.push_back({&s, &e}), total += e.raw.size() + e.raw_key.size();
  }
  // Checks items [b, e); the first bad one throws. `window`: how much of the
  // file read behind may stay resident.
  auto run = [&](std::size_t b, std::size_t e, std::ptrdiff_t window) {
    ReleaseBehind behind(m_buffer.get(), window);
    std::size_t at = ~std::size_t{0};  // where in `passed` the walk is
    auto check = [&](std::string_view raw, const Item& it, bool key) {
      bool in_file = in_file_padded(all, raw);
      if ((in_file && was_passed(raw, at)) || value_is_json(raw, in_file)) {
        if (in_file) behind.at(raw.data());
        return;
      }
      const Section& s = *it.section;
      std::string path = !it.entry ? s.name : s.name + (s.is_array ? "[]" : "." + std::string(it.entry->key));
      if (key) path += " (its key)";
      try {
        decode(raw);
      } catch (const Error& err) {
        throw Error(ErrorKind::Data, m_name, err.what(), path + " at " + err.place());
      }
      throw Error(ErrorKind::Data, m_name, "not JSON", path);
    };
    for (std::size_t i = b; i < e; ++i) {
      const Item& it = items[i];
      if (!it.entry) {
        check(it.section->raw, it, false);
        continue;
      }
      if (!it.entry->raw_key.empty()) check(it.entry->raw_key, it, true);
      check(it.entry->raw, it, false);
    }
  };
  // A large file is checked in two halves at once (the halves of a 1 GB
  // vector file take a second each): the first half's error, if any, is the
  // one reported, so the error is still the first in the file.
  if (total < (std::size_t{64} << 20)) {
    run(0, items.size(), std::ptrdiff_t{32} << 20);
    return;
  }
  std::size_t split = 0;
  for (std::size_t acc = 0; split < items.size() && acc < total / 2; ++split) {
    const Item& it = items[split];
    acc += it.entry ? it.entry->raw.size() + it.entry->raw_key.size() : it.section->raw.size();
  }
  std::exception_ptr second;
  std::thread other([&] {
    try {
      run(split, items.size(), std::ptrdiff_t{16} << 20);
    } catch (...) {
      second = std::current_exception();
    }
  });
  try {
    run(0, split, std::ptrdiff_t{16} << 20);
  } catch (...) {
    other.join();
    throw;
  }
  other.join();
  if (second) std::rethrow_exception(second);
}

std::string_view JsonDoc::keep(std::string s) {
  m_arena->push_back(std::move(s));
  return m_arena->back();
}

std::string JsonDoc::key_token(std::string_view key) const {
  std::string out;
  dump_string(out, key, m_dialect);
  return out;
}

Section& JsonDoc::add_section(std::string name, bool outlined) {
  Section s;
  s.raw_key = keep(key_token(name));
  s.name = std::move(name);
  s.outlined = outlined;
  s.dirty = true;
  s.gaps = default_gaps(1);
  m_sections.push_back(std::move(s));
  m_structure_changed = true;
  return m_sections.back();
}

void JsonDoc::put(Section& s, std::string_view key, const Json& value) {
  WriteStyle st{m_dialect, m_indent, 2};
  put_raw(s, key, dump(value, st));
}

namespace {
// Entry-key equality for the linear scans of put and erase: 100k ids of one
// length differ mostly in their first byte, which is compared before memcmp.
struct KeyIs {
  std::string_view key;
  bool operator()(const Entry& e) const {
    return e.key.size() == key.size() && (key.empty() || e.key[0] == key[0]) && e.key == key;
  }
};
}  // namespace

void JsonDoc::put_raw(Section& s, std::string_view key, std::string raw_value) {
  s.dirty = true;
  std::string_view raw = keep(std::move(raw_value));
  auto it = std::find_if(s.entries.begin(), s.entries.end(), KeyIs{key});
  if (it != s.entries.end()) {  // re-put keeps the position, as a Python dict does
    // No entry moves and no key changes: the index and the count stay valid
    // (a put of k existing keys does not rebuild the index k times).
    it->raw = raw;
    return;
  }
  s.touched();
  Entry e;
  e.key = keep(std::string(key));
  e.raw_key = keep(key_token(key));
  e.raw = raw;
  s.entries.push_back(std::move(e));
}

bool JsonDoc::erase(Section& s, std::string_view key) {
  auto it = std::find_if(s.entries.begin(), s.entries.end(), KeyIs{key});
  if (it == s.entries.end()) return false;
  s.entries.erase(it);
  s.dirty = true;
  s.touched();
  return true;
}

std::size_t JsonDoc::erase_all(Section& s, std::string_view key) {
  auto first = std::find_if(s.entries.begin(), s.entries.end(), KeyIs{key});
  if (first == s.entries.end()) return 0;
  auto end = std::remove_if(first, s.entries.end(), KeyIs{key});  // one pass, one move of the tail
  const auto n = static_cast<std::size_t>(s.entries.end() - end);
  s.entries.erase(end, s.entries.end());
  s.dirty = true;
  s.touched();
  return n;
}

// Produces the document as pieces: `put(bytes, original)`, where original
// pieces are views of the file that was read. Between members that were
// neighbours in the original, the original bytes between them are emitted, so
// a writer can copy whole runs of untouched entries in one go.
void JsonDoc::write_pieces(const std::function<void(std::string_view, bool)>& put) const {
  std::string_view file = bytes();
  auto in_file = [&](std::string_view v) {
    return !file.empty() && v.data() >= file.data() && v.data() + v.size() <= file.data() + file.size();
  };
  auto piece = [&](std::string_view v) { put(v, in_file(v)); };
  // The gap between two pieces: the original bytes when they are contiguous there.
  auto gap = [&](std::string_view before, std::string_view after, const std::string& text) {
    if (in_file(before) && in_file(after) && before.data() + before.size() + text.size() == after.data())
      put(std::string_view(before.data() + before.size(), text.size()), true);
    else
      put(text, false);
  };
  // One object or array: `key(i)` (empty for array elements) and `value(i)`
  // give member i's pieces; value_writer writes a value that is not one piece.
  auto container = [&](bool array, const Gaps& g, std::size_t n, auto&& key, auto&& value, auto&& value_writer) {
    put(array ? "[" : "{", false);
    if (n == 0) {
      put(g.empty, false);
    } else {
      put(g.open, false);
      std::string_view prev;
      for (std::size_t i = 0; i < n; ++i) {
        std::string_view k = key(i), v = value(i);
        if (i) gap(prev, k.empty() ? v : k, g.item);
        if (!k.empty()) {
          piece(k);
          gap(k, v, g.kv);
        }
        if (v.data() != nullptr) piece(v);
        else value_writer(i);
        prev = v;
      }
      put(g.close, false);
    }
    put(array ? "]" : "}", false);
  };
  piece(m_prefix);
  container(
      false, m_root, m_sections.size(), [&](std::size_t i) { return m_sections[i].raw_key; },
      [&](std::size_t i) { return m_sections[i].dirty ? std::string_view() : m_sections[i].raw; },
      [&](std::size_t i) {
        const Section& s = m_sections[i];
        container(
            s.is_array, s.gaps, s.entries.size(), [&](std::size_t k) { return s.entries[k].raw_key; },
            [&](std::size_t k) { return s.entries[k].raw; }, [](std::size_t) {});
      });
  piece(m_suffix);
}

std::string JsonDoc::serialize() const {
  if (!changed()) return std::string(bytes());
  std::string result;
  write_pieces([&](std::string_view piece, bool) { result += piece; });
  return result;
}

std::uint64_t JsonDoc::serialized_size() const {
  if (!changed()) return bytes().size();
  std::uint64_t n = 0;
  write_pieces([&](std::string_view piece, bool) { n += piece.size(); });
  return n;
}

void JsonDoc::write_to(FileSink& sink) const {
  if (!changed() && m_buffer) {
    sink.copy(*m_buffer, bytes());
    return;
  }
  write_pieces([&](std::string_view piece, bool original) {
    if (original && m_buffer) sink.copy(*m_buffer, piece);
    else sink.write(piece);
  });
}

}  // namespace lstore
