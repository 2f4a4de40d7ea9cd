// The JSONL backend (jsonl:FILE, jsonl:- for stdin/stdout, zstd-compressed
// when the name ends in .zst): a whole store as one stream of records, for
// backups and pipes. One JSON object per line (man/lstore-formats.5):
//
//   {"lstore":1,"dialect":"python","era":"0.12+","written_by":"lstore 0.1.0"}
//   {"file":"docstore.json","kind":"docstore","layout":{...}}
//   {"collection":"docstore/data"}
//   {"k":"node-1","s":0,"v":{"__data__": {...}, "__type__": "1"}}
//   {"k":"node-2","s":1,"vs":"<the value as a string, when its text spans lines>"}
//   {"file":"default__vector_store.faiss","kind":"faiss","base64":"..."}
//   {"end":true,"files":5,"entries":1234}
//
// "v" is the entry's JSON text exactly as in the file; the last line lets a
// reader tell a complete stream from a cut one.
#include <fcntl.h>
#include <sys/stat.h>
#include <openssl/evp.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "lstore/backend.hpp"
#include "lstore/error.hpp"
#include "core/fileio.hpp"
#include "core/outline.hpp"
#include "lstore/version.hpp"
#include "records.hpp"

namespace lstore {
namespace fs = std::filesystem;
namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string json_quote(std::string_view s) {
  std::string out;
  dump_string(out, s, JsonDialect::Compact);
  return out;
}

std::string base64(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

bool unbase64(std::string_view text, std::string& out) {
  if (text.size() % 4 != 0) return false;
  out.assign(3 * (text.size() / 4), '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return false;
  std::size_t pad = text.empty() ? 0 : (text.back() == '=') + (text.size() > 1 && text[text.size() - 2] == '=');
  out.resize(static_cast<std::size_t>(n) - pad);
  return true;
}

// Bytes out to a file descriptor, zstd-compressed or not.
class Writer {
 public:
  Writer(int fd, bool zst, std::string display) : m_fd(fd), m_display(std::move(display)) {
    if (zst) m_cctx = ZSTD_createCCtx();
  }
  ~Writer() { ZSTD_freeCCtx(m_cctx); }
  void write(std::string_view s) {
    m_buf.append(s);
    if (m_buf.size() >= (1u << 20)) flush(false);
  }
  void finish() { flush(true); }

 private:
  void flush(bool end) {
    if (!m_cctx) {
      raw(m_buf);
      m_buf.clear();
      return;
    }
    ZSTD_inBuffer in{m_buf.data(), m_buf.size(), 0};
    std::string out(ZSTD_CStreamOutSize(), '\0');
    for (;;) {
      ZSTD_outBuffer o{out.data(), out.size(), 0};
      std::size_t left = ZSTD_compressStream2(m_cctx, &o, &in, end ? ZSTD_e_end : ZSTD_e_continue);
      if (ZSTD_isError(left)) throw Error(ErrorKind::Data, m_display, std::string("zstd: ") + ZSTD_getErrorName(left));
      raw(std::string_view(out.data(), o.pos));
      if (end ? left == 0 : in.pos == in.size) break;
    }
    m_buf.clear();
  }
  void raw(std::string_view s) {
    while (!s.empty()) {
      ssize_t n = ::write(m_fd, s.data(), s.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw Error(ErrorKind::Data, m_display, std::string("cannot write: ") + std::strerror(errno));
      s.remove_prefix(static_cast<std::size_t>(n));
    }
  }
  int m_fd;
  std::string m_display;
  ZSTD_CCtx* m_cctx = nullptr;
  std::string m_buf;
};

// Lines in from a file descriptor, zstd-compressed or not.
class Reader {
 public:
  Reader(int fd, bool zst, std::string display) : m_fd(fd), m_display(std::move(display)) {
    if (zst) m_dctx = ZSTD_createDCtx();
  }
  ~Reader() { ZSTD_freeDCtx(m_dctx); }
  // The next line without its '\n'; false at the end of the stream.
  bool line(std::string& out) {
    for (;;) {
      // A long line comes in many fills: only the bytes of the last are searched.
      std::size_t nl = m_text.find('\n', std::max(m_pos, m_searched));
      if (nl != std::string::npos && m_pos == 0 && nl >= (std::size_t{1} << 20)) {
        // A long line (an 84 MB index struct at 1M nodes) is handed over,
        // not copied: the rest of the buffer is the short part.
        std::string rest(m_text, nl + 1);
        out.swap(m_text);
        out.resize(nl);
        m_text = std::move(rest);
        m_searched = 0;
        ++m_line;
        return true;
      }
      if (nl != std::string::npos) {
        out.assign(m_text, m_pos, nl - m_pos);
        m_pos = nl + 1;
        ++m_line;
        return true;
      }
      m_text.erase(0, m_pos);
      m_pos = 0;
      m_searched = m_text.size();
      if (!fill()) {
        if (m_text.empty()) return false;
        out.swap(m_text);
        m_text.clear();
        m_searched = 0;
        ++m_line;
        return true;
      }
    }
  }
  std::size_t line_number() const { return m_line; }

 private:
  bool fill() {
    char chunk[1 << 16];
    for (;;) {
      if (m_dctx && m_in_pos < m_in.size()) {
        ZSTD_inBuffer in{m_in.data(), m_in.size(), m_in_pos};
        std::string out(ZSTD_DStreamOutSize(), '\0');
        ZSTD_outBuffer o{out.data(), out.size(), 0};
        std::size_t r = ZSTD_decompressStream(m_dctx, &o, &in);
        if (ZSTD_isError(r)) throw Error(ErrorKind::Data, m_display, std::string("zstd: ") + ZSTD_getErrorName(r));
        m_in_pos = in.pos;
        m_text.append(out.data(), o.pos);
        if (o.pos > 0) return true;
        continue;
      }
      ssize_t n = ::read(m_fd, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw Error(ErrorKind::Data, m_display, std::string("cannot read: ") + std::strerror(errno));
      if (n == 0) return false;
      if (m_dctx) {
        m_in.assign(chunk, static_cast<std::size_t>(n));
        m_in_pos = 0;
      } else {
        m_text.append(chunk, static_cast<std::size_t>(n));
        return true;
      }
    }
  }
  int m_fd;
  std::string m_display;
  ZSTD_DCtx* m_dctx = nullptr;
  std::string m_in;
  std::size_t m_in_pos = 0;
  std::string m_text;
  std::size_t m_pos = 0;
  std::size_t m_searched = 0;  // m_text holds no '\n' between m_pos and here
  std::size_t m_line = 0;
};

class JsonlSink : public RecordSink {
 public:
  explicit JsonlSink(Writer& w) : m_w(w) {}
  bool wants_packed() const override { return false; }
  void begin(const StoreHeader& h) override {
    m_w.write("{\"lstore\":" + std::to_string(h.format) + ",\"dialect\":" +
              (h.dialect == Dialect::TypeScript ? "\"ts\"" : "\"python\"") + ",\"era\":" + json_quote(h.era) +
              ",\"written_by\":" + json_quote(std::string("lstore ") + LSTORE_VERSION) + "}\n");
  }
  void file(const FileRecord& f) override {
    ++m_files;
    std::string line = "{\"file\":" + json_quote(f.name) + ",\"kind\":" + json_quote(file_kind_name(f.kind));
    if (!f.layout.empty()) line += ",\"layout\":" + f.layout;
    else line += ",\"base64\":\"" + base64(f.bytes ? f.bytes->view() : std::string_view()) + "\"";
    m_w.write(line + "}\n");
  }
  void collection(const FileRecord&, const std::string& name) override {
    m_w.write("{\"collection\":" + json_quote(name) + "}\n");
  }
  // An entry's line up to its value: {"k":KEY,"s":SEQ (no key for an array element).
  void start_line(const EntryRecord& e) {
    ++m_entries;
    m_line.assign("{");
    if (e.has_key) {
      m_line += "\"k\":";
      dump_string(m_line, e.key, JsonDialect::Compact);
      m_line += ',';
    }
    m_line += "\"s\":" + std::to_string(e.seq);
  }
  void entry(const EntryRecord& e) override {
    start_line(e);
    std::string_view v = e.json;
    if (v.find('\n') == std::string_view::npos && v.find('\r') == std::string_view::npos) {
      m_line += ",\"v\":";
      m_line += v;
    } else {
      m_line += ",\"vs\":";
      dump_string(m_line, v, JsonDialect::Compact);
    }
    m_line += "}\n";
    m_w.write(m_line);
  }
  // A value too large to hold, on one line as entry() writes it: raw after
  // "v" (one with a line break is escaped into "vs", so gathered whole).
  void entry_begin(const EntryRecord& e, std::size_t size, bool newline) override {
    m_raw_pieces = !newline;
    if (!m_raw_pieces) return RecordSink::entry_begin(e, size, newline);
    start_line(e);
    m_line += ",\"v\":";
    m_w.write(m_line);
  }
  void entry_piece(std::string_view bytes) override {
    if (!m_raw_pieces) return RecordSink::entry_piece(bytes);
    m_w.write(bytes);
  }
  void entry_end() override {
    if (!m_raw_pieces) return RecordSink::entry_end();
    m_raw_pieces = false;
    m_w.write("}\n");
  }

  void commit() override {
    m_w.write("{\"end\":true,\"files\":" + std::to_string(m_files) + ",\"entries\":" + std::to_string(m_entries) + "}\n");
    m_w.finish();
  }

 private:
  Writer& m_w;
  std::string m_line;
  bool m_raw_pieces = false;  // the entry being written in pieces goes out as they come
  std::size_t m_files = 0, m_entries = 0;
};

class JsonlSource : public RecordSource {
 public:
  JsonlSource(Reader& r, std::string display) : m_r(r), m_display(std::move(display)) {}

  StoreHeader header() override {
    StoreHeader h;
    if (!m_r.line(m_text)) throw Error(ErrorKind::Data, m_display, "empty stream, expected an lstore JSONL header");
    Json v = parse_line();
    const Json* format = v.find("lstore");
    if (!format || !format->is_int()) fail("not an lstore JSONL stream (the first line has no \"lstore\" version)");
    h.format = static_cast<int>(format->as_int());
    if (const Json* d = v.find("dialect"); d && d->is_string() && d->as_string() == "ts") h.dialect = Dialect::TypeScript;
    if (const Json* e = v.find("era"); e && e->is_string()) h.era = e->as_string();
    advance();
    return h;
  }

  bool next_file(FileRecord& f) override {
    // Entries of the previous file that were not asked for are skipped.
    while (m_have && m_kind != Kind::File && m_kind != Kind::End) advance();
    if (!m_have) fail("the stream ends without its last line (cut short?)");
    if (m_kind == Kind::End) return false;
    Json v = parse_line();
    const Json* name = v.find("file");
    if (!name || !name->is_string()) fail("\"file\" is not a string");
    f.name = name->as_string();
    // The kind the directory backend found (a chat store or a gpt_index file
    // carried as bytes cannot be told again from its first bytes).
    if (const Json* kind = v.find("kind"); kind && kind->is_string()) f.kind = file_kind_from_name(kind->as_string());
    if (const Json* b = v.find("base64")) {
      std::string bytes;
      if (!b->is_string() || !unbase64(b->as_string(), bytes)) fail("\"base64\" is not valid base64");
      f.bytes = Buffer::own(std::move(bytes));
    } else {
      Outline o = outline_object(m_text, 1);
      for (const Member& m : o.root.members)
        if (m.name == "layout") f.layout = std::string(m.value.in(m_text));
      if (f.layout.empty()) fail("a file line has neither \"layout\" nor \"base64\"");
    }
    advance();
    return true;
  }

  void entries(const FileRecord&, const std::string& collection,
               const std::function<void(const EntryRecord&)>& fn) override {
    if (!m_have || m_kind != Kind::Collection) return;
    Json v = parse_line();
    if (v.find("collection") == nullptr || !v.find("collection")->is_string() ||
        v.find("collection")->as_string() != collection)
      return;  // this file has no records for that collection
    advance();
    std::string key;
    while (m_have && m_kind == Kind::Entry) {
      Outline o = [&] {
        try {
          return outline_object(m_text, 1);
        } catch (const ParseError& e) {
          fail(e.what());
        }
      }();
      EntryRecord e;
      e.has_key = false;
      // "v" is used where it lies in the line (a large value is not copied);
      // "vs" is decoded into value_text.
      std::string value_text;
      std::string_view value;
      bool have_value = false;
      for (const Member& m : o.root.members) {
        std::string_view raw = m.value.in(m_text);
        if (m.name == "k") {
          Json k = parse(raw);
          if (!k.is_string()) fail("\"k\" is not a string");
          key = k.as_string();
          e.has_key = true;
        } else if (m.name == "s") {
          e.seq = std::strtoull(std::string(raw).c_str(), nullptr, 10);
        } else if (m.name == "v") {
          value = raw;
          have_value = true;
        } else if (m.name == "vs") {
          Json s = parse(raw);
          if (!s.is_string()) fail("\"vs\" is not a string");
          value_text = s.as_string();
          value = value_text;
          have_value = true;
        }
      }
      if (!have_value) fail("an entry line has no value (\"v\")");
      e.key = key;
      e.json = value;
      fn(e);
      advance();
    }
  }

 private:
  enum class Kind { File, Collection, Entry, End };

  [[noreturn]] void fail(const std::string& what) const {
    throw Error(ErrorKind::Data, m_display, what, "line " + std::to_string(m_r.line_number()));
  }
  Json parse_line() {
    try {
      return parse(m_text);
    } catch (const ParseError& e) {
      fail(std::string(e.what()) + " at column " + std::to_string(e.offset() + 1));
    }
  }
  // Reads the next line and tells its kind from its first member's name.
  void advance() {
    m_have = m_r.line(m_text);
    if (!m_have) return;
    std::string_view t = m_text;
    if (t.rfind("{\"k\":", 0) == 0 || t.rfind("{\"s\":", 0) == 0) m_kind = Kind::Entry;
    else if (t.rfind("{\"collection\":", 0) == 0) m_kind = Kind::Collection;
    else if (t.rfind("{\"file\":", 0) == 0) m_kind = Kind::File;
    else if (t.rfind("{\"end\":", 0) == 0) m_kind = Kind::End;
    else fail("not an lstore JSONL record");
  }

  Reader& m_r;
  std::string m_display;
  std::string m_text;
  bool m_have = false;
  Kind m_kind = Kind::End;
};

class JsonlBackend : public Backend {
 public:
  explicit JsonlBackend(std::string path) : m_path(std::move(path)) {}
  std::string describe() const override { return "jsonl:" + m_path; }
  std::string lock_path() const override { return stdio() ? std::string() : m_path; }

  Store load() override { return load_mode(false, nullptr); }
  // The way back streamed (issue #20), as sqlite.cpp's. Not from standard
  // input: a convert that the stream cannot write exactly reads the store
  // again, whole.
  Store load_streamed(const std::string* id) override {
    if (streaming_disabled() || stdio()) return load();
    return load_mode(true, id);
  }

  Store load_mode(bool streamed, const std::string* id) {
    bool zst = ends_with(m_path, ".zst");
    int fd = stdio() ? ::dup(0) : ::open(m_path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) throw Error(ErrorKind::Data, describe(), std::string("cannot open: ") + std::strerror(errno));
    struct Close {
      int fd;
      ~Close() { ::close(fd); }
    } close{fd};
    if (!stdio()) {
      // A named pipe would block (or end early) here: streams come through jsonl:-.
      struct stat st {};
      if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        throw Error(ErrorKind::Data, describe(), S_ISDIR(st.st_mode) ? "is a directory, expected a file" : "not a regular file",
                    "", "to read a stream, use jsonl:- with the stream on standard input");
      ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    }
    Reader reader(fd, zst, describe());
    JsonlSource source(reader, describe());
    return assemble_store(source, describe(), streamed, id);
  }

  void save(const Store& store, const SaveOptions& options) override {
    bool zst = ends_with(m_path, ".zst");
    if (stdio()) {
      Writer w(1, zst, "stdout");
      JsonlSink sink(w);
      write_records(store, sink, options.progress);
      return;
    }
    fs::path target = resolve_write_path(m_path);  // through a symlink: where it points
    std::error_code ec;
    if (fs::exists(target, ec)) {
      if (fs::is_directory(target, ec)) throw Error(ErrorKind::Data, describe(), "is a directory, expected a file");
      if (!fs::is_regular_file(target, ec)) throw Error(ErrorKind::Data, describe(), "not a regular file");
      if (!options.force && fs::file_size(target, ec) > 0)
        throw Error(ErrorKind::Data, describe(), "target file exists", "", "use --force to replace it");
    }
    AtomicFile file(target);
    {
      Writer w(file.fd(), zst, describe());
      JsonlSink sink(w);
      write_records(store, sink, options.progress);
    }
    file.commit();
  }

 private:
  bool stdio() const { return m_path == "-" || m_path == "-.zst"; }
  std::string m_path;
};

}  // namespace

std::unique_ptr<Backend> make_jsonl_backend(const std::string& path) {
  return std::make_unique<JsonlBackend>(path);
}

}  // namespace lstore
