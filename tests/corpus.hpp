// Test support: where the shared corpus is (a fresh clone has no ../shared;
// the corpus tests then say what they skipped), and reading a file.
#pragma once

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace corpus {

// A file's bytes ("" when it cannot be read).
inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline std::filesystem::path root() {
  if (const char* env = std::getenv("LSTORE_CORPUS")) return env;
  return LSTORE_CORPUS_DIR;
}

inline bool available() { return std::filesystem::is_directory(root() / "llamaindex-0.12"); }

// Every persist directory in the corpus (Python, TS and wild).
inline std::vector<std::filesystem::path> store_dirs() {
  std::vector<std::filesystem::path> dirs;
  namespace fs = std::filesystem;
  for (const char* era : {"llamaindex-0.12", "llamaindex-0.10"})
    for (const auto& c : fs::directory_iterator(root() / era)) {
      if (!c.is_directory()) continue;
      if (fs::is_directory(c.path() / "persist")) dirs.push_back(c.path() / "persist");
      if (fs::is_directory(c.path() / "before")) dirs.push_back(c.path() / "before");
    }
  for (const char* group : {"llamaindex-ts", "wild"})
    for (const auto& c : fs::directory_iterator(root() / group))
      if (c.is_directory()) dirs.push_back(c.path());
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

}  // namespace corpus
