// The structural outline and JsonDoc's byte-faithful re-composition.
#include <doctest/doctest.h>

#include "lstore/error.hpp"
#include "lstore/jsondoc.hpp"
#include "core/outline.hpp"
#include "outline_describe.hpp"

#include <unistd.h>

#include <cstdlib>

using namespace lstore;
using test_support::describe;

TEST_CASE("outline finds collections and entries without parsing them") {
  std::string t = R"({"c1": {"a": [1, 2, 3], "b\u00e9": {"x": "}\"]"}}, "c2": [], "n": 3})";
  Outline o = outline_object(t);
  REQUIRE(o.root.members.size() == 3);
  REQUIRE(o.children[0]);
  CHECK(o.children[0]->members.size() == 2);
  CHECK(decode_key(t, o.children[0]->members[1].key) == "b\xc3\xa9");
  CHECK(o.children[0]->members[1].value.in(t) == R"({"x": "}\"]"})");
  CHECK(count_array_elements(t, o.children[0]->members[0].value) == 3);
  CHECK(o.children[1]->is_array);
  CHECK_FALSE(o.children[2]);
}

TEST_CASE("a truncated file names the collection and the complete entries") {
  std::string t = R"({"docstore/data": {"n1": {"t": "x"}, "n2": {"t": "y"}, "n3": {"t": "trunc)";
  try {
    outline_object(t);
    FAIL("no throw");
  } catch (const ParseError& e) {
    std::string what = e.what();
    CHECK(what.find("unexpected end of file") != std::string::npos);
    CHECK(what.find("docstore/data") != std::string::npos);
    CHECK(what.find("2 complete entries") != std::string::npos);
  }
  CHECK_THROWS_AS(outline_object("[1]"), ParseError);
  CHECK_THROWS_AS(outline_object(""), ParseError);
  CHECK_THROWS_AS(outline_object("{\"a\": {\"b\": 1}} trailing"), ParseError);
  CHECK_THROWS_AS(outline_object("{\"a\": [1, 2}"), ParseError);
  CHECK_THROWS_AS(outline_object("{\"a\" 1}"), ParseError);
}

TEST_CASE("deep nesting is skipped without recursion") {
  std::string deep = "{\"a\": {\"b\": " + std::string(50000, '[') + std::string(50000, ']') + "}}";
  Outline o = outline_object(deep);
  CHECK(o.children[0]->members.size() == 1);
}

TEST_CASE("JsonDoc: unchanged is byte-identical, edits keep the file's layout") {
  std::string t = R"({"docstore/data": {"a": {"x": 1}, "b": {"x": 2}}, "docstore/metadata": {}})";
  JsonDoc d = JsonDoc::read("docstore.json", Buffer::own(t), JsonDialect::Python);
  CHECK(d.serialize() == t);
  Section* data = d.section("docstore/data");
  REQUIRE(data);
  CHECK(data->find("b")->raw == R"({"x": 2})");
  data->dirty = true;  // a forced re-compose gives the same bytes
  CHECK(d.serialize() == t);
  d.erase(*data, "a");
  d.put(*d.section("docstore/metadata"), "b", parse(R"({"doc_hash": "h\u00e9"})"));
  CHECK(d.serialize() == R"({"docstore/data": {"b": {"x": 2}}, "docstore/metadata": {"b": {"doc_hash": "h\u00e9"}}})");
}

TEST_CASE("JsonDoc: pretty-printed files stay pretty") {
  std::string t = "{\n    \"c\": {\n        \"k1\": {\n            \"v\": 1\n        }\n    }\n}";
  JsonDoc d = JsonDoc::read("x.json", Buffer::own(t), JsonDialect::Python);
  d.put(*d.section("c"), "k2", parse(R"({"v": [2]})"));
  CHECK(d.serialize() ==
        "{\n    \"c\": {\n        \"k1\": {\n            \"v\": 1\n        },\n        \"k2\": {\n            \"v\": [\n"
        "                2\n            ]\n        }\n    }\n}");
}

TEST_CASE("JsonDoc: a broken file is one Error naming file and line:column") {
  try {
    JsonDoc::read("docstore.json", Buffer::own("{\"docstore/data\": {\n\"a\": {}, \"b\": "), JsonDialect::Python);
    FAIL("no throw");
  } catch (const Error& e) {
    CHECK(e.where() == "docstore.json");
    CHECK(e.place().find("line 2") != std::string::npos);
  }
}

namespace {

// Writes text to a temp file and outlines it through a window of `window` bytes.
Outline outline_through_file(const std::string& text, std::size_t window) {
  char path[] = "/tmp/lstore-outline-XXXXXX";
  int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  ::unlink(path);
  REQUIRE(::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  struct Closer { int fd; ~Closer() { ::close(fd); } } closer{fd};
  return outline_file(fd, text.size(), 2, {}, window);
}


}  // namespace

TEST_CASE("windowed file scan equals the in-memory scan at every window size") {
  std::string text =
      "\xEF\xBB\xBF {\"embedding_dict\": {\"a\\\"b\": [0.1, -2.5e-07, 3], \"e\": [], \"long\": [" +
      std::string(200, '1') + ", 2]},\n \"docstore/data\": {\"n\\u00e9\": {\"__data__\": {\"text\": \"x\\\\\\\"}]\", "
      "\"m\": [[1, {\"k\": \"v\"}], \"s\"]}, \"__type__\": \"1\"}, \"n2\": {\"t\": \"" + std::string(300, 'y') +
      "\"}}, \"list\": [1, \"two\", {\"three\": 3}], \"n\": NaN}  ";
  std::string want = describe(outline_object(text));
  for (std::size_t w : {1, 2, 3, 5, 7, 16, 17, 31, 64, 100, 4096}) {
    CAPTURE(w);
    CHECK(describe(outline_through_file(text, w)) == want);
  }
  // Errors are the same too, wherever the file is cut.
  for (std::size_t cut = 0; cut < text.size(); cut += 7) {
    std::string part = text.substr(0, cut);
    std::string a, b;
    try { outline_object(part); } catch (const ParseError& e) { a = std::to_string(e.offset()) + e.what(); }
    try { outline_through_file(part, 5); } catch (const ParseError& e) { b = std::to_string(e.offset()) + e.what(); }
    CAPTURE(cut);
    if (cut <= text.rfind('}')) CHECK(!a.empty());
    CHECK(a == b);
  }
}
