// Conformance over ../shared/corpus: lstore's reading of every real store
// agrees with what LlamaIndex itself reported, and every JSON file is
// re-serialised byte for byte.
#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <regex>
#include <set>

#include "corpus.hpp"
#include "lstore/backend.hpp"
#include "lstore/error.hpp"
#include "core/fileio.hpp"
#include "lstore/summary.hpp"

using namespace lstore;
namespace fs = std::filesystem;
using corpus::slurp;

namespace {

Store load(const fs::path& dir) { return make_directory_backend(dir.string())->load(); }

// Every entry decoded and written again in the file's dialect and layout must
// give the stored bytes: this is what makes edited files byte-faithful.
void check_entries_redump(const JsonDoc& doc, const std::string& label) {
  WriteStyle style{doc.dialect(), doc.indent(), 2};
  for (const Section& s : doc.sections()) {
    if (!s.outlined) {
      WriteStyle top{doc.dialect(), doc.indent(), 1};
      std::string again = dump(doc.decode(s.raw), top);
      CHECK_MESSAGE(again == s.raw, label << " section " << s.name);
      continue;
    }
    for (const Entry& e : s.entries) {
      std::string again = dump(doc.decode(e.raw), style);
      if (again != e.raw) {
        CHECK_MESSAGE(again == e.raw, label << " " << s.name << "." << e.key);
        return;  // one report per file is enough
      }
    }
  }
  // A forced re-compose of every section gives the file back.
  JsonDoc copy = doc;
  for (Section& s : copy.sections()) s.dirty = true;
  CHECK_MESSAGE(copy.serialize() == doc.bytes(), label << ": re-composed file differs");
}

// The goldens hold NaN (the nan case), so they are read with lstore's own parser.
const Json& at(const Json& v, std::string_view key) {
  const Json* m = v.find(key);
  REQUIRE_MESSAGE(m != nullptr, "golden has no key " << key);
  return *m;
}

std::size_t size_of(const Json& v) {
  if (v.is_array()) return v.as_array().size();
  if (v.is_object()) return v.as_object().size();
  return 0;
}

std::size_t distinct_ids(const Json& table) {
  std::set<std::string> ids;
  for (const auto& [k, v] : table.as_object())
    for (const auto& id : v.as_array()) ids.insert(id.as_string());
  return ids.size();
}

}  // namespace

TEST_CASE("corpus: ls counts equal LlamaIndex's own listing.json") {
  if (!corpus::available()) {
    MESSAGE("SKIPPED: no corpus at " << corpus::root() << " (listing conformance)");
    return;
  }
  int cases = 0;
  for (const char* era : {"llamaindex-0.12", "llamaindex-0.10"}) {
    for (const auto& c : fs::directory_iterator(corpus::root() / era)) {
      fs::path listing = c.path() / "expected" / "listing.json";
      if (!fs::exists(listing)) continue;
      ++cases;
      std::string label = std::string(era) + "/" + c.path().filename().string();
      Json want = parse(slurp(listing));
      Store store = load(c.path() / "persist");
      Summary s = summarize(store);
      CAPTURE(label);
      const Json& ds = at(want, "docstore");
      CHECK(s.dialect == "python");
      CHECK(s.nodes == size_of(at(ds, "ids")));
      CHECK(s.ref_docs == size_of(at(ds, "ref_doc_info")));
      // The compact goldens of the big case leave document_hashes empty.
      if (size_of(at(ds, "document_hashes")) > 0) CHECK(s.metadata == size_of(at(ds, "document_hashes")));
      const Json& structs = at(at(want, "index_store"), "structs");
      CHECK(s.indexes.size() == size_of(structs));
      for (const auto& idx : s.indexes) {
        CAPTURE(idx.id);
        const Json& w = at(structs, idx.id);
        CHECK(idx.type == at(w, "type").as_string());
        if (w.find("num_nodes")) CHECK(idx.nodes == static_cast<std::size_t>(at(w, "num_nodes").as_int()));
        else if (w.find("all_nodes")) CHECK(idx.nodes == size_of(at(w, "all_nodes")));
        else if (w.find("table")) CHECK(idx.nodes == distinct_ids(at(w, "table")));
        else if (w.find("node_ids")) CHECK(idx.nodes == size_of(at(w, "node_ids")));
      }
      const Json& vs = at(want, "vector_stores");
      CHECK(s.vector_stores.size() == size_of(vs));
      for (const auto& v : s.vector_stores) {
        CAPTURE(v.ns);
        const Json& w = at(vs, v.ns);
        CHECK(v.vectors == size_of(at(w, "ids")));
        if (size_of(at(w, "dims")) == 0) CHECK_FALSE(v.dim.has_value());
        else CHECK(v.dim == static_cast<std::size_t>(at(w, "dims").as_array()[0].as_int()));
        CHECK_FALSE(v.mixed_dims);
      }
      CHECK(s.graph.subjects == static_cast<std::size_t>(at(at(want, "graph_store"), "num_subjects").as_int()));
      CHECK(s.graph.triplets == size_of(at(at(want, "graph_store"), "triplets")));
      const Json* pg = want.find("property_graph_store");
      if (pg && !pg->is_null()) {
        REQUIRE(s.property_graph);
        CHECK(s.property_graph->nodes == size_of(at(*pg, "nodes")));
        // LlamaIndex's listing reports no relations (its get_triplets() with no
        // filter returns []); the file holds them, so count them from the file.
        Json file = parse(slurp(c.path() / "persist" / "property_graph_store.json"));
        CHECK(s.property_graph->relations == size_of(at(file, "relations")));
        CHECK(s.property_graph->triplets == size_of(at(file, "triplets")));
      } else {
        CHECK_FALSE(s.property_graph);
      }
      for (const auto& p : s.problems) CHECK_MESSAGE(p.severity != Severity::Error, p.message);
    }
  }
  CHECK(cases >= 18);
}

TEST_CASE("corpus: every store file re-serialises byte for byte") {
  if (!corpus::available()) {
    MESSAGE("SKIPPED: no corpus at " << corpus::root() << " (byte identity)");
    return;
  }
  int files = 0;
  for (const fs::path& dir : corpus::store_dirs()) {
    Store store = load(dir);
    std::string label = dir.lexically_relative(corpus::root()).string();
    for (const JsonDoc* d : store.documents()) {
      ++files;
      check_entries_redump(*d, label + "/" + d->name());
    }
  }
  CHECK(files > 150);
}

TEST_CASE("corpus: convert dir -> dir gives identical files") {
  if (!corpus::available()) {
    MESSAGE("SKIPPED: no corpus at " << corpus::root() << " (convert identity)");
    return;
  }
  fs::path tmp = fs::temp_directory_path() / ("lstore-test-" + std::to_string(::getpid()));
  fs::create_directories(tmp);
  int stores = 0;
  for (const fs::path& dir : corpus::store_dirs()) {
    fs::path out = tmp / std::to_string(stores++);
    Store store = load(dir);
    make_directory_backend(out.string())->save(store, {});
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
      if (!e.is_regular_file()) continue;
      fs::path rel = e.path().lexically_relative(dir);
      CAPTURE(dir);
      CAPTURE(rel);
      REQUIRE(fs::exists(out / rel));
      CHECK(slurp(out / rel) == slurp(e.path()));
    }
  }
  fs::remove_all(tmp);
  CHECK(stores > 40);
}

TEST_CASE("corpus: wild stores are read, or diagnosed as INDEX.md describes them") {
  if (!corpus::available()) {
    MESSAGE("SKIPPED: no corpus at " << corpus::root() << " (wild diagnoses)");
    return;
  }
  // What corpus/wild/INDEX.md says is wrong with each odd store.
  const std::map<std::string, std::vector<std::string>> expected = {
      {"0xmakerr__pythiagpt__storage-all_pyth_repos", {"docstore.json is a Git LFS pointer", "vector_store.json is a Git LFS pointer"}},
      {"AbhigaelCarranza__chat_Bluetooth__storage", {"FAISS binary index (IndexFlatIP d=1536 n=115)"}},
      {"calnfynn__KISSKI-RAG-4-IPCC__faiss_index", {"FAISS binary index (IndexFlatL2 d=384 n=336)"}},
      {"solarslurpi__Ask_Lavinia__indices-tree_index", {"FAISS binary index (IndexFlatL2 d=1536 n=0)"}},
      {"AI-Maker-Space__DopenessReport-OnPrem__storage", {"no vector store file"}},
      {"AndhikaFW__saya-suka-laprak__storage--d072cc3", {"info: for-storing-vector-db.txt is empty; LlamaIndex does not open it", "docstore.json is missing"}},
      {"Anxinhe01__OceanFishre__storage", {"docstore.json is missing", "no vector store file"}},
      {"Tachikoma000__pgGPT_discord__storage-vector_storage", {"no vector store file"}},
      {"alainkaiser__langchain-talk__ROOT", {"error: not a LlamaIndex store", "LangChain.js docstore"}},
      {"arvog494__llm_genai_project__src", {"error: not a LlamaIndex store", "networkx node-link graph"}},
      {"run-llama__llama_index__examples-vector_indices", {"save_to_disk() file"}},
      {"ktny__study-llamaindex__storage", {"text_id_to_doc_id", "legacy name"}},
      {"MrDarkness117__GPTProject__storage", {"no metadata_dict", "legacy name"}},
      // A pipeline cache on its own is no persist dir missing its docstore.
      {"junxu-ai__RAG_Codes__pipeline_storage", {"info: llama_cache is an IngestionPipeline cache"}},
      {"run-llama__llama_index__docs-examples-index_structs-knowledge_graph-storage", {"docstore.json is missing"}},
  };
  // The "nodes in docstore" column of INDEX.md's table.
  std::string index = slurp(corpus::root() / "wild" / "INDEX.md");
  std::regex row(R"(^\| `([^`]+)` \|[^|]*\|[^|]*\|[^|]*\|[^|]*\|[^|]*\| ([-0-9]+) \|)");
  std::map<std::string, std::string> nodes_column;
  std::istringstream lines(index);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_search(line, m, row)) nodes_column[m[1]] = m[2];
  }
  CHECK(nodes_column.size() == 36);
  int checked = 0;
  for (const auto& c : fs::directory_iterator(corpus::root() / "wild")) {
    if (!c.is_directory()) continue;
    std::string name = c.path().filename().string();
    CAPTURE(name);
    Store store = load(c.path());
    Summary s = summarize(store);
    std::string all;
    for (const auto& p : s.problems) all += std::string(severity_name(p.severity)) + ": " + p.message + "\n";
    CAPTURE(all);
    auto it = expected.find(name);
    if (it != expected.end()) {
      for (const auto& want : it->second) CHECK(all.find(want) != std::string::npos);
    } else {
      // A healthy store: nothing that stops LlamaIndex from loading it.
      for (const auto& p : s.problems) CHECK_MESSAGE(p.severity != Severity::Error, p.message);
    }
    REQUIRE(nodes_column.count(name));
    std::string n = nodes_column[name];
    CHECK(s.nodes == (n == "-" ? 0 : std::stoul(n)));
    ++checked;
  }
  CHECK(checked == 36);
}
