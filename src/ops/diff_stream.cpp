// lstore diff on two stores read for their summary (Backend::load_streamed),
// in memory bounded by a few words per entry instead of two whole models
// (issue #20). Each large file is streamed once more and every entry of its
// collections left as a 64-bit hash of its decoded key, a 64-bit hash and
// the length of its value's bytes, and where it is in the file. Matched
// against the other store's file of the same part, these say which keys may
// differ: on one side only, or stored differently. Only their entries are
// read again, into a small document in which every collection holds just
// them (and every other member of the file whole); diff_stores then compares
// those documents exactly as it compares the whole files, so it prints the
// same lines: equal bytes are equal there too, and entries it never sees
// are ones it would have skipped for their equal bytes.
//
// Why keys across collections: a part looks an id up in a sibling
// collection (a changed hash names the node when the node is in B; a
// vector's entries are compared unless its vector was added or removed), so
// a key kept in one collection of a file is kept in all of them.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/outline.hpp"
#include "diff_internal.hpp"
#include "lstore/diff.hpp"
#include "lstore/error.hpp"

namespace lstore {
namespace {

using namespace diffing;

// Whatever stops the narrowing: the caller diffs the stores read whole.
struct CannotNarrow {};

std::uint64_t key_hash(std::string_view key) { return std::hash<std::string_view>{}(key); }
std::uint64_t value_hash(std::string_view raw) { return std::hash<std::string_view>{}(raw); }

// One entry of a collection: 32 bytes whatever its size.
struct Mark {
  std::uint64_t key = 0;     // hash of the decoded key
  std::uint64_t value = 0;   // hash of the value's bytes
  std::uint64_t offset = 0;  // file offset of the key token (of the value in an array)
  std::uint32_t length = 0;  // bytes from there to the value's end
  std::uint32_t value_length = 0;
};

// A root member of a streamed file.
struct Member {
  std::string name, raw_key;
  bool container = false, is_array = false;
  std::string scalar;  // the whole value of a member that is no container
  Span span;           // a container's bytes in the file
  std::vector<Mark> marks;  // an object's entries, sorted by key (narrowed() puts them back in file order)
};

// The marks of one document (a file streamed, or a model's document).
struct DocMarks {
  const JsonDoc* doc = nullptr;
  const Buffer* source = nullptr;  // streamed: the file read again
  std::vector<Member> members;     // streamed: the root's members in order
  std::vector<Member> held;        // a model's document: its object collections (marks without offsets)
  // Per object collection: its name and entries, sorted by key (in members or held).
  std::vector<std::pair<std::string, const std::vector<Mark>*>> collections;
};

class MarkingVisitor : public OutlineVisitor {
 public:
  explicit MarkingVisitor(std::vector<Member>& out) : m_out(out) {}
  void section(std::string_view name, std::string_view raw_key, bool container, bool is_array,
               std::string_view raw) override {
    Member m;
    m.name = std::string(name);
    m.raw_key = std::string(raw_key);
    m.container = container;
    m.is_array = is_array;
    if (!container) m.scalar = std::string(raw);
    for (const Member& seen : m_out)
      if (seen.name == m.name) throw CannotNarrow{};  // a root key twice: which one counts is the model's business
    m_out.push_back(std::move(m));
  }
  void entry(const StreamEntry& e) override {
    Member& m = m_out.back();
    if (m.is_array) return;  // arrays are kept whole
    std::size_t end = e.offset + e.raw.size();
    if (end - e.key_offset > UINT32_MAX) throw CannotNarrow{};
    m.marks.push_back({key_hash(e.key), value_hash(e.raw), e.key_offset, static_cast<std::uint32_t>(end - e.key_offset),
                       static_cast<std::uint32_t>(e.raw.size())});
  }
  void section_end(const Span& value) override { m_out.back().span = value; }

 private:
  std::vector<Member>& m_out;
};

// Sorted by key; a key twice (a duplicate, or two keys of one hash) is left
// to the model, which keeps duplicates as json.load does.
void sort_by_key(std::vector<Mark>& marks) {
  std::sort(marks.begin(), marks.end(), [](const Mark& x, const Mark& y) { return x.key < y.key; });
  for (std::size_t i = 1; i < marks.size(); ++i)
    if (marks[i].key == marks[i - 1].key) throw CannotNarrow{};
}

const Buffer* streamed_source(const Store& s, const JsonDoc& d) {
  if (!s.streamed || !s.streamed->files.count(d.name())) return nullptr;
  auto it = s.streamed->sources.find(d.name());
  if (it == s.streamed->sources.end() || !it->second || it->second->fd() < 0) throw CannotNarrow{};
  return it->second.get();
}

DocMarks mark(const Store& s, const JsonDoc* d) {
  DocMarks out;
  out.doc = d;
  if (!d) return out;
  out.source = streamed_source(s, *d);
  if (out.source) {
    MarkingVisitor v(out.members);
    stream_file(out.source->fd(), out.source->view().size(), v);
    for (Member& m : out.members)
      if (m.container && !m.is_array) {
        sort_by_key(m.marks);
        out.collections.emplace_back(m.name, &m.marks);
      }
    return out;
  }
  for (const Section& sec : d->sections()) {
    if (!sec.outlined || sec.is_array) continue;
    for (const Member& seen : out.held)
      if (seen.name == sec.name) throw CannotNarrow{};
    Member& m = out.held.emplace_back();
    m.name = sec.name;
    m.marks.reserve(sec.entries.size());
    for (const Entry& e : sec.entries)
      m.marks.push_back({key_hash(e.key), value_hash(e.raw), 0, 0, static_cast<std::uint32_t>(e.raw.size())});
    sort_by_key(m.marks);
  }
  for (const Member& m : out.held) out.collections.emplace_back(m.name, &m.marks);
  return out;
}

// The keys that may differ between the two: on one side only, or stored
// differently, in any collection of either (sorted).
std::vector<std::uint64_t> keys_that_may_differ(const DocMarks& a, const DocMarks& b) {
  std::vector<std::uint64_t> out;
  auto all = [&](const std::vector<Mark>& marks) {
    for (const Mark& m : marks) out.push_back(m.key);
  };
  auto find = [](const DocMarks& d, const std::string& name) -> const std::vector<Mark>* {
    for (const auto& [n, marks] : d.collections)
      if (n == name) return marks;
    return nullptr;
  };
  for (const auto& [name, xp] : a.collections) {
    const std::vector<Mark>& x = *xp;
    const std::vector<Mark>* y = find(b, name);
    if (!y) {
      all(x);
      continue;
    }
    auto i = x.begin(), j = y->begin();
    while (i != x.end() || j != y->end()) {
      if (j == y->end() || (i != x.end() && i->key < j->key)) out.push_back((i++)->key);
      else if (i == x.end() || j->key < i->key) out.push_back((j++)->key);
      else {
        if (i->value != j->value || i->value_length != j->value_length) out.push_back(i->key);
        ++i, ++j;
      }
    }
  }
  for (const auto& [name, y] : b.collections)
    if (!find(a, name)) all(*y);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string read_at(const Buffer& source, std::uint64_t begin, std::size_t size) {
  std::string out(size, '\0');
  std::size_t got = 0;
  while (got < size) {
    ssize_t n = ::pread(source.fd(), out.data() + got, size - got, static_cast<off_t>(begin + got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) throw CannotNarrow{};
    got += static_cast<std::size_t>(n);
  }
  return out;
}

// The streamed file as a small document: its root's members as they are,
// but each object collection holding only the entries of `keep`.
JsonDoc narrowed(DocMarks& d, const std::vector<std::uint64_t>& keep) {
  std::string text = "{";
  for (std::size_t i = 0; i < d.members.size(); ++i) {
    Member& m = d.members[i];
    text.append(i ? ", " : "").append(m.raw_key).append(": ");
    if (!m.container) {
      text += m.scalar;
    } else if (m.is_array) {
      text += read_at(*d.source, m.span.begin, m.span.size());
    } else {
      // The entries kept, in file order.
      std::erase_if(m.marks, [&](const Mark& e) { return !std::binary_search(keep.begin(), keep.end(), e.key); });
      std::sort(m.marks.begin(), m.marks.end(), [](const Mark& x, const Mark& y) { return x.offset < y.offset; });
      text += '{';
      for (std::size_t j = 0; j < m.marks.size(); ++j)
        text.append(j ? ", " : "").append(read_at(*d.source, m.marks[j].offset, m.marks[j].length));
      text += '}';
    }
  }
  text += '}';
  JsonDoc doc = JsonDoc::read(d.doc->name(), Buffer::own(std::move(text)), JsonDialect::Python);
  doc.set_dialect(d.doc->dialect());
  return doc;
}

// A model's document with each object collection cut down to `keep`.
void narrow_in_place(JsonDoc& doc, const std::vector<std::uint64_t>& keep) {
  for (Section& s : doc.sections()) {
    if (!s.outlined || s.is_array) continue;
    std::erase_if(s.entries, [&](const Entry& e) { return !std::binary_search(keep.begin(), keep.end(), key_hash(e.key)); });
    s.touched();
  }
}

// One part's two documents, narrowed alike (either may be absent). Nothing
// to do when neither was streamed: both are whole already.
void narrow_pair(Store& a, JsonDoc* da, Store& b, JsonDoc* db, std::set<const JsonDoc*>& done) {
  done.insert(da);
  done.insert(db);
  bool streamed = (da && streamed_source(a, *da)) || (db && streamed_source(b, *db));
  if (!streamed) return;
  DocMarks ma = mark(a, da);
  DocMarks mb = mark(b, db);
  std::vector<std::uint64_t> keep = keys_that_may_differ(ma, mb);
  for (auto [doc, marks] : {std::pair{da, &ma}, std::pair{db, &mb}}) {
    if (!doc) continue;
    if (marks->source) *doc = narrowed(*marks, keep);
    else narrow_in_place(*doc, keep);
  }
}

// A streamed file that a part reads whole (the graph's triplets are sets):
// read whole, as the loaded store holds it.
void read_whole(const Store& s, std::optional<JsonDoc>& d, std::set<const JsonDoc*>& done) {
  if (!d) return;
  done.insert(&*d);
  const Buffer* source = streamed_source(s, *d);
  if (!source) return;
  auto it = s.streamed->sources.find(d->name());
  JsonDoc whole = JsonDoc::read(d->name(), it->second, JsonDialect::Python);
  whole.set_dialect(d->dialect());
  *d = std::move(whole);
}

}  // namespace

bool narrow_for_diff(Store& a, Store& b) {
  if (!a.streamed && !b.streamed) return true;
  std::set<const JsonDoc*> narrowed_docs;
  try {
    auto opt = [](std::optional<JsonDoc>& d) { return d ? &*d : nullptr; };
    narrow_pair(a, opt(a.docstore), b, opt(b.docstore), narrowed_docs);
    narrow_pair(a, opt(a.index_store), b, opt(b.index_store), narrowed_docs);
    Vocabulary v = vocabulary_of(a, b);
    std::set<std::string> names;
    for (const auto& d : a.vector_stores) names.insert(namespace_key(a, d.ns, v));
    for (const auto& d : b.vector_stores) names.insert(namespace_key(b, d.ns, v));
    for (const std::string& ns : names) {
      // (find_namespace's choice: the one diff_vectors compares)
      auto doc = [&](Store& s) -> JsonDoc* {
        for (VectorStoreDoc& d : s.vector_stores)
          if (&d == find_namespace(s, ns, v)) return &d.doc;
        return nullptr;
      };
      narrow_pair(a, doc(a), b, doc(b), narrowed_docs);
    }
    for (Store* s : {&a, &b}) {
      read_whole(*s, s->graph_store, narrowed_docs);
      read_whole(*s, s->property_graph, narrowed_docs);
    }
    // A streamed file still held as its summary's sample (a second vector
    // store under one namespace) would be compared as that sample.
    for (Store* s : {&a, &b})
      for (const JsonDoc* d : s->documents())
        if (streamed_source(*s, *d) && !narrowed_docs.count(d)) return false;
  } catch (const CannotNarrow&) {
    return false;
  } catch (const ParseError&) {
    return false;  // the file changed under the second read? The whole read says.
  }
  // What was counted no longer describes the documents.
  a.streamed.reset();
  b.streamed.reset();
  return true;
}

}  // namespace lstore
