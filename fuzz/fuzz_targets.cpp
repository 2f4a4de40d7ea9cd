// Fuzz target bodies (see fuzz_targets.hpp).
#include "fuzz_targets.hpp"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

#include "../src/backends/records.hpp"
#include "lstore/backend.hpp"
#include "lstore/error.hpp"
#include "lstore/json.hpp"
#include "lstore/jsondoc.hpp"
#include "lstore/model.hpp"
#include "lstore/query.hpp"
#include "core/sniff.hpp"

namespace lstore::fuzz {
namespace {

std::string_view view(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Invariants are checked with abort(), which libFuzzer reports.
void require(bool ok) {
  if (!ok) std::abort();
}

// Records kept in memory: what a backend would store, read back in order.
class MemoryRecords : public RecordSink, public RecordSource {
 public:
  void begin(const StoreHeader& h) override { m_header = h; }
  void file(const FileRecord& f) override { m_files.push_back(f); }
  void collection(const FileRecord& f, const std::string& name) override {
    m_current = f.name + "\n" + name;
  }
  void entry(const EntryRecord& e) override {
    Stored s{std::string(e.key), e.has_key, e.seq, std::string(e.json), {e.vector.begin(), e.vector.end()},
             e.json.data() != nullptr};
    m_entries.emplace_back(m_current, std::move(s));
  }
  void commit() override {}
  StoreHeader header() override { return m_header; }
  bool next_file(FileRecord& f) override {
    if (m_next >= m_files.size()) return false;
    f = m_files[m_next++];
    return true;
  }
  void entries(const FileRecord& f, const std::string& collection,
               const std::function<void(const EntryRecord&)>& fn) override {
    std::string want = f.name + "\n" + collection;
    for (const auto& [where, s] : m_entries) {
      if (where != want) continue;
      EntryRecord e;
      e.key = s.key;
      e.has_key = s.has_key;
      e.seq = s.seq;
      if (s.is_json) e.json = s.json;
      else e.vector = s.vector;
      fn(e);
    }
  }

 private:
  struct Stored {
    std::string key;
    bool has_key;
    std::uint64_t seq;
    std::string json;
    std::vector<double> vector;
    bool is_json;
  };
  StoreHeader m_header;
  std::vector<FileRecord> m_files;
  std::size_t m_next = 0;
  std::string m_current;
  std::vector<std::pair<std::string, Stored>> m_entries;
};

}  // namespace

void json_reader(const std::uint8_t* data, std::size_t size) {
  Json v;
  try {
    v = parse(view(data, size));
  } catch (const ParseError&) {
    return;
  } catch (const Error&) {
    return;
  }
  for (JsonDialect d : {JsonDialect::Python, JsonDialect::Pydantic, JsonDialect::JavaScript, JsonDialect::Compact}) {
    std::string text = dump(v, WriteStyle{d});
    try {
      parse(text);
    } catch (const ParseError&) {
      // NaN/Infinity print as null in some dialects but never as invalid JSON.
      require(false);
    }
  }
}

void store_file(const std::uint8_t* data, std::size_t size) {
  std::string_view text = view(data, size);
  for (const char* name : {"docstore.json", "index_store.json", "default__vector_store.json"}) {
    std::optional<JsonDoc> doc;
    try {
      doc = JsonDoc::read(name, Buffer::own(std::string(text)), JsonDialect::Python);
    } catch (const Error&) {
      return;
    }
    require(doc->serialize() == text);  // unchanged files are written back byte for byte
    Dialect dialect = Dialect::Python;
    std::string detail;
    FileKind kind;
    try {
      kind = classify_json(*doc, name, dialect, detail);
    } catch (const Error&) {
      return;  // an entry that does not decode: the loaders report it (exit 3)
    }
    for (const Section& s : doc->sections())
      for (const Entry& e : s.entries) {
        try {
          doc->decode(e.raw);
          if (kind == FileKind::DocStore && s.name == "docstore/data") decode_node(*doc, e);
          if (kind == FileKind::IndexStore) decode_index_struct(*doc, e);
        } catch (const Error&) {
        } catch (const ParseError&) {
        }
      }
    // Through records and back: the same bytes.
    Store store;
    store.files.push_back(FileInfo{name, FileKind::DocStore, size, "", nullptr});
    if (std::string_view(name) == "default__vector_store.json") {
      store.files.back().kind = FileKind::VectorStore;
      store.vector_stores.push_back({"default", *doc});
    } else if (std::string_view(name) == "index_store.json") {
      store.files.back().kind = FileKind::IndexStore;
      store.index_store = *doc;
    } else {
      store.docstore = *doc;
    }
    MemoryRecords records;
    write_records(store, records);
    Store back;
    try {
      back = assemble_store(records, "memory");
    } catch (const Error&) {
      // Not a store file at all (classified as something else): carried whole.
      continue;
    }
    const JsonDoc* again = back.document(name);
    if (again) require(again->serialize() == text);
    else
      for (const FileInfo& f : back.files)
        if (f.name == name && f.bytes) require(f.bytes->view() == text);
  }
}

namespace {

// A scratch directory of the fuzzing process, emptied for each input.
std::filesystem::path scratch() {
  static const std::filesystem::path dir = [] {
    std::string tmpl = (std::filesystem::temp_directory_path() / "lstore-fuzz-XXXXXX").string();
    require(::mkdtemp(tmpl.data()) != nullptr);
    return std::filesystem::path(tmpl);
  }();
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) std::filesystem::remove_all(e.path(), ec);
  return dir;
}

// A backup named `name` holding the input's bytes is restored into a
// directory: it is refused (an Error), or every file lands inside the
// directory and the directory reads back as the same store.
void restore_backup(const std::uint8_t* data, std::size_t size, const char* name, const char* scheme) {
  std::filesystem::path dir = scratch();
  std::string backup = (dir / name).string();
  {
    std::FILE* f = std::fopen(backup.c_str(), "wb");
    require(f != nullptr);
    require(size == 0 || std::fwrite(data, 1, size, f) == size);
    require(std::fclose(f) == 0);
  }
  std::filesystem::path out = dir / "restored" / "store";
  std::filesystem::create_directories(out.parent_path());
  Store store;
  try {
    store = open_backend(std::string(scheme) + backup)->load();
    make_directory_backend(out.string())->save(store, SaveOptions{});
  } catch (const Error&) {
    // Refused, and nothing written beside the backup but the empty folder.
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      std::string n = e.path().filename().string();
      require(n == name || n == "restored" || n.rfind(std::string(name) + "-", 0) == 0);
    }
    return;
  } catch (const ParseError&) {
    return;
  }
  // Nothing outside the restored store.
  for (const auto& e : std::filesystem::directory_iterator(dir / "restored"))
    require(e.path().filename() == "store");
  Store back = make_directory_backend(out.string())->load_tolerant();
  for (const FileInfo& f : store.files) {
    bool found = false;
    for (const FileInfo& g : back.files) found |= g.name == f.name;
    require(found);
  }
}

}  // namespace

void backup_jsonl(const std::uint8_t* data, std::size_t size) { restore_backup(data, size, "b.jsonl", "jsonl:"); }
void backup_sqlite(const std::uint8_t* data, std::size_t size) { restore_backup(data, size, "b.db", "sqlite:"); }

void filter_expression(const std::uint8_t* data, std::size_t size) {
  for (FilterSemantics s : {FilterSemantics::Current, FilterSemantics::Legacy}) {
    try {
      parse_filter_expression(view(data, size), s);
    } catch (const Error&) {
    } catch (const ParseError&) {
    }
  }
}

}  // namespace lstore::fuzz
