// A streamed store written as records; see records_stream.hpp.
//
// Two passes over each large file, both through outline.hpp's stream_file
// (pread through a window, nothing kept per entry): the first checks every
// entry and makes the layout (records.cpp's make_layout, from the bytes
// between the entries instead of a held outline), the second hands the
// entries to the sink. The layout must come before the entries (a JSONL
// stream is read in one pass), and no byte may be written before every entry
// is known to be JSON, so the check cannot wait for the second pass.
#include "records_stream.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <future>
#include <span>

#include "core/json_check_stream.hpp"
#include "core/outline.hpp"
#include "core/utf8.hpp"
#include "lstore/error.hpp"
#include "lstore/json.hpp"
#include "records.hpp"
#include "records_detail.hpp"

namespace lstore {
namespace {

using namespace records_detail;

[[noreturn]] void refuse(const std::string& file, const std::string& why) {
  throw StreamedWriteRefused(file + ": " + why);
}

// Bytes [begin, end) of the file: the few gaps around the root's members.
std::string read_at(const Buffer& source, std::size_t begin, std::size_t end, const std::string& name) {
  std::string out(end > begin ? end - begin : 0, '\0');
  std::size_t got = 0;
  while (got < out.size()) {
    ssize_t n = ::pread(source.fd(), out.data() + got, out.size() - got, static_cast<off_t>(begin + got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) refuse(name, n < 0 ? std::strerror(errno) : "file shrank");
    got += static_cast<std::size_t>(n);
  }
  return out;
}

std::string_view between(const char* a, const char* b) { return {a, static_cast<std::size_t>(b - a)}; }

// A section whose embeddings a packing sink stores as float64s.
bool packs(FileKind kind, const std::string& name, JsonDialect d) {
  return is_embedding_section(kind, name) && (d == JsonDialect::Python || d == JsonDialect::JavaScript);
}

// The first pass over one file: every entry checked, the layout's pieces kept.
class PlanVisitor : public OutlineVisitor {
 public:
  // `packed`: the sink packs embeddings, and the second pass checks those
  // that do not pack (a packed one is JSON): one parse of each, not two.
  PlanVisitor(const std::string& name, FileKind kind, JsonDialect d, bool packed)
      : m_name(name), m_kind(kind), m_d(d), m_packed(packed) {}

  struct Planned {
    std::string name;
    std::string raw_key;
    bool container = false;
    bool is_array = false;
    std::string raw;  // a scalar member's value
    std::size_t count = 0;
    std::string open, item, ekv;
    std::size_t last_end = 0;  // file offset after the last entry
    Span span;                 // the container, brackets included
    JsonArray except;
  };
  std::vector<Planned> sections;

  void section(std::string_view name, std::string_view raw_key, bool container, bool is_array,
               std::string_view raw) override {
    for (const Planned& p : sections)
      if (p.name == name) refuse(m_name, "a root key twice");  // which one the model keeps is its business
    Planned p;
    p.name = std::string(name);
    m_unchecked = container && m_packed && packs(m_kind, p.name, m_d);
    p.raw_key = checked(raw_key);
    p.container = container;
    p.is_array = is_array;
    if (!container) {
      if (!accepts_json(raw)) refuse(m_name, "a member that is not JSON");
      p.raw = checked(raw);
    }
    sections.push_back(std::move(p));
  }

  void entry(const StreamEntry& e) override {
    // What Store::verify checks before any write.
    if (!m_unchecked && !accepts_json(e.raw)) refuse(m_name, "an entry that is not JSON");
    note(e);
    sections.back().last_end = e.offset + e.raw.size();
  }

  // An entry larger than the window: checked as it goes by, in no memory.
  bool takes_pieces() const override { return true; }
  void entry_begin(const StreamEntry& e) override {
    note(e);
    m_checker = JsonPieceChecker();
    m_pieced_at = e.offset;
    m_newline = false;
  }
  void entry_piece(std::string_view bytes) override {
    if (!m_unchecked) m_checker.feed(bytes);
    m_newline = m_newline || bytes.find('\n') != std::string_view::npos || bytes.find('\r') != std::string_view::npos;
  }
  void entry_end(std::size_t size) override {
    // Refused: not JSON, or JSON the piecewise check does not vouch for
    // (NaN...); the store read whole decides, as it always has.
    if (!m_unchecked && !m_checker.finish()) refuse(m_name, "an entry that is not strict JSON");
    pieced[m_pieced_at] = PiecedEntry{size, m_newline};
    sections.back().last_end = m_pieced_at + size;
  }

  std::map<std::size_t, PiecedEntry> pieced;

 private:
  // The layout's part of an entry: its key and the bytes around it.
  void note(const StreamEntry& e) {
    Planned& s = sections.back();
    if (!e.raw_key.empty() && !accepts_json(e.raw_key)) refuse(m_name, "an entry that is not JSON");
    std::string_view kv = s.is_array ? std::string_view() : between(e.raw_key.data() + e.raw_key.size(), e.raw.data());
    const std::size_t i = e.index;
    if (i == 0) {
      s.open = checked(e.lead);
      if (!s.is_array) s.ekv = checked(kv);
    } else if (i == 1) {
      s.item = checked(e.lead);
    }
    bool odd_lead = i > 0 && e.lead != s.item;
    bool odd_key = !s.is_array && !key_as_printed(e.raw_key, e.key, m_d);
    bool odd_kv = !s.is_array && kv != s.ekv;
    if (odd_lead || odd_key || odd_kv) {
      JsonObject x{{"seq", static_cast<std::int64_t>(i)}};
      if (odd_lead) x.emplace_back("lead", checked(e.lead));
      if (odd_key) x.emplace_back("key", checked(e.raw_key));
      if (odd_kv) x.emplace_back("kv", checked(kv));
      s.except.emplace_back(std::move(x));
    }
    s.count = i + 1;
  }

 public:
  void section_end(const Span& value) override { sections.back().span = value; }

 private:
  // As make_layout's: text it cannot keep (not UTF-8) is the loaded path's.
  std::string checked(std::string_view s) const {
    if (!utf8::valid(s)) refuse(m_name, "bytes that are not UTF-8 around the entries");
    return std::string(s);
  }

  const std::string& m_name;
  FileKind m_kind;
  JsonDialect m_d;
  bool m_packed;
  bool m_unchecked = false;  // this section's values are checked by the second pass
  JsonPieceChecker m_checker;  // the entry being handed over in pieces
  std::size_t m_pieced_at = 0;
  bool m_newline = false;
};

StreamedFilePlan plan_file(const std::string& name, const JsonDoc& doc, FileKind kind,
                           const std::shared_ptr<Buffer>& source, bool packed) {
  const JsonDialect d = doc.dialect();
  PlanVisitor v(name, kind, d, packed);
  Outline root;
  try {
    root = stream_file(source->fd(), source->view().size(), v, {}, stream_window());
  } catch (const ParseError&) {
    refuse(name, "does not parse");
  }
  auto gap = [&](std::size_t a, std::size_t b) {
    std::string s = read_at(*source, a, b, name);
    if (!utf8::valid(s)) refuse(name, "bytes that are not UTF-8 around the entries");
    return s;
  };
  const std::size_t size = source->view().size();
  const Span& r = root.root.span;
  const auto& members = root.root.members;
  if (members.size() != v.sections.size()) refuse(name, "an outline that does not match its stream");
  // pretty-printed: the indent is the spaces after the newline that opens the root.
  int indent = -1;
  if (!members.empty()) {
    std::string open = read_at(*source, r.begin + 1, members[0].key.begin, name);
    if (auto nl = open.rfind('\n'); nl != std::string::npos) indent = static_cast<int>(open.size() - nl - 1);
  }
  JsonObject layout{{"dialect", dialect_name(d)},
                    {"indent", static_cast<std::int64_t>(indent)},
                    {"prefix", gap(0, r.begin)},
                    {"suffix", gap(r.end, size)}};
  StreamedFilePlan plan;
  plan.kind = kind;
  plan.dialect = d;
  plan.packed = packed;
  plan.source = source;
  plan.pieced = std::move(v.pieced);
  std::size_t prev = r.begin + 1;
  JsonArray sections;
  for (std::size_t k = 0; k < members.size(); ++k) {
    const Member& m = members[k];
    PlanVisitor::Planned& s = v.sections[k];
    JsonObject o{{"lead", gap(prev, m.key.begin)}, {"key", s.raw_key}, {"kv", gap(m.key.end, m.value.begin)}};
    prev = m.value.end;
    if (!s.container) {
      o.emplace_back("raw", std::move(s.raw));
      sections.emplace_back(std::move(o));
      continue;
    }
    plan.collections.push_back(s.name);
    o.emplace_back("collection", s.name);
    o.emplace_back("array", s.is_array);
    if (s.count == 0) {
      o.emplace_back("empty", gap(s.span.begin + 1, s.span.end - 1));
      sections.emplace_back(std::move(o));
      continue;
    }
    std::string item = s.count > 1 ? s.item : (d == JsonDialect::Python ? ", " : ",");
    o.emplace_back("open", s.open);
    o.emplace_back("item", item);
    if (!s.is_array) o.emplace_back("ekv", s.ekv);
    o.emplace_back("close", gap(s.last_end, s.span.end - 1));
    if (packs(kind, s.name, d))
      o.emplace_back("vectors", d == JsonDialect::Python ? ", " : ",");
    if (!s.except.empty()) o.emplace_back("except", std::move(s.except));
    sections.emplace_back(std::move(o));
  }
  layout.emplace_back(members.empty() ? "empty" : "close", gap(prev, r.end - 1));
  layout.emplace_back("sections", std::move(sections));
  WriteStyle style{JsonDialect::Compact};
  plan.layout = dump(Json(std::move(layout)), style);
  return plan;
}

// Embeddings of one section, copied out of the read window, and packed on
// another core while the sink stores the chunk before (parsing and printing
// the floats is the bulk of the work; records.cpp packs the same way).
struct VectorChunk {
  struct Item {
    std::size_t key_at = 0, key_size = 0, raw_at = 0, raw_size = 0, raw_key_size = 0;
    std::uint64_t seq = 0;
    std::size_t packed_at = 0, packed_size = 0;
    bool packed = false;
  };
  std::string text;  // keys and values back to back
  std::vector<Item> items;
  std::vector<double> values;

  void clear() {
    text.clear();
    items.clear();
    values.clear();
  }
  void pack(JsonDialect d, std::string_view sep) {
    std::vector<double> one;
    for (Item& it : items) {
      if (!try_pack(std::string_view(text).substr(it.raw_at, it.raw_size), d, sep, one)) continue;
      it.packed = true;
      it.packed_at = values.size();
      it.packed_size = one.size();
      values.insert(values.end(), one.begin(), one.end());
    }
  }
};

// The second pass: the entries to the sink, embeddings packed where exact.
class EmitVisitor : public OutlineVisitor {
 public:
  EmitVisitor(const FileRecord& rec, const StreamedFilePlan& plan, RecordSink& sink, ProgressTicker& progress)
      : m_rec(rec), m_plan(plan), m_sink(sink), m_progress(progress) {}
  ~EmitVisitor() override {
    if (m_pending.valid()) m_pending.wait();
  }

  void section(std::string_view name, std::string_view, bool container, bool is_array, std::string_view) override {
    if (!container) return;
    m_name = std::string(name);
    m_is_array = is_array;
    const JsonDialect d = m_plan.dialect;
    m_vectors = m_sink.wants_packed() && packs(m_plan.kind, m_name, d);
    if (m_vectors != (m_plan.packed && packs(m_plan.kind, m_name, d))) throw std::logic_error("planned for another sink");
    m_sep = d == JsonDialect::Python ? ", " : ",";
    m_sink.collection(m_rec, m_name);
  }

  void entry(const StreamEntry& e) override {
    if (m_vectors) {
      VectorChunk& c = m_chunks[m_filling];
      VectorChunk::Item it;
      it.key_at = c.text.size();
      it.key_size = e.key.size();
      c.text.append(e.key);
      it.raw_at = c.text.size();
      it.raw_size = e.raw.size();
      c.text.append(e.raw);
      it.raw_key_size = e.raw_key.size();
      it.seq = e.index;
      c.items.push_back(it);
      if (c.items.size() >= kChunk) start_packing();
      return;
    }
    EntryRecord r;
    r.key = e.key;
    r.has_key = !m_is_array;
    r.seq = e.index;
    r.json = e.raw;
    m_sink.entry(r);
    m_progress.add(e.raw.size() + e.raw_key.size() + 2);
  }

  // An entry larger than the window (an index struct): on to the sink in
  // pieces. Embeddings are packed whole (none is that large).
  bool takes_pieces() const override { return !m_vectors; }
  void entry_begin(const StreamEntry& e) override {
    auto it = m_plan.pieced.find(e.offset);
    if (it == m_plan.pieced.end()) throw Error(ErrorKind::Data, m_rec.name, "changed while being written");
    EntryRecord r;
    r.key = e.key;
    r.has_key = !m_is_array;
    r.seq = e.index;
    m_sink.entry_begin(r, it->second.size, it->second.newline);
    m_piece_left = it->second.size;
    m_progress.add(e.raw_key.size() + 2);
  }
  void entry_piece(std::string_view bytes) override {
    if (bytes.size() > m_piece_left) throw Error(ErrorKind::Data, m_rec.name, "changed while being written");
    m_piece_left -= bytes.size();
    m_sink.entry_piece(bytes);
    m_progress.add(bytes.size());
  }
  void entry_end(std::size_t) override {
    if (m_piece_left != 0) throw Error(ErrorKind::Data, m_rec.name, "changed while being written");
    m_sink.entry_end();
  }

  void section_end(const Span&) override {
    if (!m_vectors) return;
    finish_packed();
    VectorChunk& c = m_chunks[m_filling];
    c.pack(m_plan.dialect, m_sep);
    emit(c);
  }

 private:
  static constexpr std::size_t kChunk = 512;

  // The chunk being filled goes to the other core; the one packed before is stored.
  void start_packing() {
    finish_packed();
    VectorChunk* c = &m_chunks[m_filling];
    m_pending = std::async(std::launch::async, [c, d = m_plan.dialect, sep = m_sep] { c->pack(d, sep); });
    m_filling = 1 - m_filling;
  }
  void finish_packed() {
    if (!m_pending.valid()) return;
    m_pending.get();
    emit(m_chunks[1 - m_filling]);
  }
  void emit(VectorChunk& c) {
    for (const VectorChunk::Item& it : c.items) {
      EntryRecord r;
      r.key = std::string_view(c.text).substr(it.key_at, it.key_size);
      r.has_key = !m_is_array;
      r.seq = it.seq;
      if (it.packed) {
        r.vector = std::span<const double>(c.values.data() + it.packed_at, it.packed_size);
      } else {
        r.json = std::string_view(c.text).substr(it.raw_at, it.raw_size);
        // Not checked by the first pass: the write is abandoned (the target
        // is only replaced at the end) and the store read whole reports it.
        if (!accepts_json(r.json)) refuse(m_rec.name, "an entry that is not JSON");
      }
      m_sink.entry(r);
      m_progress.add(it.raw_size + it.raw_key_size + 2);
    }
    c.clear();
  }

  const FileRecord& m_rec;
  const StreamedFilePlan& m_plan;
  RecordSink& m_sink;
  ProgressTicker& m_progress;
  std::string m_name;
  bool m_is_array = false;
  bool m_vectors = false;
  std::string_view m_sep;
  VectorChunk m_chunks[2];
  int m_filling = 0;
  std::size_t m_piece_left = 0;  // bytes of the pieced entry still to come
  std::future<void> m_pending;
};

// The streamed files that the model holds (a sample stands in for each).
template <typename Fn>
void for_each_streamed(const Store& store, Fn&& fn) {
  if (!store.streamed) return;
  for (const FileInfo& f : store.files) {
    const JsonDoc* doc = store.document(f.name);
    auto src = store.streamed->sources.find(f.name);
    if (!doc || src == store.streamed->sources.end() || !store.streamed->files.count(f.name)) continue;
    if (!src->second || src->second->fd() < 0) throw std::logic_error("a streamed file without its source");
    fn(f, *doc, src->second);
  }
}

// Only checks (a writer that copies the files as they are).
class VerifyVisitor : public OutlineVisitor {
 public:
  explicit VerifyVisitor(const std::string& name) : m_name(name) {}
  void section(std::string_view, std::string_view, bool container, bool, std::string_view raw) override {
    if (!container && !accepts_json(raw)) refuse(m_name, "a member that is not JSON");
  }
  void entry(const StreamEntry& e) override {
    if ((!e.raw_key.empty() && !accepts_json(e.raw_key)) || !accepts_json(e.raw)) refuse(m_name, "an entry that is not JSON");
  }
  bool takes_pieces() const override { return true; }
  void entry_begin(const StreamEntry& e) override {
    if (!e.raw_key.empty() && !accepts_json(e.raw_key)) refuse(m_name, "an entry that is not JSON");
    m_checker = JsonPieceChecker();
  }
  void entry_piece(std::string_view bytes) override { m_checker.feed(bytes); }
  void entry_end(std::size_t) override {
    if (!m_checker.finish()) refuse(m_name, "an entry that is not strict JSON");
  }

 private:
  const std::string& m_name;
  JsonPieceChecker m_checker;
};

}  // namespace

std::map<std::string, StreamedFilePlan, std::less<>> plan_streamed_files(const Store& store, bool packed) {
  std::map<std::string, StreamedFilePlan, std::less<>> plans;
  for_each_streamed(store, [&](const FileInfo& f, const JsonDoc& doc, const std::shared_ptr<Buffer>& source) {
    plans[f.name] = plan_file(f.name, doc, kind_in_model(store, &doc), source, packed);
  });
  return plans;
}

void emit_streamed_file(const std::string& name, const StreamedFilePlan& plan, RecordSink& sink,
                        ProgressTicker& progress) {
  FileRecord rec;
  rec.name = name;
  rec.kind = plan.kind;
  rec.layout = plan.layout;
  rec.collections = plan.collections;
  sink.file(rec);
  EmitVisitor v(rec, plan, sink, progress);
  try {
    stream_file(plan.source->fd(), plan.source->view().size(), v, {}, stream_window());
  } catch (const ParseError& e) {
    // Read whole a moment ago: the file changed under the write.
    throw Error(ErrorKind::Data, name, std::string("changed while being written: ") + e.what());
  }
}

void verify_streamed_files(const Store& store) {
  for_each_streamed(store, [&](const FileInfo& f, const JsonDoc&, const std::shared_ptr<Buffer>& source) {
    VerifyVisitor v(f.name);
    try {
      stream_file(source->fd(), source->view().size(), v, {}, stream_window());
    } catch (const ParseError&) {
      refuse(f.name, "does not parse");
    }
  });
}

}  // namespace lstore
