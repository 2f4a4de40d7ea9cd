#include "lstore/fileio.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <set>

#include "lstore/error.hpp"

namespace lstore {
namespace fs = std::filesystem;
namespace {

std::mutex g_pending_mutex;
std::set<std::string>& pending() {
  static std::set<std::string> p;
  return p;
}

[[noreturn]] void io_fail(const fs::path& p, const char* what) {
  throw Error(ErrorKind::Data, p.string(), std::string(what) + ": " + std::strerror(errno));
}

void fsync_path(const fs::path& p, bool directory) {
  int fd = ::open(p.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) io_fail(p, "cannot open for fsync");
  if (::fsync(fd) != 0) {
    int e = errno;
    ::close(fd);
    errno = e;
    io_fail(p, "fsync failed");
  }
  ::close(fd);
}

void write_all(const fs::path& path, std::string_view bytes, int flags) {
  int fd = ::open(path.c_str(), flags | O_WRONLY | O_CLOEXEC, 0666);
  if (fd < 0) io_fail(path, "cannot create");
  const char* p = bytes.data();
  std::size_t left = bytes.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      errno = e;
      io_fail(path, "write failed");
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    int e = errno;
    ::close(fd);
    errno = e;
    io_fail(path, "fsync failed");
  }
  if (::close(fd) != 0) io_fail(path, "close failed");
}

}  // namespace

StagedDirectory::StagedDirectory(fs::path target) : m_target(std::move(target)) {
  fs::path parent = m_target.parent_path();
  std::string tmpl = (parent / ("." + m_target.filename().string() + ".lstore-XXXXXX")).string();
  if (!::mkdtemp(tmpl.data())) io_fail(parent, "cannot create a staging directory");
  m_staging = tmpl;
  std::lock_guard<std::mutex> lock(g_pending_mutex);
  pending().insert(m_staging.string());
}

StagedDirectory::~StagedDirectory() {
  if (!m_committed) {
    std::error_code ec;
    fs::remove_all(m_staging, ec);
  }
  std::lock_guard<std::mutex> lock(g_pending_mutex);
  pending().erase(m_staging.string());
}

void StagedDirectory::write(const std::string& name, std::string_view bytes) {
  fs::path p = m_staging / name;
  if (name.find('/') != std::string::npos) fs::create_directories(p.parent_path());
  write_all(p, bytes, O_CREAT | O_EXCL);
}

void StagedDirectory::commit() {
  for (auto& e : fs::recursive_directory_iterator(m_staging))
    if (e.is_directory()) fsync_path(e.path(), true);
  fsync_path(m_staging, true);
  std::error_code ec;
  if (fs::exists(m_target, ec)) {
    if (::renameat2(AT_FDCWD, m_staging.c_str(), AT_FDCWD, m_target.c_str(), RENAME_EXCHANGE) != 0) {
      // Filesystems without RENAME_EXCHANGE: move the old one aside first.
      fs::path aside = m_staging.string() + ".old";
      if (::rename(m_target.c_str(), aside.c_str()) != 0) io_fail(m_target, "cannot move the old store aside");
      if (::rename(m_staging.c_str(), m_target.c_str()) != 0) {
        int e = errno;
        ::rename(aside.c_str(), m_target.c_str());
        errno = e;
        io_fail(m_target, "cannot move the new store into place");
      }
      fs::remove_all(aside, ec);
    } else {
      fs::remove_all(m_staging, ec);  // now holds the old store
    }
  } else if (::rename(m_staging.c_str(), m_target.c_str()) != 0) {
    io_fail(m_target, "cannot move the new store into place");
  }
  m_committed = true;
  fsync_path(m_target.parent_path(), true);
}

void atomic_write_file(const fs::path& path, std::string_view bytes) {
  fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  std::string tmpl = (dir / ("." + path.filename().string() + ".lstore-XXXXXX")).string();
  int fd = ::mkstemp(tmpl.data());
  if (fd < 0) io_fail(dir, "cannot create a temporary file");
  ::close(fd);
  try {
    write_all(tmpl, bytes, O_TRUNC);
    if (::rename(tmpl.c_str(), path.c_str()) != 0) io_fail(path, "cannot rename into place");
  } catch (...) {
    ::unlink(tmpl.c_str());
    throw;
  }
  fsync_path(dir, true);
}

void remove_pending_staging() {
  std::lock_guard<std::mutex> lock(g_pending_mutex);
  for (const auto& p : pending()) {
    std::error_code ec;
    fs::remove_all(p, ec);
  }
  pending().clear();
}

}  // namespace lstore
