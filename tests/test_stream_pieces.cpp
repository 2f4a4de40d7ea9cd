// An entry larger than the read window handed over in pieces (outline.hpp's
// takes_pieces), and the JSON check that goes with it (json_check_stream.hpp):
// the pieces concatenated are the entry, for every window, across escapes
// and multi-byte UTF-8; the check in pieces says what it says of the whole.
#include <doctest/doctest.h>

#include <unistd.h>

#include "core/json_check_stream.hpp"
#include "core/outline.hpp"
#include "lstore/error.hpp"
#include "lstore/json.hpp"

using namespace lstore;

namespace {

// Every entry as "lead|raw_key|kv|value" (kv: the bytes between key and value).
struct Recorder : OutlineVisitor {
  bool pieces = false;
  std::vector<std::string> entries;
  std::size_t pieced = 0;  // entries that came in pieces
  std::size_t piece_calls = 0;
  std::string current;
  std::size_t begun_at = 0;

  void section(std::string_view name, std::string_view, bool, bool, std::string_view) override {
    entries.push_back("section " + std::string(name));
  }
  static std::string head(const StreamEntry& e) {
    std::string_view kv = e.raw_key.empty() ? std::string_view()
                                            : std::string_view(e.raw_key.data() + e.raw_key.size(),
                                                               static_cast<std::size_t>(e.raw.data() - (e.raw_key.data() + e.raw_key.size())));
    return std::string(e.lead) + "|" + std::string(e.raw_key) + "|" + std::string(e.key) + "|" + std::string(kv) + "|" +
           std::to_string(e.index) + "@" + std::to_string(e.offset) + "|";
  }
  void entry(const StreamEntry& e) override { entries.push_back(head(e) + std::string(e.raw)); }
  bool takes_pieces() const override { return pieces; }
  void entry_begin(const StreamEntry& e) override {
    CHECK(e.raw.empty());
    current = head(e);
    begun_at = current.size();
  }
  void entry_piece(std::string_view b) override {
    ++piece_calls;
    current += b;
  }
  void entry_end(std::size_t size) override {
    CHECK(current.size() - begun_at == size);
    entries.push_back(current);
    ++pieced;
  }
};

struct TempFile {
  int fd = -1;
  explicit TempFile(const std::string& text) {
    char path[] = "/tmp/lstore-pieces-XXXXXX";
    fd = ::mkstemp(path);
    REQUIRE(fd >= 0);
    ::unlink(path);
    REQUIRE(::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  }
  ~TempFile() { ::close(fd); }
};

std::string streamed(const std::string& text, std::size_t window, bool pieces, Recorder* out = nullptr) {
  TempFile f(text);
  Recorder r;
  r.pieces = pieces;
  try {
    stream_file(f.fd, text.size(), r, {}, window);
  } catch (const ParseError& e) {
    r.entries.push_back("error " + std::to_string(e.offset()) + " " + e.what());
  }
  std::string all;
  for (const std::string& e : r.entries) all += e + "\n";
  if (out) *out = r;
  return all;
}

// A big entry of escapes and multi-byte UTF-8 (é, 😀, a CJK character), an
// escaped key, and a big array element.
std::string sample() {
  std::string big;
  for (int i = 0; i < 40; ++i) big += "id-\\\"" + std::to_string(i) + "\\\\ caf\xc3\xa9 \xf0\x9f\x98\x80 \xe4\xb8\xad \\u00e9 ";
  return "{\"index_store/data\": {\"small\": {\"a\": 1},\n  \"k\\u00e9y\": {\"__type__\": \"vector_store\", \"__data__\": \"" + big +
         "\", \"n\": [1, {\"x\": \"]}\"}]}, \"last\": \"s\"},\n \"list\": [\"" + big + "\", 2], \"n\": 3}";
}

}  // namespace

TEST_CASE("pieces concatenated are the entry, at every window size") {
  const std::string text = sample();
  const std::string whole = streamed(text, 1 << 20, false);
  REQUIRE(whole.find("error") == std::string::npos);
  CHECK(streamed(text, 1 << 20, true) == whole);  // nothing outgrows the window: no pieces
  for (std::size_t w = 1; w <= 300; w += (w < 80 ? 1 : 13)) {
    CAPTURE(w);
    Recorder r;
    CHECK(streamed(text, w, true, &r) == whole);
    CHECK(streamed(text, w, false) == whole);
    if (w < 200) {
      CHECK(r.pieced >= 2);  // the struct and the array element came in pieces
      CHECK(r.piece_calls > r.pieced);
    }
  }
}

TEST_CASE("a file cut inside a pieced entry is the same error as read whole") {
  const std::string text = sample();
  for (std::size_t cut = text.size() / 4; cut < text.size(); cut += 37) {
    CAPTURE(cut);
    std::string part = text.substr(0, cut);
    std::string a = streamed(part, 1 << 20, false);
    std::string b = streamed(part, 16, true);
    CHECK(a.find("error") != std::string::npos);
    CHECK(a.substr(a.find("error")) == b.substr(b.find("error")));
  }
}

namespace {

bool check_whole(std::string_view t) {
  JsonPieceChecker c;
  c.feed(t);
  return c.finish();
}

}  // namespace

TEST_CASE("the piecewise JSON check: the same answer at every split point") {
  const std::vector<std::string> good = {
      R"({"__type__": "vector_store", "__data__": "{\"index_id\": \"a\", \"nodes_dict\": {\"n1\": \"n1\"}}"})",
      "{\"k\\u00e9\": [1, -0.5, 2e10, 3E-2, 0, true, false, null, {}, []], \"s\": \"caf\xc3\xa9 \xf0\x9f\x98\x80\"}",
      R"("\ud83d\ude00 \/ \b\f\n\r\t")", "  -0.0e+1 ", "[[[]], {\"a\": {\"b\": [\"c\"]}}]"};
  const std::vector<std::string> bad = {
      "{\"a\": NaN}", "{\"a\": 1,}", "[1 2]", "{\"a\" 1}", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"",
      "\"\x01\"", "\"\xc3\"", "\"\xff\"", "\"\xe4\xb8\"", "01", "1.", "-", "1e", "tru", "{\"a\": 1} x", "{",
      "\"\\x\"", "[1]]", "", "\"\xed\xa0\x80\""};
  for (const std::string& t : good) {
    CAPTURE(t);
    CHECK(check_whole(t));
    CHECK(accepts_json(t));  // never more than accepts_json
  }
  for (const std::string& t : bad) {
    CAPTURE(t);
    CHECK_FALSE(check_whole(t));
  }
  for (const std::vector<std::string>* set : {&good, &bad})
    for (const std::string& t : *set)
      for (std::size_t i = 0; i <= t.size(); ++i)
        for (std::size_t j = i; j <= t.size(); ++j) {
          JsonPieceChecker c;
          c.feed(std::string_view(t).substr(0, i));
          c.feed(std::string_view(t).substr(i, j - i));
          c.feed(std::string_view(t).substr(j));
          CAPTURE(t);
          CAPTURE(i);
          CAPTURE(j);
          CHECK(c.finish() == check_whole(t));
        }
}
