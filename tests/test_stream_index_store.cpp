// The index store read in windows (stream_index_store): each struct's node
// count equals count_index_struct()'s over the whole file, its sample reads
// as the same structs cut down to their first node, and anything it does not
// follow is handed back (nullopt) for the loaded path to read.
#include <doctest/doctest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "core/stream_index_store.hpp"
#include "lstore/json.hpp"
#include "lstore/jsondoc.hpp"
#include "lstore/model.hpp"
#include "temp_dir.hpp"

using namespace lstore;

namespace {

std::optional<StreamedFile> streamed(const std::string& text) {
  TempFile f(text);
  return stream_index_store(f.fd, text.size());
}

// A Python index store entry: the struct as a JSON string inside the envelope.
std::string envelope(const std::string& type, const std::string& inner) {
  return "{\"__type__\": " + dump(Json(type)) + ", \"__data__\": " + dump(Json(inner)) + "}";
}

std::string vector_struct(int nodes, const std::string& id = "ix") {
  std::string nd;
  for (int i = 0; i < nodes; ++i) nd += (i ? ", " : "") + std::string("\"n") + std::to_string(i) + "\": \"n" + std::to_string(i) + "\"";
  return "{\"index_id\": \"" + id + "\", \"summary\": null, \"nodes_dict\": {" + nd +
         "}, \"doc_id_dict\": {}, \"embeddings_dict\": {}}";
}

// Every struct of `text` counted both ways; the sample's structs decode.
void same_counts(const std::string& text) {
  std::optional<StreamedFile> s = streamed(text);
  REQUIRE(s);
  JsonDoc whole = JsonDoc::read("index_store.json", Buffer::own(std::string(text)), JsonDialect::Python);
  JsonDoc sample = JsonDoc::read("index_store.json", Buffer::own(std::string(s->sample)), JsonDialect::Python);
  const Section* w = whole.section("index_store/data");
  const Section* c = sample.section("index_store/data");
  REQUIRE(w);
  REQUIRE(c);
  REQUIRE(w->entries.size() == c->entries.size());
  const CollectionCounts& counts = s->counts.at("index_store/data");
  CHECK(counts.entries == w->entries.size());
  for (std::size_t i = 0; i < w->entries.size(); ++i) {
    IndexCount expect = count_index_struct(whole, w->entries[i]);
    IndexCount got = count_index_struct(sample, c->entries[i]);
    CHECK(got.id == expect.id);
    CHECK(got.type == expect.type);
    auto n = counts.struct_nodes.find(expect.id);
    if (n != counts.struct_nodes.end()) got.nodes = n->second;
    CHECK(got.nodes == expect.nodes);
    CHECK(got.nodes <= expect.nodes);
    (void)decode_index_struct(sample, c->entries[i]);  // the cut-down struct still decodes
  }
}

}  // namespace

TEST_CASE("index store structs are counted as they stream by") {
  same_counts("{\"index_store/data\": {\"a\": " + envelope("vector_store", vector_struct(1000, "a")) + "}}");
  same_counts("{\"index_store/data\": {\"a\": " + envelope("vector_store", vector_struct(0, "a")) + "}}");
  same_counts("{\"index_store/data\": {\"a\": " + envelope("vector_store", vector_struct(1, "a")) + "}}");
  same_counts("{\"index_store/data\": {\"a\": " + envelope("vector_store", vector_struct(7, "a")) + ", \"b\": " +
              envelope("vector_store", vector_struct(3, "b")) + "}}");
  // A list struct counts its nodes array; a tree its all_nodes; a keyword
  // table is kept whole (its count needs the DOM).
  same_counts("{\"index_store/data\": {\"l\": " +
              envelope("list", "{\"index_id\": \"l\", \"summary\": null, \"nodes\": [\"x\", \"y\", \"z\"]}") + "}}");
  same_counts("{\"index_store/data\": {\"t\": " +
              envelope("tree", "{\"index_id\": \"t\", \"all_nodes\": {\"0\": \"x\", \"1\": \"y\"}, \"root_nodes\": {\"0\": \"x\"}}") +
              "}}");
  same_counts("{\"index_store/data\": {\"k\": " +
              envelope("keyword_table", "{\"index_id\": \"k\", \"table\": {\"w\": [\"x\", \"y\"]}}") + "}}");
  // A duplicate node key is two entries to count_index_struct too.
  same_counts("{\"index_store/data\": {\"a\": " +
              envelope("vector_store", "{\"index_id\": \"a\", \"nodes_dict\": {\"x\": \"x\", \"x\": \"y\"}}") + "}}");
  // Escapes inside node ids, a nodesDict (TS name), nested values.
  same_counts("{\"index_store/data\": {\"a\": " +
              envelope("vector_store", "{\"index_id\": \"a\", \"nodesDict\": {\"\\u00e9\\\"q\": \"x\", \"y\": [1, {\"z\": null}]}}") +
              "}}");
  // No counted member, or a scalar one.
  same_counts("{\"index_store/data\": {\"a\": " + envelope("vector_store", "{\"index_id\": \"a\"}") + "}}");
  same_counts("{\"index_store/data\": {\"a\": " + envelope("vector_store", "{\"nodes_dict\": 3, \"x\": -1.5e3}") + "}}");
  // __data__ before __type__: kept whole, counted by the sample.
  same_counts("{\"index_store/data\": {\"a\": {\"__data__\": " + dump(Json(vector_struct(4, "a"))) +
              "}}, \"other\": [1, true, false]}");
}

TEST_CASE("the cut-down sample keeps the first node only") {
  std::optional<StreamedFile> s =
      streamed("{\"index_store/data\": {\"a\": " + envelope("vector_store", vector_struct(5000, "a")) + "}}");
  REQUIRE(s);
  CHECK(s->sample.size() < 300);
  CHECK(s->counts.at("index_store/data").struct_nodes.at("a") == 5000);
}

TEST_CASE("get ID: the struct asked for stays whole") {
  const std::string text = "{\"index_store/data\": {\"a\": " + envelope("vector_store", vector_struct(50, "a")) +
                           ", \"b\": " + envelope("vector_store", vector_struct(50, "b")) + "}}";
  const std::string keep = "b";
  TempFile f(text);
  std::optional<StreamedFile> s = stream_index_store(f.fd, text.size(), &keep);
  REQUIRE(s);
  const auto& nodes = s->counts.at("index_store/data").struct_nodes;
  CHECK(nodes.count("a") == 1);
  CHECK(nodes.count("b") == 0);  // not cut: its count is the sample's own
  CHECK(s->sample.find(dump(Json(vector_struct(50, "b")))) != std::string::npos);
  CHECK(s->sample.find(dump(Json(vector_struct(50, "a")))) == std::string::npos);
}

TEST_CASE("what the reader does not follow is handed back") {
  const std::string ok = envelope("vector_store", vector_struct(3, "a"));
  for (const std::string& text : std::vector<std::string>{
           std::string("{\"index_store/data\": {\"a\": ") + ok,                       // cut short
           "{\"index_store/data\": {\"a\": " + ok + "}} x",                             // trailing bytes
           "{\"index_store/data\": {\"a\": " + ok + ", \"a\": " + ok + "}}",           // a struct id twice
           "{\"index_store/data\": {\"\\u0061\": " + ok + "}}",                         // an escaped struct id
           "{\"index_store/data\": {\"a\": " + ok + "}, \"k\": \"caf\xc3\xa9\"}",       // UTF-8 outside ASCII
           "{\"index_store/data\": {\"a\": {\"__type__\": \"vector_store\", \"__data__\": \"{\\\"nodes_dict\\\": {\\\"x\\\": 1,}}\"}}}",  // a trailing comma inside the struct
           "{\"index_store/data\": {\"a\": {\"__type__\": \"vector_store\", \"__data__\": \"{\\\"nodes_dict\\\": {}} {}\"}}}",  // two values in the struct
           "{\"index_store/data\": {\"a\": {\"__type__\": \"vector_store\", \"__data__\": \"[1]\"}}}",  // not a struct object
           "{\"index_store/data\": {\"a\": {\"__type__\": \"vector_store\", \"__data__\": \"{\\\"x\\\": NaN}\"}}}",  // Python's NaN
           "{\"index_store/data\": {\"a\": {\"__data__\": \"{}\", \"__type__\": \"vector_store\", \"__data__\": \"{}\"}}}",
           "{\"index_store/data\": {\"a\": {\"__type__\": \"vector_store\", \"__data__\": \"{}\", \"type\": \"list\"}}}",
           "{\"x\": tru}",
           "[]",
       }) {
    CAPTURE(text);
    CHECK_FALSE(streamed(text));
  }
}
