// Replays every input the fuzzers ever found a problem with (testdata/fuzz/
// <target>/), and runs the fuzz targets' invariants over the real stores of
// testdata/ and the corpus: a store file serialises back byte for byte and
// survives the trip through records.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "../fuzz/fuzz_targets.hpp"
#include "corpus.hpp"

namespace fs = std::filesystem;

namespace {

std::string slurp_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void run(void (*target)(const std::uint8_t*, std::size_t), const std::string& bytes) {
  target(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
}

}  // namespace

TEST_CASE("fuzz regressions replay") {
  fs::path root = fs::path(LSTORE_SOURCE_DIR) / "testdata" / "fuzz";
  std::size_t n = 0;
  for (auto [name, target] : {std::pair{"json_reader", &lstore::fuzz::json_reader},
                              std::pair{"store_file", &lstore::fuzz::store_file},
                              std::pair{"filter_expression", &lstore::fuzz::filter_expression},
                              std::pair{"backup_jsonl", &lstore::fuzz::backup_jsonl},
                              std::pair{"backup_sqlite", &lstore::fuzz::backup_sqlite}}) {
    if (!fs::is_directory(root / name)) continue;
    for (const auto& e : fs::directory_iterator(root / name)) {
      CAPTURE(e.path().string());
      run(target, slurp_file(e.path()));
      ++n;
    }
  }
  MESSAGE(n << " fuzz regression inputs replayed");
}

TEST_CASE("fuzz invariants hold on every real store file") {
  std::vector<fs::path> dirs = {fs::path(LSTORE_SOURCE_DIR) / "testdata"};
  if (corpus::available()) dirs.push_back(corpus::root());
  std::size_t n = 0;
  for (const fs::path& d : dirs)
    for (const auto& e : fs::recursive_directory_iterator(d)) {
      if (!e.is_regular_file() || e.path().extension() != ".json" || e.file_size() > (8u << 20)) continue;
      CAPTURE(e.path().string());
      std::string bytes = slurp_file(e.path());
      run(lstore::fuzz::store_file, bytes);
      run(lstore::fuzz::json_reader, bytes);
      ++n;
    }
  CHECK(n > 5);
}
