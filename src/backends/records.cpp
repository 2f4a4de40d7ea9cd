// The store as records, and back (see records.hpp).
//
// A layout is a JSON object:
//   {"dialect": "python", "indent": -1, "prefix": "", "suffix": "\n",
//    "close": "", "empty": "",            root: before '}' / inside an empty '{}'
//    "sections": [
//      {"lead": "", "key": "\"docstore/data\"", "kv": ": ",   before, the key token, after it
//       "collection": "docstore/data", "array": false,        an outlined section...
//       "open": "", "item": ", ", "ekv": ": ", "close": "", "empty": "",
//       "vectors": ", ",                                       entries may be packed embeddings
//       "except": [{"seq": 7, "lead": ",\n ", "key": "\"a\\/b\"", "kv": ":"},
//                  {"seq": 9, "key": "\"x\"", "value": "1"}]}, an entry LlamaIndex never sees
//      {"lead": ", ", "key": "\"v\"", "kv": ": ", "raw": "3"}   ...or one kept whole
//    ]}
// "item" and "ekv" are the usual bytes between entries and between a key and
// its value; "except" lists the entries whose bytes differ from the usual,
// and entries shadowed by a later duplicate key (only the last one is a
// record, as only the last one is what LlamaIndex loads).
#include "records.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <future>
#include <map>

#include "lstore/error.hpp"
#include "core/fileio.hpp"
#include "core/numbers.hpp"
#include "lstore/json.hpp"
#include "lstore/progress.hpp"
#include "lstore/side_files.hpp"
#include "core/sniff.hpp"
#include "core/utf8.hpp"
#include "records_detail.hpp"
#include "records_stream.hpp"
#include "records_restream.hpp"
#include "store_builder.hpp"

namespace lstore {
// Shared with records_stream.cpp (declared in records_detail.hpp).
namespace records_detail {

const char* dialect_name(JsonDialect d) {
  switch (d) {
    case JsonDialect::Python: return "python";
    case JsonDialect::Pydantic: return "pydantic";
    case JsonDialect::PydanticPyFloat: return "pydantic-pyfloat";
    case JsonDialect::JavaScript: return "javascript";
    case JsonDialect::Compact: return "compact";
  }
  return "python";
}

JsonDialect dialect_from_name(std::string_view s) {
  if (s == "pydantic") return JsonDialect::Pydantic;
  if (s == "pydantic-pyfloat") return JsonDialect::PydanticPyFloat;
  if (s == "javascript") return JsonDialect::JavaScript;
  if (s == "compact") return JsonDialect::Compact;
  return JsonDialect::Python;
}

std::string token(std::string_view key, JsonDialect d) {
  std::string out;
  dump_string(out, key, d);
  return out;
}


// The number form packed vectors are printed in: Python's repr for every
// dialect but JavaScript. Databases written before keep their bytes only if
// this never changes (a pydantic file's vector that matches repr is packed).
JsonDialect packed_form(JsonDialect d) { return d == JsonDialect::JavaScript ? JsonDialect::JavaScript : JsonDialect::Python; }

void append_number(std::string& out, double v, JsonDialect d) {
  char buf[numbers::kMaxFormatted];
  out.append(buf, numbers::format(buf, v, packed_form(d)));
}

// Packs `raw` ("[0.1, 0.2]") when printing the numbers back gives the same
// bytes; a vector that would not (ints, NaN, other spacing) stays text.
bool try_pack(std::string_view raw, JsonDialect d, std::string_view sep, std::vector<double>& out) {
  out.clear();
  if (raw.size() < 3 || raw.front() != '[' || raw.back() != ']') return false;
  const char* p = raw.data() + 1;
  const char* end = raw.data() + raw.size() - 1;
  char printed[numbers::kMaxFormatted];
  for (;;) {
    numbers::Token t;
    const char* next = numbers::scan_number(p, end, t);
    if (!next || !t.finite()) return false;
    std::size_t n = numbers::format(printed, t.value, packed_form(d));
    if (n != t.text.size() || std::memcmp(printed, p, n) != 0) return false;
    out.push_back(t.value);
    p = next;
    if (p == end) return true;
    if (static_cast<std::size_t>(end - p) <= sep.size() || std::memcmp(p, sep.data(), sep.size()) != 0) return false;
    p += sep.size();
  }
}

// Embeddings [first, first + spans.size()) of a section, packed where exact.
struct PackedChunk {
  struct Span {
    std::size_t begin = 0, size = 0;
    bool ok = false;
  };
  std::size_t first = 0;
  std::vector<double> values;
  std::vector<Span> spans;
};

PackedChunk pack_chunk(const Section& s, std::size_t from, std::size_t to, JsonDialect d, std::string_view sep) {
  PackedChunk c;
  c.first = from;
  std::vector<double> one;
  for (std::size_t i = from; i < to; ++i) {
    PackedChunk::Span span;
    if (try_pack(s.entries[i].raw, d, sep, one)) {
      span = {c.values.size(), one.size(), true};
      c.values.insert(c.values.end(), one.begin(), one.end());
    }
    c.spans.push_back(span);
  }
  return c;
}

bool inside(std::string_view outer, std::string_view v) {
  return v.data() >= outer.data() && v.data() + v.size() <= outer.data() + outer.size();
}

std::string_view between(const char* a, const char* b) { return {a, static_cast<std::size_t>(b - a)}; }

// Raised while building a layout for a file whose bytes it cannot hold as
// text (invalid UTF-8 around the entries): the file is carried whole instead.
struct NotRepresentable {};

std::string checked(std::string_view s) {
  if (!utf8::valid(s)) throw NotRepresentable{};
  return std::string(s);
}

// Is `raw_key` exactly what the dialect's writer prints for `key`? Most keys
// are plain ASCII ids, checked without building the token.
bool key_as_printed(std::string_view raw_key, std::string_view key, JsonDialect d) {
  if (raw_key.size() == key.size() + 2 && raw_key.front() == '"' && raw_key.back() == '"' &&
      raw_key.compare(1, key.size(), key) == 0 &&
      std::all_of(key.begin(), key.end(), [](char c) { return c >= 0x20 && c < 0x7f && c != '"' && c != '\\'; }))
    return true;
  return raw_key == token(key, d);
}

bool is_embedding_section(FileKind kind, const std::string& name) {
  return kind == FileKind::VectorStore && (name == "embedding_dict" || name == "embeddingDict");
}

// Layout of a document whose entries are all views of its own bytes.
Json make_layout(const JsonDoc& doc, FileKind kind, std::vector<std::string>& collections) {
  std::string_view b = doc.bytes();
  JsonDialect d = doc.dialect();
  std::size_t open = b.find('{');
  std::size_t close = b.rfind('}');
  if (open == std::string_view::npos || close == std::string_view::npos) throw NotRepresentable{};
  JsonObject root{{"dialect", dialect_name(d)}, {"indent", static_cast<std::int64_t>(doc.indent())},
                  {"prefix", checked(b.substr(0, open))}, {"suffix", checked(b.substr(close + 1))}};
  const char* prev = b.data() + open + 1;
  JsonArray sections;
  const auto& secs = doc.sections();
  for (std::size_t si = 0; si < secs.size(); ++si) {
    const Section& s = secs[si];
    if (!inside(b, s.raw_key) || !inside(b, s.raw)) throw NotRepresentable{};
    JsonObject o{{"lead", checked(between(prev, s.raw_key.data()))},
                 {"key", checked(s.raw_key)},
                 {"kv", checked(between(s.raw_key.data() + s.raw_key.size(), s.raw.data()))}};
    prev = s.raw.data() + s.raw.size();
    bool duplicate = false;
    for (std::size_t later = si + 1; later < secs.size(); ++later) duplicate |= secs[later].name == s.name;
    if (!s.outlined || duplicate) {
      o.emplace_back("raw", checked(s.raw));
      sections.emplace_back(std::move(o));
      continue;
    }
    collections.push_back(s.name);
    o.emplace_back("collection", s.name);
    o.emplace_back("array", s.is_array);
    const char* inner = s.raw.data() + 1;
    const char* inner_end = s.raw.data() + s.raw.size() - 1;
    if (s.entries.empty()) {
      o.emplace_back("empty", checked(between(inner, inner_end)));
      sections.emplace_back(std::move(o));
      continue;
    }
    auto start_of = [&](const Entry& e) { return s.is_array ? e.raw.data() : e.raw_key.data(); };
    auto lead_of = [&](std::size_t i) {
      return between(i == 0 ? inner : s.entries[i - 1].raw.data() + s.entries[i - 1].raw.size(), start_of(s.entries[i]));
    };
    auto kv_of = [&](const Entry& e) { return between(e.raw_key.data() + e.raw_key.size(), e.raw.data()); };
    for (const Entry& e : s.entries)
      if (!inside(b, e.raw) || (!s.is_array && !inside(b, e.raw_key))) throw NotRepresentable{};
    std::string item = s.entries.size() > 1 ? checked(lead_of(1)) : (d == JsonDialect::Python ? ", " : ",");
    std::string ekv = s.is_array ? "" : checked(kv_of(s.entries[0]));
    o.emplace_back("open", checked(lead_of(0)));
    o.emplace_back("item", item);
    if (!s.is_array) o.emplace_back("ekv", ekv);
    o.emplace_back("close", checked(between(s.entries.back().raw.data() + s.entries.back().raw.size(), inner_end)));
    if (is_embedding_section(kind, s.name) && (d == JsonDialect::Python || d == JsonDialect::JavaScript))
      o.emplace_back("vectors", d == JsonDialect::Python ? ", " : ",");
    JsonArray except;
    bool duplicates = !s.is_array && s.size() != s.entries.size();
    for (std::size_t i = 0; i < s.entries.size(); ++i) {
      const Entry& e = s.entries[i];
      if ((i & 4095) == 4095) doc.release_before(e.raw.data());  // keep resident memory low
      std::string_view lead = i > 0 ? lead_of(i) : std::string_view();
      bool shadowed = duplicates && s.find(e.key) != &e;
      bool odd_key = !s.is_array && (shadowed || !key_as_printed(e.raw_key, e.key, d));
      bool odd_kv = !s.is_array && kv_of(e) != ekv;
      if (!(i > 0 && lead != item) && !odd_key && !odd_kv) continue;  // the usual case
      JsonObject x{{"seq", static_cast<std::int64_t>(i)}};
      if (i > 0 && lead != item) x.emplace_back("lead", checked(lead));
      if (!s.is_array) {
        if (odd_key) x.emplace_back("key", checked(e.raw_key));
        if (kv_of(e) != ekv) x.emplace_back("kv", checked(kv_of(e)));
      }
      if (shadowed) x.emplace_back("value", checked(e.raw));
      if (x.size() > 1) except.emplace_back(std::move(x));
    }
    if (!except.empty()) o.emplace_back("except", std::move(except));
    sections.emplace_back(std::move(o));
  }
  root.emplace_back(secs.empty() ? "empty" : "close", checked(between(prev, b.data() + close)));
  root.emplace_back("sections", std::move(sections));
  return Json(std::move(root));
}

FileKind kind_in_model(const Store& store, const JsonDoc* doc) {
  if (store.docstore && &*store.docstore == doc) return FileKind::DocStore;
  if (store.index_store && &*store.index_store == doc) return FileKind::IndexStore;
  if (store.graph_store && &*store.graph_store == doc) return FileKind::GraphStore;
  if (store.property_graph && &*store.property_graph == doc) return FileKind::PropertyGraph;
  return FileKind::VectorStore;
}

void emit_document(const JsonDoc& original, FileKind kind, RecordSink& sink, ProgressTicker& progress) {
  // An edited document is printed and read again, so that every entry and
  // every byte between them is a view of one text.
  std::optional<JsonDoc> reread;
  const JsonDoc* doc = &original;
  if (original.changed()) {
    reread = JsonDoc::read(original.name(), Buffer::own(original.serialize()), original.dialect());
    doc = &*reread;
  }
  FileRecord rec;
  rec.name = doc->name();
  rec.kind = kind;
  Json layout;
  try {
    layout = make_layout(*doc, kind, rec.collections);
  } catch (const NotRepresentable&) {
    rec.collections.clear();
    rec.bytes = Buffer::own(std::string(doc->bytes()));
    sink.file(rec);
    return;
  }
  WriteStyle style{JsonDialect::Compact};
  rec.layout = dump(layout, style);
  sink.file(rec);
  for (const Section& s : doc->sections()) {
    if (std::find(rec.collections.begin(), rec.collections.end(), s.name) == rec.collections.end()) continue;
    // Skip an earlier duplicate section (kept whole in the layout).
    if (doc->section(s.name) != &s) continue;
    sink.collection(rec, s.name);
    bool vectors = sink.wants_packed() && is_embedding_section(kind, s.name) &&
                   (doc->dialect() == JsonDialect::Python || doc->dialect() == JsonDialect::JavaScript);
    std::string_view sep = doc->dialect() == JsonDialect::Python ? ", " : ",";
    bool duplicates = !s.is_array && s.size() != s.entries.size();
    // Embeddings are packed one chunk ahead on another core while the sink
    // stores the previous chunk (parsing and printing 38M floats is the
    // bulk of the work for a big store).
    constexpr std::size_t kChunk = 512;
    std::future<PackedChunk> next;
    auto start = [&](std::size_t from) {
      if (vectors && from < s.entries.size())
        next = std::async(std::launch::async, pack_chunk, std::cref(s), from, std::min(from + kChunk, s.entries.size()),
                          doc->dialect(), sep);
    };
    start(0);
    PackedChunk chunk;
    for (std::size_t i = 0; i < s.entries.size(); ++i) {
      const Entry& e = s.entries[i];
      if (vectors && i % kChunk == 0) {
        chunk = next.get();
        start(i + kChunk);
      }
      if ((i & 1023) == 1023) doc->release_before(e.raw.data());  // keep resident memory low
      if (duplicates && s.find(e.key) != &e) continue;  // shadowed: in the layout
      EntryRecord r;
      r.key = e.key;
      r.has_key = !s.is_array;
      r.seq = i;
      const auto& span = vectors ? chunk.spans[i - chunk.first] : PackedChunk::Span{};
      if (span.ok) r.vector = std::span<const double>(chunk.values.data() + span.begin, span.size);
      else r.json = e.raw;
      sink.entry(r);
      progress.add(e.raw.size() + e.raw_key.size() + 2);
    }
    if (next.valid()) next.wait();
  }
}

}  // namespace records_detail
using namespace records_detail;

Spool::Spool() {
  const char* dir = std::getenv("TMPDIR");
  std::string d = dir && *dir ? dir : "/tmp";
  m_fd = ::open(d.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (m_fd < 0) {
    std::string tmpl = d + "/lstore-XXXXXX";
    m_fd = ::mkstemp(tmpl.data());
    if (m_fd >= 0) ::unlink(tmpl.c_str());
  }
  if (m_fd < 0) throw Error(ErrorKind::Data, d, std::string("cannot create a temporary file: ") + std::strerror(errno));
}

Spool::~Spool() {
  if (m_fd >= 0) ::close(m_fd);
}

void Spool::write(std::string_view s) {
  m_buf.append(s);
  if (m_buf.size() >= (1u << 20)) flush();
}

std::shared_ptr<Buffer> Spool::finish(const std::string& display) {
  flush();
  int fd = m_fd;
  m_fd = -1;
  return Buffer::map_fd(fd, display);
}

void Spool::flush() {
  std::size_t done = 0;
  while (done < m_buf.size()) {
    ssize_t n = ::write(m_fd, m_buf.data() + done, m_buf.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw Error(ErrorKind::Data, "temporary file", std::string("cannot write: ") + std::strerror(errno));
    done += static_cast<std::size_t>(n);
  }
  m_buf.clear();
}

namespace {

// A string member of an exception record, or nullptr.
const std::string* field(const Json* x, std::string_view key) {
  const Json* v = x ? x->find(key) : nullptr;
  return v && v->is_string() ? &v->as_string() : nullptr;
}

std::string str(const Json& o, std::string_view key, std::string_view fallback = "") {
  const Json* v = o.find(key);
  return v && v->is_string() ? v->as_string() : std::string(fallback);
}

// Writes one file's bytes from its layout and its entries.
void rebuild(const Json& layout, const FileRecord& file, RecordSource& source, Spool& out) {
  JsonDialect d = dialect_from_name(str(layout, "dialect"));
  out.write(str(layout, "prefix"));
  out.write("{");
  const Json* sections = layout.find("sections");
  bool any = false;
  if (sections && sections->is_array()) {
    for (const Json& s : sections->as_array()) {
      any = true;
      out.write(str(s, "lead"));
      out.write(str(s, "key"));
      out.write(str(s, "kv"));
      if (s.find("raw")) {
        out.write(str(s, "raw"));
        continue;
      }
      const Json* arr = s.find("array");
      bool array = arr && arr->is_bool() && arr->as_bool();
      std::string open = str(s, "open"), item = str(s, "item", d == JsonDialect::Python ? ", " : ",");
      std::string ekv = str(s, "ekv", d == JsonDialect::Python ? ": " : ":");
      std::string vsep = str(s, "vectors", ", ");
      // Exceptions by seq; shadowed entries are written from here.
      std::map<std::uint64_t, const Json*> except;
      if (const Json* ex = s.find("except"); ex && ex->is_array())
        for (const Json& x : ex->as_array())
          if (const Json* q = x.find("seq"); q && q->is_int()) except[static_cast<std::uint64_t>(q->as_int())] = &x;
      auto shadowed_it = except.begin();
      std::size_t n = 0;
      out.write(array ? "[" : "{");
      auto emit = [&](const Json* x, std::string_view key, bool has_key, const std::function<void()>& value) {
        const std::string* lead = field(x, "lead");
        out.write(n == 0 ? open : lead ? *lead : item);
        if (has_key) {
          const std::string* k = field(x, "key");
          out.write(k ? *k : token(key, d));
          const std::string* kv = field(x, "kv");
          out.write(kv ? *kv : ekv);
        }
        value();
        ++n;
      };
      auto flush_shadowed = [&](std::uint64_t before) {
        for (; shadowed_it != except.end() && shadowed_it->first < before; ++shadowed_it) {
          const Json* x = shadowed_it->second;
          const std::string* value = field(x, "value");
          if (value) emit(x, {}, true, [&] { out.write(*value); });
        }
      };
      std::uint64_t next_seq = 0;
      source.entries(file, str(s, "collection"), [&](const EntryRecord& record) {
        EntryRecord e = record;
        if (e.seq == kNoSeq) {
          e.seq = next_seq;
          for (auto it = except.find(e.seq); it != except.end() && field(it->second, "value"); it = except.find(++e.seq)) {
          }
        }
        next_seq = e.seq + 1;
        flush_shadowed(e.seq);
        auto it = except.find(e.seq);
        const Json* x = it == except.end() || field(it->second, "value") ? nullptr : it->second;
        emit(x, e.key, !array, [&] {
          if (e.pieces) (*e.pieces)([&](std::string_view piece) { out.write(piece); });
          else if (e.json.data() || e.vector.empty()) out.write(e.json);
          else out.write(format_vector(e.vector, d, vsep));
        });
      });
      flush_shadowed(~std::uint64_t{0});
      out.write(n == 0 ? str(s, "empty") : str(s, "close"));
      out.write(array ? "]" : "}");
    }
  }
  out.write(any ? str(layout, "close") : str(layout, "empty"));
  out.write("}");
  out.write(str(layout, "suffix"));
}

// A KV file as a document of collections, or nullopt (not one, or not
// readable as one: then it is carried as bytes).
std::optional<JsonDoc> kv_document(const FileInfo& f) {
  if (f.kind != FileKind::KvStore || !f.bytes) return std::nullopt;
  try {
    return JsonDoc::read(f.name, f.bytes, JsonDialect::Python);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// Whether `bytes` parse as a chat store of either era.
bool is_chat_store(std::string_view bytes) {
  try {
    ChatStore::parse(bytes, "");
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

std::string format_vector(std::span<const double> v, JsonDialect d, std::string_view sep) {
  std::string out = "[";
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) out += sep;
    append_number(out, v[i], d);
  }
  out += ']';
  return out;
}

void RecordSink::entry_begin(const EntryRecord& e, std::size_t size, bool) {
  m_gathered = e;
  m_gathered_key.assign(e.key);
  m_gathered_json.clear();
  m_gathered_json.reserve(size);
}

void RecordSink::entry_piece(std::string_view bytes) { m_gathered_json.append(bytes); }

void RecordSink::entry_end() {
  m_gathered.key = m_gathered_key;
  m_gathered.json = m_gathered_json;
  entry(m_gathered);
  std::string().swap(m_gathered_json);
}

void write_records(const Store& store, RecordSink& sink, const Progress& report) {
  std::uint64_t total = 0;
  for (const FileInfo& f : store.files) total += f.size;
  ProgressTicker progress(report, total);
  store.verify();  // before anything is written
  // A streamed store's large files: checked and laid out before anything
  // is written too, then written from the files themselves.
  const auto streamed = plan_streamed_files(store, sink.wants_packed());
  sink.begin(StoreHeader{kRecordFormat, store.dialect, store.era});
  for (const FileInfo& f : store.files) {
    if (auto plan = streamed.find(f.name); plan != streamed.end()) {
      emit_streamed_file(f.name, plan->second, sink, progress);
    } else if (const JsonDoc* doc = store.document(f.name)) {
      emit_document(*doc, kind_in_model(store, doc), sink, progress);
    } else if (std::optional<JsonDoc> kv = kv_document(f)) {
      // A standalone SimpleKVStore file: its collections become records too,
      // so a backend can keep them where LlamaIndex's KV stores do.
      emit_document(*kv, FileKind::KvStore, sink, progress);
    } else if (f.bytes) {
      FileRecord rec;
      rec.name = f.name;
      rec.kind = f.kind;
      rec.bytes = f.bytes;
      sink.file(rec);
      progress.add(f.bytes->view().size());
    }
  }
  // Documents added to the model without a file of origin.
  for (const JsonDoc* doc : store.documents()) {
    bool listed = false;
    for (const FileInfo& f : store.files) listed |= f.name == doc->name();
    if (!listed) emit_document(*doc, kind_in_model(store, doc), sink, progress);
  }
  sink.commit();
  progress.finish();
}

Store assemble_store(RecordSource& source, const std::string& location, bool streamed, const std::string* keep) {
  // Streamed (Backend::load_streamed): each rebuilt file that the directory
  // backend would stream is counted from its spool, not outlined.
  std::shared_ptr<StreamedCounts> streamed_counts;
  if (streamed) streamed_counts = std::make_shared<StreamedCounts>();
  StoreHeader header = source.header();
  if (header.format > kRecordFormatRead)
    throw Error(ErrorKind::Data, location,
                "written by a newer lstore (record format " + std::to_string(header.format) + ")");
  StoreBuilder builder(location);
  for (FileRecord f; source.next_file(f); f = FileRecord{}) {
    // A backup names its files: a crafted one must not write outside the
    // directory it is restored into.
    if (!is_safe_relative_name(f.name))
    {
      std::string quoted;
      dump_string(quoted, f.name, JsonDialect::Compact);
      throw Error(ErrorKind::Data, location, "a file named " + quoted + ": not a plain relative name (absolute, '..' or NUL)");
    }
    FileInfo info;
    info.name = f.name;
    info.kind = f.kind;
    if (f.layout.empty()) {
      info.bytes = f.bytes ? f.bytes : Buffer::own({});
      info.size = info.bytes->view().size();
      info.kind = sniff_bytes(info.bytes->view().substr(0, 4096), info.size, info.detail);
      if (info.kind == FileKind::Other && info.detail == "not JSON") info.detail.clear();
      // JSON carried as bytes (a gpt_index save_to_disk() file, foreign JSON):
      // the first bytes do not tell, the kind the directory backend found does.
      else if (info.kind == FileKind::Other && (f.kind == FileKind::LegacySaveToDisk || f.kind == FileKind::ForeignJson))
        info.kind = f.kind;
      // Chat stores are carried as bytes; the directory backend recognised
      // them when they were written (sniffing looks at the first bytes only).
      if (f.kind == FileKind::ChatStore && is_chat_store(info.bytes->view())) {
        info.kind = FileKind::ChatStore;
        info.detail = info.bytes->view().starts_with("\"") ? "SimpleChatStore (0.10 era: a JSON string)" : "SimpleChatStore";
      }
      builder.add(std::move(info), std::nullopt, Dialect::Python);
      continue;
    }
    std::string display = location + ": " + f.name;
    Json layout;
    try {
      layout = parse(f.layout);
    } catch (const ParseError& e) {
      throw Error(ErrorKind::Data, display, std::string("stored layout is not JSON: ") + e.what());
    }
    if (!layout.is_object()) throw Error(ErrorKind::Data, display, "stored layout is not a JSON object");
    Spool spool;
    rebuild(layout, f, source, spool);
    auto buffer = spool.finish(display);
    info.size = buffer->view().size();
    JsonDialect jd = dialect_from_name(str(layout, "dialect"));
    if (streamed_counts)
      if (std::optional<StreamedSample> sample = stream_rebuilt(f.name, buffer, jd, keep)) {
        info.kind = sample->kind;
        info.detail = std::move(sample->detail);
        info.bytes = buffer;
        streamed_counts->files[f.name] = std::move(sample->counts);
        streamed_counts->sources[f.name] = buffer;
        builder.add(std::move(info), std::move(sample->doc), sample->dialect);
        continue;
      }
    JsonDoc doc = [&] {
      try {
        return JsonDoc::read(f.name, buffer, jd);
      } catch (const Error& e) {
        throw Error(ErrorKind::Data, display, e.what(), e.place());
      }
    }();
    Dialect dialect = Dialect::Python;
    std::string base = f.name.substr(f.name.rfind('/') + 1);
    info.kind = classify_json(doc, base, dialect, info.detail);
    info.bytes = buffer;  // kept if the file does not end up in a slot of the model
    doc.set_dialect(jd);
    builder.add(std::move(info), std::move(doc), dialect);
  }
  Store store = builder.finish();
  store.streamed = std::move(streamed_counts);
  return store;
}

std::string default_layout(const std::vector<std::string>& collections, Dialect dialect) {
  JsonDialect d = dialect == Dialect::TypeScript ? JsonDialect::JavaScript : JsonDialect::Python;
  bool py = d == JsonDialect::Python;
  JsonArray sections;
  for (std::size_t i = 0; i < collections.size(); ++i)
    sections.emplace_back(JsonObject{{"lead", i ? (py ? ", " : ",") : ""},
                                     {"key", token(collections[i], d)},
                                     {"kv", py ? ": " : ":"},
                                     {"collection", collections[i]},
                                     {"array", false},
                                     {"item", py ? ", " : ","},
                                     {"ekv", py ? ": " : ":"}});
  Json layout(JsonObject{{"dialect", dialect_name(d)}, {"sections", std::move(sections)}});
  WriteStyle style{JsonDialect::Compact};
  return dump(layout, style);
}

std::vector<std::string> layout_collections(std::string_view text) {
  std::vector<std::string> out;
  Json layout = parse(text);
  if (const Json* s = layout.find("sections"); s && s->is_array())
    for (const Json& x : s->as_array())
      if (!x.find("raw") && x.find("collection") && x.find("collection")->is_string())
        out.push_back(x.find("collection")->as_string());
  return out;
}

}  // namespace lstore
