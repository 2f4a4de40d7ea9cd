#include "lstore/fileio.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <set>

#include "lstore/error.hpp"
#include "lstore/jsondoc.hpp"

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

}  // namespace

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

namespace {

void write_fd(int fd, const std::string& path, const char* p, std::size_t left) {
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      io_fail(path, "write failed");
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

void write_all(const fs::path& path, std::string_view bytes, int flags, mode_t mode = 0666) {
  int fd = ::open(path.c_str(), flags | O_WRONLY | O_CLOEXEC, mode);
  if (fd < 0) io_fail(path, "cannot create");
  try {
    write_fd(fd, path.string(), bytes.data(), bytes.size());
  } catch (...) {
    ::close(fd);
    throw;
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
  // mkdtemp makes 0700; the new store gets the old one's mode (at commit,
  // since the old one may be read-only), or the umask's.
  struct stat st {};
  if (::stat(m_target.c_str(), &st) == 0) {
    m_mode = st.st_mode & 07777;
  } else {
    mode_t mask = ::umask(0);
    ::umask(mask);
    m_mode = 0777 & ~mask;
  }
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

void StagedDirectory::write_with(const std::string& name, const std::function<void(FileSink&)>& fill) {
  fs::path p = m_staging / name;
  if (name.find('/') != std::string::npos) fs::create_directories(p.parent_path());
  int fd = ::open(p.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0666);
  if (fd < 0) io_fail(p, "cannot create");
  struct stat st {};
  if (::stat((m_target / name).c_str(), &st) == 0) ::fchmod(fd, st.st_mode & 07777);  // keep the file's mode
  try {
    FileSink sink(fd, p.string());
    fill(sink);
    sink.flush();
    if (::fsync(fd) != 0) io_fail(p, "fsync failed");
  } catch (...) {
    ::close(fd);
    throw;
  }
  if (::close(fd) != 0) io_fail(p, "close failed");
}

void StagedDirectory::commit() {
  for (auto& e : fs::recursive_directory_iterator(m_staging))
    if (e.is_directory()) fsync_path(e.path(), true);
  if (::chmod(m_staging.c_str(), m_mode) != 0) io_fail(m_staging, "cannot set the mode");
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
  // mkstemp makes 0600: give the new file the old one's mode (or the usual one).
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    ::fchmod(fd, st.st_mode & 07777);
  } else {
    mode_t mask = ::umask(0);
    ::umask(mask);
    ::fchmod(fd, 0666 & ~mask);
  }
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

void FileSink::write(std::string_view bytes) {
  flush_pending();
  m_buf.append(bytes);
  m_written += bytes.size();
  if (m_buf.size() >= (std::size_t{1} << 20)) flush();
}

void FileSink::copy(const Buffer& source, std::string_view bytes) {
  std::string_view all = source.view();
  if (source.fd() < 0 || bytes.data() < all.data() || bytes.data() + bytes.size() > all.data() + all.size()) {
    write(bytes);
    return;
  }
  std::size_t begin = static_cast<std::size_t>(bytes.data() - all.data());
  m_written += bytes.size();
  if (m_src == &source && m_src_end == begin) {  // continues the pending range
    m_src_end += bytes.size();
    return;
  }
  flush_pending();
  m_src = &source;
  m_src_begin = begin;
  m_src_end = begin + bytes.size();
}

void FileSink::flush_pending() {
  if (!m_src) return;
  const Buffer* src = m_src;
  m_src = nullptr;
  if (!m_buf.empty()) {
    write_fd(m_fd, m_path, m_buf.data(), m_buf.size());
    m_buf.clear();
  }
  off_t in = static_cast<off_t>(m_src_begin);
  std::size_t left = m_src_end - m_src_begin;
  while (left > 0) {
    ssize_t n = ::copy_file_range(src->fd(), &in, m_fd, nullptr, left, 0);
    if (n > 0) {
      left -= static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    // No kernel copy here (other filesystem, old kernel): copy through memory.
    std::string_view rest = src->view().substr(static_cast<std::size_t>(in), left);
    write_fd(m_fd, m_path, rest.data(), rest.size());
    left = 0;
  }
}

void FileSink::flush() {
  flush_pending();
  if (!m_buf.empty()) {
    write_fd(m_fd, m_path, m_buf.data(), m_buf.size());
    m_buf.clear();
  }
}

StoreLock::StoreLock(const fs::path& store, std::chrono::milliseconds wait) {
  fs::path abs = fs::absolute(store).lexically_normal();
  if (abs.filename().empty()) abs = abs.parent_path();
  fs::path lock = abs.parent_path() / ("." + abs.filename().string() + ".lstore.lock");
  m_fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  if (m_fd < 0) io_fail(lock, "cannot open the lock file");
  auto deadline = std::chrono::steady_clock::now() + wait;
  while (::flock(m_fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) {
      ::close(m_fd);
      io_fail(lock, "cannot lock");
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      char pid[32] = {0};
      ssize_t n = ::pread(m_fd, pid, sizeof pid - 1, 0);
      std::string holder = n > 0 ? std::string(pid, static_cast<std::size_t>(n)) : "another process";
      while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
      ::close(m_fd);
      m_fd = -1;
      throw Error(ErrorKind::Data, store.string(), "locked by another writer (pid " + holder + ")", "",
                  "wait for it to finish, or pass --wait SECONDS");
    }
    ::usleep(20000);
  }
  std::string me = std::to_string(::getpid()) + "\n";
  if (::ftruncate(m_fd, 0) == 0) (void)!::pwrite(m_fd, me.data(), me.size(), 0);
  // Staging directories left by a writer that was killed are ours to remove now.
  std::error_code ec;
  std::string prefix = "." + abs.filename().string() + ".lstore-";
  for (const auto& e : fs::directory_iterator(abs.parent_path(), ec)) {
    std::string n = e.path().filename().string();
    if (n.rfind(prefix, 0) == 0 && n.size() == prefix.size() + 6) fs::remove_all(e.path(), ec);
  }
}

StoreLock::~StoreLock() {
  if (m_fd >= 0) ::close(m_fd);  // closing releases the flock
}

void backup_directory(const fs::path& store, const fs::path& dir) {
  StagedDirectory staged(fs::absolute(dir).lexically_normal());
  for (const auto& e : fs::recursive_directory_iterator(store)) {
    if (!e.is_regular_file()) continue;
    auto bytes = Buffer::map_file(e.path().string());
    staged.write_with(e.path().lexically_relative(store).string(), [&](FileSink& s) { s.copy(*bytes, bytes->view()); });
  }
  staged.commit();
}

TempPath::TempPath(std::string path) : m_path(std::move(path)) {
  std::lock_guard<std::mutex> lock(g_pending_mutex);
  pending().insert(m_path);
}

TempPath::~TempPath() {
  if (m_armed) ::unlink(m_path.c_str());
  std::lock_guard<std::mutex> lock(g_pending_mutex);
  pending().erase(m_path);
}

void TempPath::release() { m_armed = false; }

std::string temp_path_for(const fs::path& target) {
  return (target.parent_path() / ("." + target.filename().string() + ".lstore-tmp-" + std::to_string(::getpid()))).string();
}

void remove_stale_temp_files(const fs::path& target) {
  std::string prefix = "." + target.filename().string() + ".lstore-tmp-";
  std::error_code ec;
  fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::string n = e.path().filename().string();
    if (n.rfind(prefix, 0) != 0) continue;
    long pid = std::strtol(n.c_str() + prefix.size(), nullptr, 10);
    if (pid > 0 && ::kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) fs::remove(e.path(), ec);
  }
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
