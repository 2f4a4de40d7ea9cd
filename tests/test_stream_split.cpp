// stream_file_split (ls on two cores) tells a visitor exactly what
// stream_file tells it, joined runs included, through a mapping or pread(),
// and fails with the same error; a file cut short under a mapped scan is an
// error, not SIGBUS.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <string>
#include <thread>

#include "core/mapped_file.hpp"
#include "core/outline.hpp"
#include "lstore/error.hpp"
#include "lstore/jsondoc.hpp"
#include "temp_dir.hpp"

using namespace lstore;

namespace {

// Every call as a line; a tail's lines are added where it is joined.
struct Tail : OutlineVisitor {
  std::string seen;
  void section(std::string_view, std::string_view, bool, bool, std::string_view) override { seen += "?section\n"; }
  void entry(const StreamEntry& e) override {
    seen += std::string(e.raw_key) + "=" + std::string(e.raw) + "/" + std::to_string(e.elements) + "\n";
  }
};

struct Recorder : SplitVisitor {
  std::string seen;
  int joins = 0;
  bool refuse = false;
  void section(std::string_view name, std::string_view, bool container, bool, std::string_view raw) override {
    seen += "section " + std::string(name) + (container ? "" : "=" + std::string(raw)) + "\n";
  }
  void entry(const StreamEntry& e) override {
    seen += std::string(e.raw_key) + "=" + std::string(e.raw) + "/" + std::to_string(e.elements) + "\n";
  }
  void section_end(const Span& v) override { seen += "end " + std::to_string(v.begin) + "-" + std::to_string(v.end) + "\n"; }
  std::unique_ptr<OutlineVisitor> tail() const override { return std::make_unique<Tail>(); }
  bool join(OutlineVisitor& t, std::size_t entries) override {
    if (refuse) return false;
    auto& tail = static_cast<Tail&>(t);
    CHECK(static_cast<std::size_t>(std::count(tail.seen.begin(), tail.seen.end(), '\n')) == entries);
    seen += tail.seen;
    ++joins;
    return true;
  }
};

std::string run(const std::string& text, bool split, std::size_t window, int* joins = nullptr, bool refuse = false) {
  TempFile f(text);
  Recorder r;
  r.refuse = refuse;
  try {
    Outline o = split ? stream_file_split(f.fd, text.size(), r, window, 0) : stream_file(f.fd, text.size(), r, {}, window);
    r.seen += "root " + std::to_string(o.root.members.size());
  } catch (const ParseError& e) {
    r.seen += "error " + std::to_string(e.offset()) + " " + e.what();
  }
  if (joins) *joins = r.joins;
  return r.seen;
}

// A vector store's shape: a long embedding_dict (keys in the middle that
// look like members inside strings and nested objects), then small ones.
std::string store_text(int n, const std::string& odd = "") {
  std::string t = "{\"embedding_dict\": {";
  for (int i = 0; i < n; ++i) {
    if (i) t += ", ";
    t += "\"id-" + std::to_string(i) + "\": ";
    if (i == n / 2 && !odd.empty()) t += odd;
    else if (i % 7 == 3) t += "{\"text\": \"x], \\\"k\\\": [1, \\\"y\\\": {\", \"m\": {\"a\": [1, 2], \"b\": \"q, \"}}";
    else t += "[0.5, -1.25e-07, " + std::to_string(i) + "]";
  }
  t += "}, \"metadata_dict\": {\"id-0\": {\"a\": 1}}, \"n\": 3, \"list\": [1, \"two\"]}";
  return t;
}

}  // namespace

TEST_CASE("split: the same calls as one scan, joined in one run, mapped or read") {
  const bool two_cores = std::thread::hardware_concurrency() > 1;
  split_waits_for_tests(true);  // a small file is scanned before the other thread starts
  for (int mode : {1, -1}) {
    MappedFile::force_for_tests(mode);
    CAPTURE(mode);
    for (int n : {40, 400, 3000}) {
      const std::string text = store_text(n);
      for (std::size_t w : {std::size_t{64}, std::size_t{1000}, std::size_t{1} << 20}) {
        CAPTURE(n);
        CAPTURE(w);
        int joins = 0;
        const std::string want = run(text, false, w);
        CHECK(run(text, true, w, &joins) == want);
        if (two_cores && n >= 400) CHECK(joins == 1);
        CHECK(run(text, true, w, nullptr, true) == want);  // refused: scanned here
      }
    }
  }
  MappedFile::force_for_tests(0);
  split_waits_for_tests(false);
}

TEST_CASE("split: a fault anywhere is the single scan's error, word for word") {
  MappedFile::force_for_tests(1);
  split_waits_for_tests(true);
  const std::string good = store_text(2000);
  for (const std::string& odd : {std::string("[1, 2]]"), std::string("{\"a\": 1]"), std::string("[1] \"extra\""),
                                 std::string("{\"a\": [1}"), std::string("[1, 2], \"k\" 3")}) {
    const std::string text = store_text(2000, odd);
    CAPTURE(odd);
    const std::string want = run(text, false, 1000);
    CHECK(want.find("error") != std::string::npos);
    CHECK(run(text, true, 1000) == want);
  }
  for (std::size_t cut : {good.size() / 2 + 10, good.size() * 3 / 4, good.size() - 3}) {
    const std::string text = good.substr(0, cut);
    CAPTURE(cut);
    CHECK(run(text, true, 1000) == run(text, false, 1000));
  }
  MappedFile::force_for_tests(0);
  split_waits_for_tests(false);
}

TEST_CASE("split: a mapped file cut short under the scan is an error, not SIGBUS") {
  // The visitor cuts the file at its first entry, inside the window already
  // faulted in: the rest reads as zeros, and the scan says the file shrank.
  struct Cutter : OutlineVisitor {
    int fd = -1;
    std::size_t to = 0;
    void section(std::string_view, std::string_view, bool, bool, std::string_view) override {}
    void entry(const StreamEntry&) override {
      if (fd >= 0) CHECK(::ftruncate(fd, static_cast<off_t>(to)) == 0);
      fd = -1;
    }
  };
  for (int mode : {1, -1}) {
    MappedFile::force_for_tests(mode);
    const std::string text = store_text(60000);
    REQUIRE(text.size() > (std::size_t{2} << 20));
    TempFile f(text);
    Cutter c;
    c.fd = f.fd;
    c.to = 300000;
    std::string error;
    try {
      stream_file(f.fd, text.size(), c, {}, std::size_t{1} << 20);
    } catch (const ParseError& e) {
      error = e.what();
    }
    CAPTURE(mode);
    CHECK(error == "read failed: file shrank");
  }
  MappedFile::force_for_tests(0);
}

TEST_CASE("buffer: a whole-file mapping cut short is read as zeros, said, and blocks every commit") {
  // Buffer::map_file (the loaded path) maps a file whole; another program
  // truncating it in place made the first read past the new end SIGBUS.
  const std::string text(3 * 4096 + 100, 'x');
  TempFile f(text);
  const std::string name = "/proc/self/fd/" + std::to_string(f.fd);
  std::shared_ptr<Buffer> b = Buffer::map_file(name);
  CHECK_FALSE(b->shrank());
  CHECK_FALSE(sigbus_guard::shrunk_file());
  REQUIRE(::ftruncate(f.fd, 4096) == 0);
  const std::string_view v = b->view();
  CHECK(v[10] == 'x');                   // the page still in the file
  CHECK(v[2 * 4096 + 7] == '\0');       // past its new end: zeros, not SIGBUS
  CHECK(b->shrank());
  REQUIRE(sigbus_guard::shrunk_file());
  CHECK(*sigbus_guard::shrunk_file() == name);
  std::string error;
  try {
    sigbus_guard::fail_if_shrunk();
  } catch (const Error& e) {
    error = e.what();
  }
  CHECK(error.find("shrank while it was read") != std::string::npos);
  b.reset();
  sigbus_guard::forget_for_tests();  // sticky for the process: the other cases write
  CHECK_FALSE(sigbus_guard::shrunk_file());
}
