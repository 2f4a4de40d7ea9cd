// The streaming read of a store file (stream_file): it hands over exactly the
// collections and entries that outline_file finds, through any window size,
// and fails on the same bytes with the same error.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <random>
#include <vector>

#include "core/outline.hpp"
#include "core/radix_sort.hpp"
#include "corpus.hpp"
#include "lstore/error.hpp"
#include "outline_describe.hpp"
#include "temp_dir.hpp"

using namespace lstore;
using test_support::describe;

namespace {

// Rebuilds an Outline from the visitor's calls, so that describe() compares
// it with outline_file's; the decoded keys are checked against the outline's.
struct Rebuild : OutlineVisitor {
  Outline out;
  std::vector<std::optional<Container>> children;
  std::vector<std::vector<std::string>> keys;  // decoded keys, per collection
  std::vector<std::vector<std::string>> raws;  // raw key token + value, per collection
  void section(std::string_view, std::string_view, bool container, bool is_array, std::string_view) override {
    children.emplace_back();
    keys.emplace_back();
    raws.emplace_back();
    if (container) {
      children.back().emplace();
      children.back()->is_array = is_array;
    }
  }
  void entry(const StreamEntry& e) override {
    REQUIRE(children.back());
    CHECK(e.index == children.back()->members.size());
    Member m;
    if (e.escaped) m.name = std::string(e.key);
    m.escaped = e.escaped;
    m.key = {e.key_offset, e.key_offset + e.raw_key.size()};
    m.value = {e.offset, e.offset + e.raw.size()};
    m.elements = e.elements;
    children.back()->members.push_back(m);
    keys.back().emplace_back(e.key);
    raws.back().push_back(std::string(e.raw_key) + "=" + std::string(e.raw));
  }
  void section_end(const Span& value) override { children.back()->span = value; }
};

// describe() of the streamed file, or its error; `keys` gets the decoded keys.
std::string streamed(const std::string& text, std::size_t window, std::string* raw = nullptr) {
  TempFile f(text);
  Rebuild r;
  try {
    r.out = stream_file(f.fd, text.size(), r, {}, window);
  } catch (const ParseError& e) {
    return "error " + std::to_string(e.offset()) + " " + e.what();
  }
  REQUIRE(r.children.size() == r.out.root.members.size());
  r.out.children = r.children;
  if (raw)
    for (std::size_t c = 0; c < r.raws.size(); ++c)
      for (std::size_t i = 0; i < r.raws[c].size(); ++i) *raw += r.keys[c][i] + "|" + r.raws[c][i] + "\n";
  return describe(r.out);
}

// The same from outline_file (the loaded path): keys decoded, raws cut out of the text.
std::string outlined(const std::string& text, std::size_t window, std::string* raw = nullptr) {
  TempFile f(text);
  Outline o;
  try {
    o = outline_file(f.fd, text.size(), 2, {}, window);
  } catch (const ParseError& e) {
    return "error " + std::to_string(e.offset()) + " " + e.what();
  }
  // The outline decodes the names of the root's members and of escaped keys
  // only; the stream's root outline has the same.
  if (raw)
    for (const auto& c : o.children)
      if (c)
        for (const Member& m : c->members)
          *raw += std::string(o.keys.begin() + static_cast<std::ptrdiff_t>(m.name_at.begin),
                              o.keys.begin() + static_cast<std::ptrdiff_t>(m.name_at.end)) +
                  "|" + std::string(m.key.in(text)) + "=" + std::string(m.value.in(text)) + "\n";
  return describe(o);
}

}  // namespace

TEST_CASE("stream: every corpus file streams as it outlines, through tiny windows too") {
  if (!corpus::available()) {
    MESSAGE("corpus not found: skipped");
    return;
  }
  std::vector<std::filesystem::path> dirs = corpus::store_dirs();
  dirs.push_back(std::filesystem::path(LSTORE_SOURCE_DIR) / "testdata" / "sample");
  std::size_t files = 0;
  for (const auto& dir : dirs)
    for (const auto& f : std::filesystem::directory_iterator(dir)) {
      if (f.path().extension() != ".json") continue;
      const std::string text = corpus::slurp(f.path());
      CAPTURE(f.path().string());
      std::string want_raw, got_raw;
      const std::string want = outlined(text, std::size_t{1} << 20, &want_raw);
      CHECK(streamed(text, std::size_t{1} << 20, &got_raw) == want);
      CHECK(got_raw == want_raw);
      if (text.size() < 200000)
        for (std::size_t w : {1, 7, 64}) {
          CAPTURE(w);
          CHECK(streamed(text, w) == want);
        }
      ++files;
    }
  CHECK(files > 20);
}

TEST_CASE("stream: the same entries and errors at every window, wherever the file is cut") {
  std::string text =
      "\xEF\xBB\xBF {\"embedding_dict\": {\"a\\\"b\": [0.1, -2.5e-07, 3], \"e\": [], \"long\": [" +
      std::string(200, '1') + ", 2]},\n \"docstore/data\": {\"n\\u00e9\": {\"__data__\": {\"text\": \"x\\\\\\\"}]\", "
      "\"m\": [[1, {\"k\": \"v\"}], \"s\"]}, \"__type__\": \"1\"}, \"n2\": {\"t\": \"" + std::string(300, 'y') +
      "\"}}, \"list\": [1, \"two\", {\"three\": 3}], \"n\": NaN, \"empty\": {}}  ";
  std::string want_raw;
  const std::string want = outlined(text, 4096, &want_raw);
  for (std::size_t w : {1, 2, 3, 5, 7, 16, 17, 31, 64, 100, 4096}) {
    CAPTURE(w);
    std::string raw;
    CHECK(streamed(text, w, &raw) == want);
    CHECK(raw == want_raw);
  }
  for (std::size_t cut = 0; cut < text.size(); cut += 5) {
    std::string part = text.substr(0, cut);
    CAPTURE(cut);
    CHECK(streamed(part, 3) == outlined(part, 3));
  }
}

TEST_CASE("stream: a scalar section hands over its value") {
  struct V : OutlineVisitor {
    std::string seen;
    void section(std::string_view name, std::string_view raw_key, bool container, bool, std::string_view raw) override {
      seen += std::string(name) + "/" + std::string(raw_key) + (container ? "[" : "=" + std::string(raw));
    }
    void entry(const StreamEntry& e) override { seen += std::string(e.key) + ","; }
    void section_end(const Span&) override { seen += "]"; }
  } v;
  stream_object(R"({"a\u00e9": "x\"y", "c": {"k": 1, "k": 2}, "l": [3]})", v);
  CHECK(v.seen == "a\xc3\xa9/\"a\\u00e9\"=\"x\\\"y\"c/\"c\"[k,k,]l/\"l\"[,]");
}

TEST_CASE("radix_sort: the order std::sort gives, repeats and every size kept") {
  std::mt19937_64 rng(3);
  for (std::size_t n : {0, 1, 4095, 4096, 4097, 100000, 300001}) {
    std::vector<std::uint64_t> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = i % 7 == 3 && i ? v[i - 1] : (i % 5 ? rng() : rng() >> (i % 64));
    std::vector<std::uint64_t> want = v;
    std::sort(want.begin(), want.end());
    radix_sort(v);
    CAPTURE(n);
    CHECK(v == want);
  }
}
