// salvage_json_object (src/ops/salvage.hpp): every cut of a store file gives
// JSON that json.load accepts, keeps only whole entries as their original
// bytes, and keeps every entry that was whole before the cut.
#include <doctest/doctest.h>

#include <string>

#include "ops/salvage.hpp"
#include "lstore/json.hpp"

using namespace lstore;

namespace {
const std::string kFile =
    R"({"docstore/data": {"a": {"__data__": {"text": "x, \"y\" }", "n": 1.25}}, "b": {"__data__": {"e": [0.5, -1e-05]}}}, )"
    R"("docstore/metadata": {"a": {"doc_hash": "h1"}, "b": {"doc_hash": "h2"}}})";
}

TEST_CASE("every truncation of a store file salvages to whole entries") {
  for (std::size_t cut = 1; cut < kFile.size(); ++cut) {
    CAPTURE(cut);
    std::string text = kFile.substr(0, cut);
    auto s = salvage_json_object(text);
    REQUIRE(s.has_value());
    CHECK(accepts_json(s->bytes));
    CHECK(s->bytes.compare(0, s->kept, text, 0, s->kept) == 0);  // a prefix of the original
    Json got = parse(s->bytes);
    Json whole = parse(kFile);
    for (const auto& [coll, entries] : got.as_object())
      for (const auto& [key, value] : entries.as_object()) CHECK(value == *whole.find(coll)->find(key));
  }
}

TEST_CASE("an entry is kept once what follows it shows it whole") {
  // "b" ends at the cut, but a number cut short would look whole too.
  std::string text = R"({"c": {"a": 1, "b": 12)";
  auto s = salvage_json_object(text);
  REQUIRE(s.has_value());
  CHECK(s->bytes == R"({"c": {"a": 1}})");
  CHECK(s->cut_in == "c");
  CHECK(s->entries_kept == 1);
}

TEST_CASE("a damaged entry the file goes on after is dropped alone") {
  auto s = salvage_json_object(std::string(R"({"c": {"a": 1, "b": [1, 2, x], "d": 3}, "e": {"f": 4}})"));
  REQUIRE(s.has_value());
  CHECK(s->bytes == R"({"c": {"a": 1, "d": 3}, "e": {"f": 4}})");
  REQUIRE(s->skipped.size() == 1);
  CHECK(s->skipped[0] == std::pair<std::string, std::string>{"c", "b"});
  // The first entry, the last one, two of them, then a cut where the file ends.
  CHECK(salvage_json_object(std::string(R"({"c": {"a": x, "b": 2}})"))->bytes == R"({"c": {"b": 2}})");
  CHECK(salvage_json_object(std::string(R"({"c": {"a": 1, "b": x}})"))->bytes == R"({"c": {"a": 1}})");
  auto two = salvage_json_object(std::string(R"({"c": {"a": x, "b": 2, "d": [y], "e": 5, "f": 6)"));
  REQUIRE(two.has_value());
  CHECK(two->bytes == R"({"c": {"b": 2, "e": 5}})");
  CHECK(two->skipped.size() == 2);
  CHECK(two->cut_in == "c");
}

TEST_CASE("damage between collections cuts there; a sound file or no root is nothing to salvage") {
  auto s = salvage_json_object(std::string(R"({"c": {"a": 1}, x "d": {"e": 2}})"));
  REQUIRE(s.has_value());
  CHECK(s->bytes == R"({"c": {"a": 1}})");
  CHECK_FALSE(salvage_json_object(kFile).has_value());
  CHECK_FALSE(salvage_json_object("  \"docstore/data\": {").has_value());
  auto trailing = salvage_json_object(std::string(R"({"c": {}} junk)"));
  REQUIRE(trailing.has_value());
  CHECK(trailing->bytes == R"({"c": {}})");
}
