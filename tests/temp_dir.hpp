// Scratch space for one test under $TMPDIR, removed with the object: a
// fresh directory (TempDir), or an unlinked file holding a text (TempFile,
// for the readers that take a descriptor and a size).
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>
#include <string>

struct TempDir {
  explicit TempDir(const std::string& tag)
      : path(std::filesystem::temp_directory_path() / ("lstore-test-" + std::to_string(::getpid()) + "-" + tag)) {
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::filesystem::path path;
};

struct TempFile {
  explicit TempFile(const std::string& text) {
    std::string path = (std::filesystem::temp_directory_path() / "lstore-test-file-XXXXXX").string();
    fd = ::mkstemp(path.data());
    if (fd < 0) throw std::runtime_error("TempFile: mkstemp failed");
    ::unlink(path.c_str());
    if (::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size()))
      throw std::runtime_error("TempFile: short write");
  }
  ~TempFile() { ::close(fd); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  int fd = -1;
};
