// Safe writes. Nothing is written in place: a new directory is built beside
// the target (every file fsynced) and swapped in with one rename, so that at
// any instant a reader sees the whole old store or the whole new one.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace lstore {

class StagedDirectory {
 public:
  explicit StagedDirectory(std::filesystem::path target);
  ~StagedDirectory();  // removes the staging directory unless committed
  StagedDirectory(const StagedDirectory&) = delete;
  StagedDirectory& operator=(const StagedDirectory&) = delete;

  // Writes (and fsyncs) one file of the new directory; `name` may hold a '/'.
  void write(const std::string& name, std::string_view bytes);
  // fsyncs the new directory and swaps it with the target (RENAME_EXCHANGE),
  // then removes the old one.
  void commit();

 private:
  std::filesystem::path m_target;
  std::filesystem::path m_staging;
  bool m_committed = false;
};

// Writes one file atomically: temp file in the same directory, fsync, rename,
// fsync the directory.
void atomic_write_file(const std::filesystem::path& path, std::string_view bytes);

// Removes every staging directory still registered (for signal handlers that
// are about to exit; see src/cli/main.cpp).
void remove_pending_staging();

}  // namespace lstore
