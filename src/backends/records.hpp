// A store as records: the form every backend but the directory keeps
// (SQLite rows, Redis hashes, PostgreSQL rows, JSONL lines).
//
// A file of the model becomes a FileRecord holding its *layout* (everything
// between its entries: key tokens, whitespace, sections kept whole) and one
// EntryRecord per entry of each collection. Putting the layout and the
// entries back together gives the file's bytes exactly, so dir -> backend ->
// dir is byte-identical. Embeddings are packed as float64 arrays when their
// text is what the file's dialect would print for those numbers (checked per
// embedding; anything else stays JSON text). The layout format is documented
// in man/lstore-formats.5.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lstore/backend.hpp"
#include "lstore/store.hpp"

namespace lstore {

// The record format a writer states (lstore_store's "format", SQLite's
// user_version): 1, or 2 for an SQLite file that keeps a large JSON value as
// a BLOB of its bytes (sqlite.cpp), which an lstore that reads only format 1
// would take for packed float64s: it refuses the file instead. A reader
// takes every format up to kRecordFormatRead.
inline constexpr int kRecordFormat = 1;
inline constexpr int kRecordFormatJsonBlobs = 2;
inline constexpr int kRecordFormatRead = 2;
inline constexpr std::uint64_t kNoSeq = ~std::uint64_t{0};

struct StoreHeader {
  int format = kRecordFormat;
  Dialect dialect = Dialect::Python;
  std::string era;
};

struct FileRecord {
  std::string name;  // relative to the store, e.g. "docstore.json"
  FileKind kind = FileKind::Other;
  // How to put the file back together (JSON text); empty for a file carried
  // as it is (`bytes`): FAISS indexes, notes, files lstore does not model.
  std::string layout;
  std::shared_ptr<Buffer> bytes;
  // The collections (outlined sections) in file order, as named in the
  // layout; filled by write_records and by parse_layout_collections.
  std::vector<std::string> collections;
};

struct EntryRecord {
  std::string_view key;       // the decoded key; empty for array elements
  bool has_key = true;
  // Position within its collection in the file. A backend that cannot keep
  // it (rows ordered by a SERIAL id, a Redis list) passes kNoSeq and gives
  // the entries in order; the layout knows where shadowed entries were.
  std::uint64_t seq = 0;
  std::string_view json;      // the value as JSON text, unless `vector` holds it
  std::span<const double> vector;  // a packed embedding (json is empty then)
  // A value too large to hold (an SQLite BLOB of JSON), from a RecordSource
  // only: when set, `json` and `vector` are empty and this hands the value's
  // bytes, piece by piece, to its argument.
  const std::function<void(const std::function<void(std::string_view)>&)>* pieces = nullptr;
};

// Where records go. Calls come in this order: begin; then per file: file,
// and per collection of that file: collection, entry...; then commit.
class RecordSink {
 public:
  virtual ~RecordSink() = default;
  virtual void begin(const StoreHeader& header) = 0;
  virtual void file(const FileRecord& file) = 0;
  virtual void collection(const FileRecord& file, const std::string& name) = 0;
  virtual void entry(const EntryRecord& entry) = 0;
  virtual void commit() = 0;
  // false: embeddings come as JSON text too (a text stream gains nothing).
  virtual bool wants_packed() const { return true; }
  // An entry too large to hold (records_stream.cpp): instead of entry(),
  // entry_begin() (`e.json` empty, `e.key` valid during the call), then its
  // `size` bytes of JSON in entry_piece() calls, then entry_end(). `newline`:
  // they hold a '\n' or '\r'. By default the pieces are gathered and given
  // to entry(): a sink that can write a value in pieces overrides all three.
  virtual void entry_begin(const EntryRecord& e, std::size_t size, bool newline);
  virtual void entry_piece(std::string_view bytes);
  virtual void entry_end();

 private:
  EntryRecord m_gathered;  // entry_begin()'s, its key and JSON in the strings below
  std::string m_gathered_key, m_gathered_json;
};

// Walks the model and feeds `sink` (the sink's commit() is called last),
// reporting the bytes of entries handed over to `progress`.
void write_records(const Store& store, RecordSink& sink, const Progress& progress = {});

// Where records come from, for assemble_store.
class RecordSource {
 public:
  virtual ~RecordSource() = default;
  virtual StoreHeader header() = 0;
  // The next file in store order, with its layout (or its bytes); false at
  // the end. The file's entries are asked for before the next file (so a
  // stream can be read in one pass).
  virtual bool next_file(FileRecord& file) = 0;
  // The entries of one collection of `file`, in `seq` order; collections are
  // asked for in the layout's order.
  virtual void entries(const FileRecord& file, const std::string& collection,
                       const std::function<void(const EntryRecord&)>& fn) = 0;
};

// Rebuilds every file (into unlinked temporary files, so a big store does not
// sit in memory) and reads them into the model as the directory backend does.
// `streamed` (Backend::load_streamed, issue #20): a rebuilt file is counted
// from its temporary file as the directory backend streams one (its sample
// in the model, its bytes in Store::streamed), so that convert writes it
// entry by entry in bounded memory; a file the stream cannot take exactly
// is read whole as without it.
Store assemble_store(RecordSource& source, const std::string& location, bool streamed = false,
                     const std::string* keep = nullptr);
// LSTORE_NO_STREAM=1 (the tests' switch to the loaded path) is set.
bool streaming_disabled();

// The layout of a KV file that LlamaIndex itself wrote into a backend (so
// lstore stored no layout): what SimpleKVStore.persist would write for those
// collections, i.e. json.dumps of {collection: {key: value}}.
std::string default_layout(const std::vector<std::string>& collections, Dialect dialect);
// The collection names a layout lists, in order.
std::vector<std::string> layout_collections(std::string_view layout);

// An unlinked temporary file that rebuilt or converted bytes go to (through
// a 1 MB buffer), mapped when finished: a big file made here does not sit in
// memory.
class Spool {
 public:
  Spool();  // throws Error(Data) when $TMPDIR (or /tmp) takes no file
  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;
  void write(std::string_view s);
  std::shared_ptr<Buffer> finish(const std::string& display);

 private:
  void flush();
  int m_fd = -1;
  std::string m_buf;
};

// The JSON text of a packed embedding in `dialect` with element separator `sep`.
std::string format_vector(std::span<const double> v, JsonDialect dialect, std::string_view sep);

}  // namespace lstore
