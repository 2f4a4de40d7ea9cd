// The cheap checks of src/core/plain_json.cpp that JsonDoc::verify asks
// before accepts_json: each must say yes only to what json.load accepts
// (checked against accepts_json and against an independent reader of
// Python's number grammar below), and must say yes to plain embeddings, or
// it saves nothing. Every length around the 64-byte blocks is covered.
#include <doctest/doctest.h>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "core/plain_json.hpp"
#include "lstore/error.hpp"
#include "lstore/json.hpp"
#include "lstore/jsondoc.hpp"

using namespace lstore;

namespace {

// Python's json.scanner NUMBER_RE, -?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?,
// matched in full, read byte by byte.
bool is_number(const std::string& s) {
  std::size_t i = 0, n = s.size();
  auto digits = [&] {
    std::size_t b = i;
    while (i < n && s[i] >= '0' && s[i] <= '9') ++i;
    return i > b;
  };
  if (i < n && s[i] == '-') ++i;
  if (i < n && s[i] == '0') ++i;
  else if (!(i < n && s[i] >= '1' && s[i] <= '9' && digits())) return false;
  if (i < n && s[i] == '.') {
    ++i;
    if (!digits()) return false;
  }
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < n && (s[i] == '-' || s[i] == '+')) ++i;
    if (!digits()) return false;
  }
  return i == n;
}

// An array of numbers as json.load reads one: '[', tokens split by commas
// with JSON whitespace around them, ']'.
bool is_number_array(const std::string& s) {
  auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  if (s.size() < 2 || s.front() != '[' || s.back() != ']') return false;
  std::string inside = s.substr(1, s.size() - 2);
  if (inside.find_first_not_of(" \t\n\r") == std::string::npos) return true;
  std::size_t start = 0;
  for (;;) {
    std::size_t comma = inside.find(',', start);
    std::string item = inside.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    std::size_t b = 0, e = item.size();
    while (b < e && ws(item[b])) ++b;
    while (e > b && ws(item[e - 1])) --e;
    if (!is_number(item.substr(b, e - b))) return false;
    if (comma == std::string::npos) return true;
    start = comma + 1;
  }
}

// What the fast check says must be what the reference says, and a yes must
// be accepts_json's yes too (which verify would have asked otherwise).
void agree(const std::string& s) {
  CAPTURE(s);
  bool fast = plain_number_array(s);
  CHECK(fast == is_number_array(s));
  CHECK(plain_number_array_baseline(s) == fast);  // the SSE2 build and the AVX-512 one agree
  if (fast) CHECK(accepts_json(s));
}

std::string random_number(std::mt19937& rng) {
  static const char* forms[] = {"0.%d", "-0.%d", "%d", "-%d", "%d.%de-%d", "%de+%d", "-%d.%dE%d", "0", "-0", "0e%d"};
  std::uniform_int_distribution<int> form(0, 9), value(0, 99999999);
  char buf[96];
  std::snprintf(buf, sizeof buf, forms[form(rng)], value(rng) + 1, value(rng), value(rng) % 400);
  return buf;
}

}  // namespace

TEST_CASE("plain_number_array: every short array over the number alphabet, as json.load reads it") {
  // Arrays of up to 5 bytes over this alphabet: every rule of the grammar
  // (signs, '.', exponents, leading zeros, commas, spaces) is met at every
  // position.
  const std::string alphabet = "01.e-+, 5E";
  std::size_t accepted = 0, total = 0;
  std::string inside;
  for (std::size_t len = 0; len <= 5; ++len) {
    std::vector<std::size_t> at(len, 0);
    for (;;) {
      inside.assign(len, ' ');
      for (std::size_t i = 0; i < len; ++i) inside[i] = alphabet[at[i]];
      std::string s = "[" + inside + "]";
      bool fast = plain_number_array(s);
      if (fast != is_number_array(s)) FAIL_CHECK("disagrees on " << s);
      if (fast != plain_number_array_baseline(s)) FAIL_CHECK("the builds disagree on " << s);
      if (fast && !accepts_json(s)) FAIL_CHECK("accepted what accepts_json refuses: " << s);
      accepted += fast;
      ++total;
      std::size_t k = 0;
      while (k < len && ++at[k] == alphabet.size()) at[k++] = 0;
      if (k == len) break;
    }
  }
  CHECK(total > 100000);
  CHECK(accepted > 1000);  // the yes side is reached, not only the no side
}

TEST_CASE("plain_number_array: embeddings of every length across the 64-byte blocks, and every one-byte fault in them") {
  std::mt19937 rng(20);
  const char* seps[] = {", ", ",", " , ", ",\n  ", "\t,\r\n"};
  for (int size = 0; size < 40; ++size) {
    for (int variant = 0; variant < 8; ++variant) {
      std::string s = variant % 2 ? "[ " : "[";
      for (int i = 0; i < size; ++i) {
        if (i) s += seps[(variant + i) % 5];
        s += random_number(rng);
      }
      s += variant % 4 >= 2 ? "\n]" : "]";
      CAPTURE(s);
      REQUIRE(plain_number_array(s));
      REQUIRE(accepts_json(s));
      // Each byte replaced, removed or doubled: the fast check follows the grammar.
      const std::string repl = "-+.eE0 9,x\"";
      for (std::size_t i = 0; i < s.size(); ++i) {
        agree(s.substr(0, i) + s.substr(i + 1));
        agree(s.substr(0, i) + s[i] + s.substr(i));
        agree(s.substr(0, i) + repl[(i + static_cast<std::size_t>(variant)) % repl.size()] + s.substr(i + 1));
      }
    }
  }
  // Padding: the inside is exactly 62, 63, 64, 65, 127, 128 and 129 bytes.
  for (std::size_t len : {62u, 63u, 64u, 65u, 127u, 128u, 129u}) {
    std::string inside(len, ' ');
    inside[len - 1] = '1';
    agree("[" + inside + "]");
    inside[len - 1] = ',';
    agree("[" + inside + "]");
    inside[len - 1] = '.';
    inside[len - 2] = '1';
    agree("[" + inside + "]");
    inside[0] = '0';
    inside[len - 1] = '5';
    agree("[" + inside + "]");
  }
}

TEST_CASE("plain_number_array: long digit runs and non-numbers are left to the full check") {
  std::string big_int = "[" + std::string(4301, '1') + "]";
  CHECK_FALSE(plain_number_array(big_int));
  CHECK_FALSE(accepts_json(big_int));  // json.load refuses integers of over 4300 digits
  std::string long_float = "[0." + std::string(200, '7') + "]";
  CHECK_FALSE(plain_number_array(long_float));  // valid, but the full check says so
  CHECK(accepts_json(long_float));
  for (const char* s : {"[NaN]", "[Infinity]", "[-Infinity]", "[\"a\"]", "[[1]]", "[true]", "[null]", "[1, {}]", "{}", "[1",
                        "1]", "", "[", "[\xC2\xA0" "1]"})
    CHECK_FALSE(plain_number_array(s));
  CHECK(plain_number_array("[]"));
  CHECK(plain_number_array("[ \t\r\n]"));
  CHECK(plain_number_array("[1E400, -0.0, 0e0, 1.5e-07]"));
}

TEST_CASE("plain_ascii_string: a quoted run of printable ASCII without escapes") {
  CHECK(plain_ascii_string("\"f09e67fb-9435-5d3e-a8c3-0965a4a05cfc\""));
  CHECK(plain_ascii_string("\"\""));
  CHECK(plain_ascii_string("\"a b ~ {}[]\""));
  for (const char* s : {"\"a\\\"b\"", "\"a\\u0041\"", "\"caf\xC3\xA9\"", "\"tab\there\"", "\"del\x7F\"", "\"a\"b\"", "\"a", "a\"", "\"",
                        ""})
    CHECK_FALSE(plain_ascii_string(s));
  CHECK(accepts_json("\"a\\u0041\""));  // the full check still accepts what this one leaves to it
}

TEST_CASE("JsonDoc::verify: a bad number inside an embedding is still found and named") {
  std::string good = R"({"embedding_dict": {"a": [0.1, 0.2, 0.3], "b": [1e-05, -0.5, 0], "c": [0.25, 0.5, 0.75]}})";
  JsonDoc d = JsonDoc::read("v.json", Buffer::own(good), JsonDialect::Python);
  CHECK_NOTHROW(d.verify());
  for (const char* fault : {"1.", "01", "+1", ".5", "1e", "--1", "1.2.3", "1e5e5"}) {
    std::string bad = good;
    bad.replace(bad.find("-0.5"), 4, fault);
    CAPTURE(bad);
    JsonDoc b = JsonDoc::read("v.json", Buffer::own(bad), JsonDialect::Python);
    try {
      b.verify();
      FAIL("verify accepted " << fault);
    } catch (const Error& e) {
      CHECK(std::string(e.place()).find("embedding_dict.b") != std::string::npos);
      CHECK(e.where() == "v.json");
    }
  }
}
