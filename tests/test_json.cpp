// The JSON reader and the three writers (FORMAT.md §2.2).
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "lstore/error.hpp"
#include "lstore/json.hpp"

using namespace lstore;

namespace {
std::string py(const Json& v) { return dump(v, {JsonDialect::Python}); }
std::string pyd(const Json& v) { return dump(v, {JsonDialect::Pydantic}); }
std::string js(const Json& v) { return dump(v, {JsonDialect::JavaScript}); }
std::string roundtrip(std::string_view text, JsonDialect d = JsonDialect::Python) { return dump(parse(text), {d}); }
}  // namespace

TEST_CASE("Python float repr: shortest digits, exponent iff decpt <= -4 or > 16") {
  CHECK(python_float_repr(1.0) == "1.0");
  CHECK(python_float_repr(-0.0) == "-0.0");
  CHECK(python_float_repr(0.0) == "0.0");
  CHECK(python_float_repr(1e-05) == "1e-05");
  CHECK(python_float_repr(0.0001) == "0.0001");
  CHECK(python_float_repr(2.5e-07) == "2.5e-07");
  CHECK(python_float_repr(1e16) == "1e+16");
  CHECK(python_float_repr(1e15) == "1000000000000000.0");
  CHECK(python_float_repr(123456789012345680.0) == "1.2345678901234568e+17");
  CHECK(python_float_repr(0.1) == "0.1");
  CHECK(python_float_repr(-123.456) == "-123.456");
  CHECK(python_float_repr(5e-324) == "5e-324");
  CHECK(python_float_repr(1.7976931348623157e308) == "1.7976931348623157e+308");
  CHECK(python_float_repr(1e100) == "1e+100");
  CHECK(python_float_repr(0.30000000000000004) == "0.30000000000000004");
}

TEST_CASE("pydantic and JavaScript number forms") {
  CHECK(pydantic_float(1e-05) == "0.00001");
  CHECK(pydantic_float(2.5e-07) == "2.5e-7");
  CHECK(pydantic_float(1e16) == "1e+16");
  CHECK(pydantic_float(1.0) == "1.0");
  CHECK(js_number(1.0) == "1");
  CHECK(js_number(-3e-7) == "-3e-7");
  CHECK(js_number(0.000001) == "0.000001");
  CHECK(js_number(1e21) == "1e+21");
  CHECK(js_number(1e20) == "100000000000000000000");
  CHECK(js_number(std::nan("")) == "NaN");  // was a crash: no exponent to read
  CHECK(js_number(HUGE_VAL) == "Infinity");
  CHECK(js_number(-HUGE_VAL) == "-Infinity");
  CHECK(js_number(12345678901234567890.0) == "12345678901234567000");
  CHECK(js_number(-0.0) == "0");
  CHECK(js(parse("[NaN, Infinity, 1.5]")) == "[null,null,1.5]");
  CHECK(pyd(parse("[NaN, -Infinity]")) == "[null,null]");
}

TEST_CASE("Python string escaping: ensure_ascii, lowercase \\u, surrogate pairs") {
  CHECK(py(Json("a\"b\\c/d")) == R"("a\"b\\c/d")");
  CHECK(py(Json("\n\r\t\b\f")) == R"("\n\r\t\b\f")");
  CHECK(py(Json("\x01\x1f\x7f")) == R"("\u0001\u001f\u007f")");
  CHECK(py(Json("\xc3\xa9")) == R"("\u00e9")");
  CHECK(py(Json("\xf0\x9f\x98\x80")) == R"("\ud83d\ude00")");
  CHECK(py(Json("\xe6\x97\xa5\xe6\x9c\xac")) == R"("\u65e5\u672c")");
}

TEST_CASE("pydantic and JS strings keep UTF-8 raw") {
  CHECK(pyd(Json("\xc3\xa9\x7f\x01")) == "\"\xc3\xa9\x7f\\u0001\"");
  CHECK(js(Json("\xf0\x9f\x98\x80\n")) == "\"\xf0\x9f\x98\x80\\n\"");
}

TEST_CASE("lone surrogates survive a round trip") {
  CHECK(roundtrip(R"("\ud800x")") == R"("\ud800x")");
  CHECK(roundtrip(R"("\udc00")") == R"("\udc00")");
  CHECK(roundtrip(R"("\ud83d\ude00")") == R"("\ud83d\ude00")");
  CHECK(roundtrip(R"({"\udfff": 1})") == R"({"\udfff": 1})");
  CHECK(roundtrip(R"("\ud800")", JsonDialect::JavaScript) == R"("\ud800")");
}

TEST_CASE("what Python's json.load accepts") {
  CHECK(std::isnan(parse("NaN").as_float()));
  CHECK(parse("[Infinity, -Infinity]").as_array()[1].as_float() == -HUGE_VAL);
  CHECK(roundtrip("[NaN, Infinity, -Infinity]") == "[NaN, Infinity, -Infinity]");
  CHECK(roundtrip("123456789012345678901234567890") == "123456789012345678901234567890");
  CHECK(roundtrip("-123456789012345678901234567890") == "-123456789012345678901234567890");
  CHECK(roundtrip("18446744073709551615") == "18446744073709551615");
  CHECK(roundtrip("1e400") == "Infinity");
  CHECK(roundtrip("\xEF\xBB\xBF{\"a\": 1}") == "{\"a\": 1}");
  CHECK(roundtrip(R"({"a": 1, "b": 2, "a": 3})") == R"({"a": 3, "b": 2})");
  CHECK(roundtrip("[1, 2.0, 2.5e-07, -0.0, true, false, null]") == "[1, 2.0, 2.5e-07, -0.0, true, false, null]");
  CHECK(roundtrip("  {\n \"a\" :[ ]}\n") == R"({"a": []})");
}

TEST_CASE("duplicate keys in large objects keep the first position") {
  std::string text = "{";
  for (int i = 0; i < 40; ++i) text += "\"k" + std::to_string(i) + "\": " + std::to_string(i) + ", ";
  text += "\"k3\": \"last\"}";
  Json v = parse(text);
  CHECK(v.as_object().size() == 40);
  CHECK(v.as_object()[3].second.as_string() == "last");
}

TEST_CASE("malformed JSON throws with the offset") {
  CHECK_THROWS_AS(parse(""), ParseError);
  CHECK_THROWS_AS(parse("   "), ParseError);
  CHECK_THROWS_AS(parse("{\"a\": 1"), ParseError);
  CHECK_THROWS_AS(parse("{\"a\": 1} x"), ParseError);
  CHECK_THROWS_AS(parse("[1, 2,]"), ParseError);
  CHECK_THROWS_AS(parse("{\"a\": nul}"), ParseError);
  CHECK_THROWS_AS(parse("\"\\x\""), ParseError);
  CHECK_THROWS_AS(parse("\"\xff\""), ParseError);  // invalid UTF-8, as Python's decode refuses
  try {
    parse("{\"a\": [1, 2}");
    FAIL("no throw");
  } catch (const ParseError& e) {
    CHECK(e.offset() <= 12);
  }
}

TEST_CASE("a number json.load cuts short is placed and worded as json.load does") {
  // Python's scanner takes a fraction or an exponent only with its digits:
  // "1." is the number 1 and a stray '.', where a delimiter was expected.
  // (json.loads's msg and pos for each text.)
  struct Case {
    const char* text;
    const char* msg;
    std::size_t pos;
  };
  for (const Case& c : {Case{"[1.]", "Expecting ',' delimiter", 2}, Case{"[1e]", "Expecting ',' delimiter", 2},
                        Case{"[1e+]", "Expecting ',' delimiter", 2}, Case{"[1.e5]", "Expecting ',' delimiter", 2},
                        Case{"[01]", "Expecting ',' delimiter", 2}, Case{"{\"a\": 1.}", "Expecting ',' delimiter", 7},
                        Case{"1.", "Extra data", 1}, Case{"[-]", "Expecting value", 1},
                        Case{"[1.5e]", "Expecting ',' delimiter", 4}, Case{"[-0.]", "Expecting ',' delimiter", 3}}) {
    CAPTURE(c.text);
    try {
      parse(c.text);
      FAIL("no throw");
    } catch (const ParseError& e) {
      CHECK(e.offset() == c.pos);
      CHECK(std::string(e.what()).find(c.msg) != std::string::npos);
    }
  }
}

TEST_CASE("indented output matches json.dumps(indent=4)") {
  Json v = parse(R"({"a": [1, {}], "b": {"c": null}})");
  CHECK(dump(v, {JsonDialect::Python, 4, 0}) ==
        "{\n    \"a\": [\n        1,\n        {}\n    ],\n    \"b\": {\n        \"c\": null\n    }\n}");
}

TEST_CASE("FORMAT.md Appendix A: 0.12.35 docstore.json re-serialises byte for byte") {
  const std::string golden =
      R"({"docstore/metadata": {"D1": {"doc_hash": "7145727f16405e278241b0b1946254b15f68ca14a4e4707067da3e125a2fba20"}, "N1": {"doc_hash": "03c2c82cbba59aae92592a892bb27cb1006cd1a76189c7dc8c72f48c56d86172", "ref_doc_id": "D1"}}, "docstore/data": {"N1": {"__data__": {"id_": "N1", "embedding": null, "metadata": {"file_name": "a.txt"}, "excluded_embed_metadata_keys": [], "excluded_llm_metadata_keys": [], "relationships": {"1": {"node_id": "D1", "node_type": "4", "metadata": {"file_name": "a.txt"}, "hash": "7145727f16405e278241b0b1946254b15f68ca14a4e4707067da3e125a2fba20", "class_name": "RelatedNodeInfo"}, "3": {"node_id": "N2", "node_type": null, "metadata": {}, "hash": null, "class_name": "RelatedNodeInfo"}}, "metadata_template": "{key}: {value}", "metadata_separator": "\n", "text": "Hello", "mimetype": "text/plain", "start_char_idx": 0, "end_char_idx": 5, "metadata_seperator": "\n", "text_template": "{metadata_str}\n\n{content}", "class_name": "TextNode"}, "__type__": "1"}}, "docstore/ref_doc_info": {"D1": {"node_ids": ["N1", "N2"], "metadata": {"file_name": "a.txt"}}}})";
  CHECK(roundtrip(golden) == golden);
  const std::string index_store =
      R"({"index_store/data": {"I1": {"__type__": "vector_store", "__data__": "{\"index_id\": \"I1\", \"summary\": null, \"nodes_dict\": {\"N1\": \"N1\", \"N2\": \"N2\"}, \"doc_id_dict\": {}, \"embeddings_dict\": {}}"}}})";
  CHECK(roundtrip(index_store) == index_store);
  // The inner __data__ string is itself Python JSON.
  Json inner = parse(parse(index_store).find("index_store/data")->find("I1")->find("__data__")->as_string());
  CHECK(py(inner) == R"({"index_id": "I1", "summary": null, "nodes_dict": {"N1": "N1", "N2": "N2"}, "doc_id_dict": {}, "embeddings_dict": {}})");
}

TEST_CASE("Json object helpers follow dict semantics") {
  Json o = parse(R"({"a": 1, "b": 2})");
  o.set("a", Json(5));
  o.set("c", Json("x"));
  CHECK(py(o) == R"({"a": 5, "b": 2, "c": "x"})");
  CHECK(o.erase("b"));
  CHECK_FALSE(o.erase("zz"));
  CHECK(py(o) == R"({"a": 5, "c": "x"})");
  CHECK(parse("1") == parse("1.0"));
  CHECK_FALSE(parse("\"1\"") == parse("1"));
}

TEST_CASE("format_float prints what python_float_repr and js_number print") {
  std::mt19937_64 rng(42);
  std::vector<double> values = {1.0, -1.0, 0.5, 1e-5, 1e-4, 0.0001234, 1e16, 1e17, 1.5e16, 123456789012345680.0,
                                1e21, 1e22, 1e-6, 1e-7, 2.5e-7, 5e-324, 1.7976931348623157e308, -0.0, 0.0,
                                0.1, 0.051409173756837845, 100.0, 1234.5};
  std::uniform_real_distribution<double> unit(-1.0, 1.0);
  std::uniform_int_distribution<int> exp(-30, 30);
  for (int i = 0; i < 20000; ++i) values.push_back(unit(rng) * std::pow(10.0, exp(rng)));
  char buf[40];
  for (double v : values) {
    CHECK(std::string(buf, lstore::format_float(buf, v, lstore::JsonDialect::Python)) == lstore::python_float_repr(v));
    CHECK(std::string(buf, lstore::format_float(buf, v, lstore::JsonDialect::JavaScript)) == lstore::js_number(v));
  }
}
