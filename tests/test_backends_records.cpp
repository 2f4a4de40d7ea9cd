// The records layout (src/backends/records.cpp): how the KV backends keep a
// store. Each file is a layout (the bytes between entries, as compact JSON)
// plus one record per entry: its decoded key, its position, and its value's
// exact text, or the embedding's numbers when printing them gives the same
// text. Records put back together give the files byte for byte.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "backends/records.hpp"
#include "corpus.hpp"
#include "temp_dir.hpp"
#include "lstore/backend.hpp"
#include "lstore/error.hpp"

using namespace lstore;
namespace fs = std::filesystem;

namespace {

void put(const fs::path& p, const std::string& bytes) { std::ofstream(p, std::ios::binary) << bytes; }

struct Rec {
  std::string key;
  bool has_key = true;
  std::uint64_t seq = 0;
  std::string json;
  std::vector<double> vector;
};

struct File {
  FileRecord record;
  std::map<std::string, std::vector<Rec>> collections;
  std::vector<std::string> order;
};

// Keeps everything it is given, as a backend would.
class Recorder : public RecordSink, public RecordSource {
 public:
  void begin(const StoreHeader& h) override { header_ = h; }
  void file(const FileRecord& f) override { files.push_back({f, {}, {}}); }
  void collection(const FileRecord&, const std::string& name) override {
    files.back().order.push_back(name);
    current_ = &files.back().collections[name];
  }
  void entry(const EntryRecord& e) override {
    current_->push_back({std::string(e.key), e.has_key, e.seq, std::string(e.json),
                         std::vector<double>(e.vector.begin(), e.vector.end())});
  }
  void commit() override { committed = true; }

  StoreHeader header() override { return header_; }
  bool next_file(FileRecord& f) override {
    if (next_ >= files.size()) return false;
    f = files[next_++].record;
    return true;
  }
  void entries(const FileRecord& f, const std::string& collection,
               const std::function<void(const EntryRecord&)>& fn) override {
    for (const File& file : files)
      if (file.record.name == f.name)
        for (const Rec& r : file.collections.at(collection)) {
          EntryRecord e;
          e.key = r.key;
          e.has_key = r.has_key;
          e.seq = r.seq;
          if (r.vector.empty()) e.json = r.json;
          else e.vector = r.vector;
          fn(e);
        }
  }

  const File& named(const std::string& name) const {
    for (const File& f : files)
      if (f.record.name == name) return f;
    throw std::runtime_error("no file " + name);
  }

  std::vector<File> files;
  bool committed = false;

 private:
  StoreHeader header_;
  std::vector<Rec>* current_ = nullptr;
  std::size_t next_ = 0;
};

Store load(const fs::path& p) { return make_directory_backend(p.string())->load(); }

std::map<std::string, std::string> bytes_of(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out[e.path().filename().string()] = corpus::slurp(e.path());
  return out;
}

// The store's records put back together and written out: the files' bytes.
std::map<std::string, std::string> round_trip(const Store& store, Recorder& rec, const fs::path& out) {
  write_records(store, rec);
  Store back = assemble_store(rec, "records");
  make_directory_backend(out.string())->save(back, {});
  return bytes_of(out);
}

}  // namespace

TEST_CASE("records: a vector store's layout and entries") {
  TempDir dir("records-vectors"), out("records-vectors-out");
  const std::string text =
      R"json({"embedding_dict": {"a": [0.5, -0.25], "b": [1, 2], "c": [NaN, 1.0], "d": [0.5,-0.25]}, "text_id_to_ref_doc_id": {"a": "r"}, "metadata_dict": {}})json";
  put(dir.path / "default__vector_store.json", text);
  Recorder rec;
  auto files = round_trip(load(dir.path), rec, out.path);
  CHECK(rec.committed);
  CHECK(files["default__vector_store.json"] == text);

  const File& f = rec.named("default__vector_store.json");
  CHECK(f.record.kind == FileKind::VectorStore);
  CHECK(f.record.layout ==
        R"json({"dialect":"python","indent":-1,"prefix":"","suffix":"","close":"","sections":[{"lead":"","key":"\"embedding_dict\"","kv":": ","collection":"embedding_dict","array":false,"open":"","item":", ","ekv":": ","close":"","vectors":", "},{"lead":", ","key":"\"text_id_to_ref_doc_id\"","kv":": ","collection":"text_id_to_ref_doc_id","array":false,"open":"","item":", ","ekv":": ","close":""},{"lead":", ","key":"\"metadata_dict\"","kv":": ","collection":"metadata_dict","array":false,"empty":""}]})json");
  CHECK(f.order == std::vector<std::string>{"embedding_dict", "text_id_to_ref_doc_id", "metadata_dict"});
  const auto& emb = f.collections.at("embedding_dict");
  REQUIRE(emb.size() == 4);
  // Packed: printing 0.5 and -0.25 as Python does gives the text back.
  CHECK(emb[0].key == "a");
  CHECK(emb[0].seq == 0);
  CHECK(emb[0].json.empty());
  CHECK(emb[0].vector == std::vector<double>{0.5, -0.25});
  // Kept as text: ints (Python prints 1.0), NaN, and spacing the file's writer does not use.
  CHECK(emb[1].json == "[1, 2]");
  CHECK(emb[1].vector.empty());
  CHECK(emb[2].json == "[NaN, 1.0]");
  CHECK(emb[3].json == "[0.5,-0.25]");
  CHECK(emb[3].seq == 3);
  CHECK(f.collections.at("text_id_to_ref_doc_id").at(0).json == R"json("r")json");
  CHECK(f.collections.at("metadata_dict").empty());
}

TEST_CASE("records: keys are decoded; a key not as the writer prints it is kept in the layout") {
  TempDir dir("records-keys"), out("records-keys-out");
  // json.dumps escapes é (\u00e9); a raw é and an escaped / are not what it writes.
  const std::string text =
      "{\"embedding_dict\": {\"caf\\u00e9\": [0.5], \"caf\xc3\xa9 2\": [0.5], \"a\\/b\": [0.5], \"tab\\t\": [0.5]}, "
      "\"text_id_to_ref_doc_id\": {}, \"metadata_dict\": {}}";
  put(dir.path / "default__vector_store.json", text);
  Recorder rec;
  auto files = round_trip(load(dir.path), rec, out.path);
  CHECK(files["default__vector_store.json"] == text);
  const File& f = rec.named("default__vector_store.json");
  const auto& emb = f.collections.at("embedding_dict");
  REQUIRE(emb.size() == 4);
  CHECK(emb[0].key == "caf\xc3\xa9");
  CHECK(emb[1].key == "caf\xc3\xa9 2");
  CHECK(emb[2].key == "a/b");
  CHECK(emb[3].key == "tab\t");
  // Only the keys json.dumps would print otherwise are in the layout's "except".
  CHECK(f.record.layout.find(R"json("except":[{"seq":1,"key":"\"café 2\""},{"seq":2,"key":"\"a\\/b\""}])json") !=
        std::string::npos);
}

TEST_CASE("records: the TypeScript dialect packs JavaScript's number form") {
  TempDir dir("records-ts"), out("records-ts-out");
  put(dir.path / "doc_store.json", R"json({"docstore/data":{},"docstore/metadata":{},"docstore/ref_doc_info":{}})json");
  put(dir.path / "index_store.json", R"json({"docstore/data":{}})json");
  const std::string vectors = R"json({"embeddingDict":{"a":[1,0.00001,-3e-7],"b":[1.0]},"textIdToRefDocId":{},"metadataDict":{}})json";
  put(dir.path / "vector_store.json", vectors);
  Recorder rec;
  auto files = round_trip(load(dir.path), rec, out.path);
  CHECK(files["vector_store.json"] == vectors);
  const auto& emb = rec.named("vector_store.json").collections.at("embeddingDict");
  REQUIRE(emb.size() == 2);
  CHECK(emb[0].vector == std::vector<double>{1, 0.00001, -3e-7});
  CHECK(emb[1].json == "[1.0]");  // JSON.stringify writes 1
}

TEST_CASE("records: a key that is not UTF-8 stops the write with the file and the place") {
  TempDir dir("records-utf8");
  put(dir.path / "docstore.json", R"json({"docstore/data": {}, "docstore/metadata": {}})json");
  put(dir.path / "index_store.json", R"json({"index_store/data": {}})json");
  // A Latin-1 key: json.load refuses the file (UnicodeDecodeError); no
  // record is made of it, and the sink is never committed.
  put(dir.path / "default__vector_store.json",
      "{\"embedding_dict\": {\"k\xe9\": [0.5]}, \"text_id_to_ref_doc_id\": {}, \"metadata_dict\": {}}");
  Recorder rec;
  std::string what;
  try {
    write_records(load(dir.path), rec);
  } catch (const Error& e) {
    what = e.where() + ": " + e.what() + " (" + e.place() + ")";
  }
  CHECK(what.find("default__vector_store.json: invalid UTF-8") != std::string::npos);
  CHECK(what.find("byte 22") != std::string::npos);
  CHECK(!rec.committed);
}

TEST_CASE("records: default_layout is what SimpleKVStore.persist writes, and lists its collections") {
  const std::string layout = default_layout({"docstore/data", "docstore/metadata"}, Dialect::Python);
  CHECK(layout_collections(layout) == std::vector<std::string>{"docstore/data", "docstore/metadata"});
  Recorder rec;
  FileRecord f;
  f.name = "docstore.json";
  f.kind = FileKind::DocStore;
  f.layout = layout;
  rec.files.push_back({f, {}, {"docstore/data", "docstore/metadata"}});
  rec.files.back().collections["docstore/data"] = {{"n\xc3\xa9", true, kNoSeq, R"json({"a": 1})json", {}}};
  rec.files.back().collections["docstore/metadata"] = {};
  Store s = assemble_store(rec, "records");
  REQUIRE(s.docstore);
  CHECK(s.docstore->serialize() == R"json({"docstore/data": {"n\u00e9": {"a": 1}}, "docstore/metadata": {}})json");
}

TEST_CASE("records: testdata and corpus stores come back byte for byte") {
  std::vector<fs::path> stores = {fs::path(LSTORE_SOURCE_DIR) / "testdata" / "sample",
                                  fs::path(LSTORE_SOURCE_DIR) / "testdata" / "pretty",
                                  fs::path(LSTORE_SOURCE_DIR) / "testdata" / "ts-basic"};
  if (corpus::available())
    for (const char* c : {"llamaindex-0.12/vector/persist", "llamaindex-0.12/nan/persist", "llamaindex-0.10/multi/persist",
                          "llamaindex-ts/unicode-metadata"})
      stores.push_back(corpus::root() / c);
  int n = 0;
  for (const fs::path& src : stores) {
    CAPTURE(src.string());
    TempDir out("records-corpus-" + std::to_string(n++));
    Recorder rec;
    auto files = round_trip(load(src), rec, out.path);
    for (const auto& [name, bytes] : files)
      if (fs::exists(src / name)) CHECK_MESSAGE(bytes == corpus::slurp(src / name), name);
  }
}
