// The index store read in windows (stream_index_store): each struct's node
// count equals count_index_struct()'s over the whole file, its sample reads
// as the same structs cut down to their first node, and anything it does not
// follow is handed back (nullopt) for the loaded path to read.
#include <doctest/doctest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "core/stream_index_store.hpp"
#include "ops/validate_index_refs.hpp"
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

// validate's references read in windows (stream_index_refs) against
// visit_vector_struct_refs() over each struct held whole: where the windowed
// reader answers, it tells exactly the pairs the whole read tells; it must
// answer for plain stores, and refuse wherever the whole read refuses.
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

std::optional<Pairs> windowed_refs(const std::string& text, std::size_t window) {
  Pairs got;
  bool ok = stream_index_refs(
      text, [&](std::string_view k, std::string_view v) { got.emplace_back(std::string(k), std::string(v)); }, window);
  if (!ok) return std::nullopt;
  return got;
}

std::optional<Pairs> whole_refs(const std::vector<std::string>& entries) {
  Pairs got;
  for (const std::string& e : entries)
    if (!visit_vector_struct_refs(e, [&](std::string_view k, std::string_view v) {
          got.emplace_back(std::string(k), std::string(v));
        }))
      return std::nullopt;
  return got;
}

std::string store_of(const std::vector<std::string>& entries) {
  std::string text = "{\"index_store/data\": {";
  for (std::size_t i = 0; i < entries.size(); ++i)
    text += (i ? ", \"s" : "\"s") + std::to_string(i) + "\": " + entries[i];
  return text + "}}";
}

// Both reads of a store of these entries, the windowed one in several window
// sizes (1 byte crosses every escape and token); `answers`: the windowed
// read must answer (else it may only refuse).
void same_refs(const std::vector<std::string>& entries, bool answers) {
  const std::string text = store_of(entries);
  CAPTURE(text);
  std::optional<Pairs> whole = whole_refs(entries);
  for (std::size_t window : {std::size_t{1}, std::size_t{7}, std::size_t{1} << 20}) {
    CAPTURE(window);
    std::optional<Pairs> got = windowed_refs(text, window);
    CHECK(got.has_value() == answers);
    if (got) {
      REQUIRE(whole);
      CHECK(*got == *whole);
    }
  }
  TempFile f(text);  // the descriptor's reader too
  Pairs from_fd;
  bool ok = stream_index_refs(f.fd, text.size(), [&](std::string_view k, std::string_view v) {
    from_fd.emplace_back(std::string(k), std::string(v));
  });
  CHECK(ok == answers);
  if (ok) CHECK(from_fd == *whole);
}

std::string raw_entry(const std::string& type, const std::string& inner_json_text) {
  return "{\"__type__\": \"" + type + "\", \"__data__\": " + dump(Json(inner_json_text)) + "}";
}

}  // namespace

TEST_CASE("validate's references stream as visit_vector_struct_refs reads them whole") {
  // Plain stores: answered, with the same pairs.
  same_refs({envelope("vector_store", vector_struct(0))}, true);
  same_refs({envelope("vector_store", vector_struct(1))}, true);
  same_refs({envelope("vector_store", vector_struct(1000))}, true);
  same_refs({envelope("vector_store", vector_struct(3, "a")), envelope("vector_store", vector_struct(5, "b"))}, true);
  same_refs({}, true);
  // Other members around and inside, escapes in other strings, a nodesDict
  // beside nodes_dict (another root name), LlamaIndex's indented layout.
  same_refs({"{\"x\": [1, {\"y\": null}], \"__type__\": \"vector_store\", \"__data__\": " +
             dump(Json(std::string("{\"summary\": \"a \\\"q\\\"\\n\\\\\", \"nodesDict\": {}, \"nodes_dict\": "
                                   "{\"k1\": \"v1\", \"k2\": \"v1\"}, \"deep\": [[[{}]]]}"))) +
             ", \"z\": -1.5e-3}"},
            true);
  same_refs({"{\n  \"__type__\": \"vector_store\",\n  \"__data__\": " +
             dump(Json(std::string("{\n \"nodes_dict\" : { \"a\" : \"b\" } \n}"))) + "\n}"},
            true);

  // Refused by both.
  same_refs({raw_entry("vector_store", "{\"nodes_dict\": {\"x\": \"x\", \"x\": \"y\"}}")}, false);  // a node key twice
  same_refs({raw_entry("vector_store", "{\"nodes_dict\": {\"a\\\"b\": \"x\"}}")}, false);          // an escaped key
  same_refs({raw_entry("vector_store", "{\"nodes_dict\": {\"a\": \"x\\\\y\"}}")}, false);          // an escaped value
  same_refs({raw_entry("vector_store", "{\"nodes_dict\": {\"a\": 1}}")}, false);                   // not a string
  same_refs({raw_entry("vector_store", "{\"nodes_dict\": {\"a\": [\"x\"]}}")}, false);
  same_refs({raw_entry("list", "{\"nodes_dict\": {\"a\": \"x\"}}")}, false);                      // another type
  same_refs({raw_entry("vector_store", "{\"nodesDict\": {\"a\": \"x\"}}")}, false);               // TS name only
  same_refs({raw_entry("vector_store", "{\"index_id\": \"i\"}")}, false);                         // no nodes_dict
  same_refs({raw_entry("vector_store", "{\"nodes_dict\": {}, \"nodes_dict\": {}}")}, false);       // twice
  same_refs({raw_entry("vector_store", "{\"nodes_dict\": []}")}, false);                          // an array
  same_refs({raw_entry("vector_store", "{\"nodes_dict\": {}, \"x\": 1, \"x\": 2}")}, false);       // a root name twice
  same_refs({raw_entry("vector_store", "{\"nodes_dict\": {\"a\": \"x\",}}")}, false);             // a syntax error inside
  same_refs({raw_entry("vector_store", "{\"nodes_dict\": {}} x")}, false);
  same_refs({raw_entry("vector_store", "[1]")}, false);
  same_refs({"{\"__type__\": \"vector_store\", \"__type__\": \"vector_store\", \"__data__\": \"{\\\"nodes_dict\\\": {}}\"}"},
            false);  // an envelope name twice
  same_refs({"{\"__type__\": \"vector_store\"}"}, false);                                          // no struct
  same_refs({"{\"__type__\": \"vector_store\", \"__data__\": {\"nodes_dict\": {}}}"}, false);     // not a string
  same_refs({"{\"__type__\": \"vector_\\u0073tore\", \"__data__\": \"{\\\"nodes_dict\\\": {}}\"}"}, false);
  same_refs({"[1]"}, false);

  // Refused here though the whole read answers: left to the loaded path.
  same_refs({"{\"__data__\": \"{\\\"nodes_dict\\\": {}}\", \"__type__\": \"vector_store\"}"}, false);  // type after
  same_refs({raw_entry("vector_store", "{\"summary\": \"caf\\u00e9\", \"nodes_dict\": {}}")}, false);   // \u escape
  same_refs({raw_entry("vector_store", "{\"summary\": \"caf\xc3\xa9\", \"nodes_dict\": {}}")}, false);  // UTF-8
  same_refs({raw_entry("vector_store", "{\"nodes_dict\": {\"" + std::string(300, 'k') + "\": \"v\"}}")}, false);
}

TEST_CASE("validate's references: a file the streamed validate does not follow is refused") {
  const std::string ok = envelope("vector_store", vector_struct(3, "a"));
  for (const std::string& text : std::vector<std::string>{
           "{\"index_store/data\": {\"a\": " + ok + "}, \"other\": {}}",   // another container
           "{\"index_store/data\": [" + ok + "]}",                         // entries without keys
           "{\"index_store/data\": {\"a\": " + ok + "}, \"index_store/data\": {}}",
           "{\"index_store/data\": {\"a\": " + ok + "}} x",
           "{\"index_store/data\": {\"a\": " + ok + "}",
       }) {
    CAPTURE(text);
    CHECK_FALSE(windowed_refs(text, 1 << 20));
  }
  // A scalar root member is fine (read as JSON).
  CHECK(windowed_refs("{\"index_store/data\": {\"a\": " + ok + "}, \"v\": 1}", 1 << 20));
}
