// JsonDoc's editors and verify() (src/core/jsondoc.cpp): duplicated keys are
// edited as before (put changes the first, erase removes the first,
// erase_all every one), and a large document checked in two halves still
// reports its first bad entry; values a precheck passed are not checked again.
#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

#include "lstore/error.hpp"
#include "lstore/json.hpp"
#include "lstore/jsondoc.hpp"

using namespace lstore;

TEST_CASE("JsonDoc: put, erase and erase_all with a duplicated key") {
  std::string t = R"({"c": {"a": 1, "b": 2, "a": 3, "d": 4}})";
  JsonDoc d = JsonDoc::read("x.json", Buffer::own(t), JsonDialect::Python);
  Section* c = d.section("c");
  REQUIRE(c);
  CHECK(c->find("a")->raw == "3");  // the last one wins, as in json.load
  d.put_raw(*c, "a", "10");          // the first place is changed
  CHECK(d.serialize() == R"({"c": {"a": 10, "b": 2, "a": 3, "d": 4}})");
  CHECK(d.erase(*c, "a"));  // the first one goes
  CHECK(d.serialize() == R"({"c": {"b": 2, "a": 3, "d": 4}})");
  d.put_raw(*c, "e", "5");
  d.put_raw(*c, "a", "6");
  CHECK(d.serialize() == R"({"c": {"b": 2, "a": 6, "d": 4, "e": 5}})");

  JsonDoc e = JsonDoc::read("x.json", Buffer::own(t), JsonDialect::Python);
  Section* ec = e.section("c");
  CHECK(e.erase_all(*ec, "a") == 2);
  CHECK(e.erase_all(*ec, "a") == 0);
  CHECK(e.erase_all(*ec, "zz") == 0);
  CHECK(e.serialize() == R"({"c": {"b": 2, "d": 4}})");
  CHECK(ec->find("a") == nullptr);
  CHECK(ec->find("d")->raw == "4");
}

TEST_CASE("JsonDoc: verify of a large document names its first bad entry") {
  // About 70 MB: checked in two halves at once.
  const std::string row = "[" + std::string(4000, '1') + "]";
  auto make = [&](int bad1, int bad2) {
    std::string t = "{\"embedding_dict\": {";
    for (int i = 0; i < 17000; ++i) {
      if (i) t += ", ";
      t += "\"k" + std::to_string(i) + "\": ";
      t += i == bad1 || i == bad2 ? "[" + std::string(3999, '1') + "x]" : row;
    }
    return t + "}}";
  };
  JsonDoc good = JsonDoc::read("v.json", Buffer::own(make(-1, -1)), JsonDialect::Python);
  CHECK_NOTHROW(good.verify());
  for (auto [a, b] : {std::pair{1000, 16000}, std::pair{16000, -1}, std::pair{3, 9000}}) {
    JsonDoc bad = JsonDoc::read("v.json", Buffer::own(make(a, b)), JsonDialect::Python);
    try {
      bad.verify();
      FAIL("no throw");
    } catch (const Error& e) {
      CHECK(std::string(e.place()).find("embedding_dict.k" + std::to_string(a) + " ") == 0);
    }
  }
}

TEST_CASE("JsonDoc: verify after keep_passing checks only what the precheck did not pass") {
  // Values near the end of the text have no padding after them in the
  // buffer: the precheck leaves them to verify(), so the ones tested come first.
  std::string t = R"({"c": {"a": [1, 2], "b": [1, 2x], "s": "ok"}, "tail": [)";
  for (int i = 0; i < 40; ++i) t += (i ? ", " : "") + std::to_string(i);
  t += "]}";
  JsonDoc d = JsonDoc::read("x.json", Buffer::own(t), JsonDialect::Python);
  Section* c = d.section("c");
  REQUIRE(c);
  std::vector<std::string_view> passed = d.values_as_read();
  auto has = [&](std::string_view raw) {
    for (std::string_view p : passed)
      if (p.data() == raw.data() && p.size() == raw.size()) return true;
    return false;
  };
  REQUIRE(has(c->find("b")->raw));
  passed.resize(keep_passing(passed, *d.buffer(), [] { return true; }));
  CHECK(has(c->find("a")->raw));
  CHECK(has(c->find("a")->raw_key));
  CHECK_FALSE(has(c->find("b")->raw));  // refused: verify() checks it again, for its error
  auto place_of_error = [&] {
    try {
      d.verify(&passed);
    } catch (const Error& e) {
      return std::string(e.place());
    }
    return std::string("none");
  };
  CHECK(place_of_error().rfind("c.b at ", 0) == 0);
  CHECK(d.erase(*c, "b"));
  CHECK(place_of_error() == "none");  // what the edit removed is not carried
  d.put_raw(*c, "e", "[1, 2y]");        // what the edit wrote is checked
  CHECK(place_of_error().rfind("c.e at ", 0) == 0);
  CHECK(d.erase(*c, "e"));
  CHECK(place_of_error() == "none");

  // Cancelled: nothing passed, so verify() checks everything itself.
  JsonDoc e = JsonDoc::read("x.json", Buffer::own(t), JsonDialect::Python);
  std::vector<std::string_view> none = e.values_as_read();
  none.resize(keep_passing(none, *e.buffer(), [] { return false; }));
  CHECK(none.empty());
  CHECK_THROWS_AS(e.verify(&none), Error);
}
