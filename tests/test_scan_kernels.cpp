// The per-ISA outline kernels (src/core/scan_kernels*.cpp) must compute the
// same bits as the SSE2 baseline: each kernel this CPU has is run on the same
// bytes, directly and through whole outlines of every corpus file.
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "core/scan_kernels.hpp"
#include "corpus.hpp"
#include "lstore/error.hpp"
#include "core/outline.hpp"
#include "outline_describe.hpp"

using namespace lstore;
using test_support::describe;

namespace {

std::vector<const scan::Kernels*> all_kernels() {
  const scan::Kernels* k[8];
  std::size_t n = scan::available_kernels(k, 8);
  return {k, k + n};
}

// Restores the start-up choice when a test case ends, even on failure.
struct KernelGuard {
  ~KernelGuard() { scan::use_kernels(nullptr); }
};

// Random bytes over the characters the kernels look at, runs of backslashes
// and quotes included, so strings open and close across block boundaries.
std::string noise(std::size_t n, unsigned seed) {
  static const char alphabet[] = "\"\\\\[]{},,,,aa0 ";
  std::mt19937 rng(seed);
  std::string s(n, ' ');
  for (char& c : s) c = alphabet[rng() % (sizeof(alphabet) - 1)];
  return s;
}


}  // namespace

TEST_CASE("the SSE2 kernels are always there and picked kernels are among the available") {
  auto ks = all_kernels();
  REQUIRE(!ks.empty());
  CHECK(std::string(ks.front()->name) == "sse2");
  bool found = false;
  for (auto* k : ks) found = found || k == &scan::kernels();
  CHECK(found);
  const std::string picked = std::string(scan::kernels().name) + " (" + std::to_string(ks.size()) + " available)";
  MESSAGE("outline kernels on this CPU: " << picked);
}

TEST_CASE("every kernel finds the same brackets outside strings and the same flat-array stops") {
  auto ks = all_kernels();
  for (unsigned seed = 1; seed <= 40; ++seed) {
    const std::string text = noise(64 * 37, seed);
    const std::size_t blocks = text.size() / 64;
    std::vector<std::uint64_t> want(blocks);
    scan::StringState want_state;
    ks.front()->brackets(text.data(), blocks, &want_state, want.data());
    for (auto* k : ks) {
      CAPTURE(k->name);
      CAPTURE(seed);
      std::vector<std::uint64_t> got(blocks);
      scan::StringState st;
      for (std::size_t b = 0; b < blocks; b += 3)  // in uneven batches, as the outline calls it
        k->brackets(text.data() + 64 * b, std::min<std::size_t>(3, blocks - b), &st, got.data() + b);
      CHECK(got == want);
      CHECK(st.in_string == want_state.in_string);
      CHECK(st.escape == want_state.escape);
    }
    // Flat arrays: digits and commas with a stop byte at every distance.
    std::string flat(300, '1');
    for (std::size_t i = 0; i < flat.size(); i += 1 + seed % 5) flat[i] = ',';
    for (std::size_t stop = 0; stop < flat.size(); stop += 7) {
      std::string t = flat;
      t[stop] = "[]{}\""[stop % 5];
      for (std::size_t from = 0; from < 70; from += 13) {
        auto run = [&](const scan::Kernels* k) {
          std::uint64_t commas = 0;
          const char* p = k->flat(t.data() + from, t.data() + t.size(), &commas);
          for (; p < t.data() + t.size() && *p != t[stop]; ++p) commas += *p == ',';  // finish as the outline does
          return std::make_pair(p - t.data(), commas);
        };
        auto base = run(ks.front());
        if (from <= stop) CHECK(base.first == static_cast<std::ptrdiff_t>(stop));
        for (auto* k : ks) {
          CAPTURE(k->name);
          CHECK(run(k) == base);
        }
      }
    }
  }
}

TEST_CASE("outlines of every corpus file are the same with every kernel") {
  if (!corpus::available()) {
    MESSAGE("corpus not found: skipped");
    return;
  }
  KernelGuard guard;
  auto ks = all_kernels();
  std::size_t files = 0;
  std::vector<std::filesystem::path> dirs = corpus::store_dirs();
  dirs.push_back(std::filesystem::path(LSTORE_SOURCE_DIR) / "testdata" / "sample");
  for (const auto& dir : dirs)
    for (const auto& f : std::filesystem::directory_iterator(dir)) {
      if (f.path().extension() != ".json") continue;
      const std::string text = corpus::slurp(f.path());
      std::string want;
      for (auto* k : ks) {
        scan::use_kernels(k);
        std::string got;
        try {
          got = describe(outline_object(text));
        } catch (const ParseError& e) {
          got = "error " + std::to_string(e.offset()) + " " + e.what();
        }
        if (k == ks.front()) want = got;
        CAPTURE(f.path().string());
        CAPTURE(k->name);
        CHECK(got == want);
      }
      ++files;
    }
  CHECK(files > 20);
}

TEST_CASE("windowed outlines are the same with every kernel at every window size") {
  KernelGuard guard;
  // Records longer than a kernel batch (256 bytes), escapes and brackets in
  // strings, and embeddings longer than a block, so every refill boundary
  // falls inside a block, a string and a flat array somewhere.
  std::string text = "{\"embedding_dict\": {";
  for (int i = 0; i < 30; ++i) {
    text += (i ? ", \"n" : "\"n") + std::to_string(i) + "\": [";
    for (int j = 0; j < 9 + i * 3; ++j) text += (j ? ", " : "") + std::to_string(0.001 * (i + 1) * (j + 7));
    text += "]";
  }
  text += "}, \"docstore/data\": {";
  for (int i = 0; i < 30; ++i)
    text += std::string(i ? ", " : "") + "\"d" + std::to_string(i) + "\": {\"__data__\": {\"text\": \"" +
            std::string(static_cast<std::size_t>(i * 11), 'x') + "\\\\\\\"]}[{\", \"m\": [[1, {\"k\": \"v\\\"\"}]]}}";
  text += "}}";
  char path[] = "/tmp/lstore-kernels-XXXXXX";
  int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  ::unlink(path);
  REQUIRE(::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  auto ks = all_kernels();
  scan::use_kernels(ks.front());
  const std::string want = describe(outline_object(text));
  for (auto* k : ks) {
    scan::use_kernels(k);
    for (std::size_t w : {1, 7, 63, 64, 65, 200, 1000, 1 << 20}) {
      CAPTURE(k->name);
      CAPTURE(w);
      CHECK(describe(outline_file(fd, text.size(), 2, {}, w)) == want);
    }
  }
  ::close(fd);
}
