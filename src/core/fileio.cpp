#include "core/fileio.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <functional>
#include <mutex>
#include <set>

#include "core/mapped_file.hpp"
#include "lstore/error.hpp"
#include "lstore/json.hpp"
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

std::atomic<bool> g_swapped{false};

// The stem every lstore sibling of `target` starts with: "." + its name,
// shortened with a hash of the whole name when it is long.
std::string sibling_stem(const fs::path& target) {
  std::string name = target.filename().string();
  // NAME_MAX, less the longest suffix (".lstore-XXXXXX.old", ".lstore-tmp-" +
  // a pid, ".lstore.lock") and the leading dot.
  constexpr std::size_t kRoom = NAME_MAX - 32;
  if (name.size() <= kRoom) return "." + name;
  char hash[20];
  std::snprintf(hash, sizeof hash, "~%016zx", std::hash<std::string>{}(name));
  return "." + name.substr(0, kRoom - 17) + hash;
}

// Time spent in fsync by this process's writers (see fsync_seconds).
std::atomic<std::uint64_t> g_fsync_ns{0};

// fsync, timed: a write's fsyncs are the disk's time, not lstore's, and
// `-v` shows them apart.
int timed_fsync(int fd) {
  auto start = std::chrono::steady_clock::now();
  int rc = ::fsync(fd);
  int err = errno;  // for the caller's message
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count();
  g_fsync_ns += static_cast<std::uint64_t>(ns);
  errno = err;
  return rc;
}

bool lstat_exists(const fs::path& p) {
  struct stat st {};
  return ::lstat(p.c_str(), &st) == 0;
}

}  // namespace

fs::path resolve_write_path(const std::string& path) {
  fs::path abs = fs::absolute(path).lexically_normal();
  if (abs.filename().empty()) abs = abs.parent_path();
  std::error_code ec;
  // An existing path: every link on the way resolved. A new one: its parent.
  fs::path real = fs::canonical(abs, ec);
  if (!ec) return real;
  fs::path parent = fs::canonical(abs.parent_path(), ec);
  if (ec || lstat_exists(abs)) return abs;  // a dangling link is written over as the user named it
  return parent / abs.filename();
}

std::string sibling_name(const fs::path& target, std::string_view suffix) {
  return sibling_stem(target) + std::string(suffix);
}

bool is_safe_relative_name(std::string_view name) {
  if (name.empty() || name.front() == '/' || name.find('\0') != std::string_view::npos) return false;
  std::size_t start = 0;
  while (start <= name.size()) {
    std::size_t end = name.find('/', start);
    if (end == std::string_view::npos) end = name.size();
    std::string_view part = name.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = end + 1;
  }
  return true;
}

bool store_swapped() { return g_swapped.load(); }

double fsync_seconds() { return static_cast<double>(g_fsync_ns.load()) / 1e9; }

std::vector<std::string> list_names(int dirfd, const std::string& display) {
  int fd = ::dup(dirfd);
  DIR* d = fd >= 0 ? ::fdopendir(fd) : nullptr;
  if (!d) {
    int e = errno;
    if (fd >= 0) ::close(fd);
    throw Error(ErrorKind::Data, display, std::string("cannot list: ") + std::strerror(e));
  }
  ::rewinddir(d);  // the dup shares its position with dirfd
  std::vector<std::string> names;
  for (;;) {
    errno = 0;
    dirent* e = ::readdir(d);
    if (!e) break;
    std::string n = e->d_name;
    if (n != "." && n != "..") names.push_back(std::move(n));
  }
  int err = errno;
  ::closedir(d);
  if (err != 0) throw Error(ErrorKind::Data, display, std::string("cannot list: ") + std::strerror(err));
  return names;
}

namespace {

// The aside directory of the fallback swap: the staging name + ".old".
bool is_aside_of(const std::string& n, const std::string& prefix) {
  return n.size() == prefix.size() + 6 + 4 && n.rfind(prefix, 0) == 0 && n.compare(n.size() - 4, 4, ".old") == 0;
}

}  // namespace

std::optional<fs::path> interrupted_swap(const fs::path& target) {
  if (lstat_exists(target)) return std::nullopt;
  std::string prefix = sibling_name(target, ".lstore-");
  std::error_code ec;
  fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (is_aside_of(e.path().filename().string(), prefix)) return e.path();
  return std::nullopt;
}

void fsync_path(const fs::path& p, bool directory) {
  int fd = ::open(p.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) io_fail(p, "cannot open for fsync");
  if (timed_fsync(fd) != 0) {
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

}  // namespace

StagedDirectory::StagedDirectory(fs::path target) : m_target(std::move(target)) {
  fs::path parent = m_target.parent_path();
  std::string tmpl = (parent / sibling_name(m_target, ".lstore-XXXXXX")).string();
  if (!::mkdtemp(tmpl.data())) io_fail(parent, "cannot create a staging directory");
  m_staging = tmpl;
  // mkdtemp makes 0700; the new store gets the old one's mode (at commit,
  // since the old one may be read-only), or the umask's.
  struct stat st {};
  if (::stat(m_target.c_str(), &st) == 0) {
    m_mode = st.st_mode & 07777;
    m_uid = st.st_uid;  // root editing a user's store keeps it the user's
    m_gid = st.st_gid;
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
  // Names come from backups and databases too: none may reach outside.
  if (!is_safe_relative_name(name)) {
    std::string quoted;
    dump_string(quoted, name, JsonDialect::Compact);
    throw Error(ErrorKind::Data, m_target.string(), "refusing to write a file named " + quoted + " (not a plain relative name)");
  }
  fs::path p = m_staging / name;
  if (name.find('/') != std::string::npos) fs::create_directories(p.parent_path());
  int fd = ::open(p.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0666);
  if (fd < 0) io_fail(p, "cannot create");
  struct stat st {};
  if (::stat((m_target / name).c_str(), &st) == 0) {
    ::fchmod(fd, st.st_mode & 07777);  // keep the file's mode, and its owner where we may
    if (st.st_uid != ::geteuid() || st.st_gid != ::getegid()) (void)!::fchown(fd, st.st_uid, st.st_gid);
  } else if (m_uid) {
    (void)!::fchown(fd, *m_uid, *m_gid);
  }
  try {
    FileSink sink(fd, p.string());
    fill(sink);
    sink.flush();
    if (timed_fsync(fd) != 0) io_fail(p, "fsync failed");
  } catch (...) {
    ::close(fd);
    throw;
  }
  if (::close(fd) != 0) io_fail(p, "close failed");
}

namespace {

// Copies one regular file's bytes (and mode) to `to`, which must not exist.
void copy_regular(const fs::path& from, const fs::path& to, mode_t mode) {
  int in = ::open(from.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (in < 0) io_fail(from, "cannot open");
  struct stat st {};
  if (::fstat(in, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(in);
    throw Error(ErrorKind::Data, from.string(), "changed while being copied");
  }
  int out = ::open(to.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, mode & 07777);
  if (out < 0) {
    ::close(in);
    io_fail(to, "cannot create");
  }
  char buf[1 << 16];
  try {
    for (;;) {
      ssize_t n = ::read(in, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) io_fail(from, "read failed");
      if (n == 0) break;
      write_fd(out, to.string(), buf, static_cast<std::size_t>(n));
    }
    ::fchmod(out, mode & 07777);
    if (timed_fsync(out) != 0) io_fail(to, "fsync failed");
  } catch (...) {
    ::close(in);
    ::close(out);
    throw;
  }
  ::close(in);
  if (::close(out) != 0) io_fail(to, "close failed");
}

// Mirrors the tree `from` into `to` (a directory that exists): directories
// made, symlinks re-made, files linked (`link`) or copied. Entries that `to`
// already has, and those `skip` says to leave, are left alone.
void mirror_tree(const fs::path& from, const fs::path& to, const std::string& rel, bool link,
                 const std::function<bool(const std::string&, const struct stat&)>& skip) {
  int dfd = ::open(from.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) io_fail(from, "cannot list");
  std::vector<std::string> names;
  try {
    names = list_names(dfd, from.string());
  } catch (...) {
    ::close(dfd);
    throw;
  }
  ::close(dfd);
  for (const std::string& n : names) {
    fs::path src = from / n, dst = to / n;
    std::string name = rel.empty() ? n : rel + "/" + n;
    struct stat st {};
    if (::lstat(src.c_str(), &st) != 0) {
      if (errno == ENOENT) continue;  // removed meanwhile
      io_fail(src, "cannot stat");
    }
    if (skip(name, st)) continue;
    struct stat have {};
    bool exists = ::lstat(dst.c_str(), &have) == 0;
    if (S_ISDIR(st.st_mode)) {
      if (!exists && ::mkdir(dst.c_str(), 0700) != 0) io_fail(dst, "cannot create");
      if (exists && !S_ISDIR(have.st_mode)) continue;
      mirror_tree(src, dst, name, link, skip);
      if (!exists && ::chmod(dst.c_str(), st.st_mode & 07777) != 0) io_fail(dst, "cannot set the mode");
      if (!exists && st.st_uid != ::geteuid()) (void)!::lchown(dst.c_str(), st.st_uid, st.st_gid);
      continue;
    }
    if (exists) continue;
    if (link && ::linkat(AT_FDCWD, src.c_str(), AT_FDCWD, dst.c_str(), 0) == 0) continue;
    if (S_ISLNK(st.st_mode)) {
      std::string target(static_cast<std::size_t>(st.st_size) + 1, '\0');
      ssize_t k = ::readlink(src.c_str(), target.data(), target.size());
      if (k < 0) io_fail(src, "cannot read the link");
      target.resize(static_cast<std::size_t>(k));
      if (::symlink(target.c_str(), dst.c_str()) != 0) io_fail(dst, "cannot create the link");
      if (st.st_uid != ::geteuid()) (void)!::lchown(dst.c_str(), st.st_uid, st.st_gid);
    } else if (S_ISREG(st.st_mode)) {
      copy_regular(src, dst, st.st_mode);
      if (st.st_uid != ::geteuid()) (void)!::lchown(dst.c_str(), st.st_uid, st.st_gid);
    } else {
      throw Error(ErrorKind::Data, src.string(), "a special file (FIFO, socket or device) that cannot be carried over",
                  "", "move it out of the store, then write again");
    }
  }
}

}  // namespace

void StagedDirectory::carry_over(const std::set<std::string>& model_files) {
  struct stat st {};
  if (::stat(m_target.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return;
  mirror_tree(m_target, m_staging, "", true, [&](const std::string& name, const struct stat& s) {
    return S_ISREG(s.st_mode) && model_files.count(name) > 0;
  });
}

void StagedDirectory::mirror_from(const fs::path& source) {
  mirror_tree(source, m_staging, "", false, [](const std::string&, const struct stat&) { return false; });
}

namespace {

std::atomic<bool> g_free_after_exit{false};

// The blocks of a replaced store are freed when the last reference to its
// files goes, and this process holds them (it read the files through
// mappings). Where freed blocks are discarded synchronously (ext4 without a
// journal, mounted with `discard`), that was a sixth of a 1 GB delete, spent
// after the new store was in place and durable. A child that inherits the
// references and keeps them until this process has exited (its end of a
// pipe then reads end-of-file) frees them instead, as a journaling
// filesystem would later anyway. It holds no descriptor but that pipe: not
// the lock, not stdout. Only for large stores, and only when the process
// asked for it (free_replaced_files_after_exit); if fork fails, this
// process frees them as before.
void hand_off_old_files(std::uint64_t bytes) {
  if (!g_free_after_exit || bytes < (std::uint64_t{64} << 20)) return;
  int cue[2];
  if (::pipe2(cue, O_CLOEXEC) != 0) return;
  pid_t pid = ::fork();
  if (pid == 0) {
    // Async-signal-safe calls only: the parent has threads.
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE}) ::signal(sig, SIG_DFL);
    if (cue[0] > 0) ::close_range(0, static_cast<unsigned>(cue[0]) - 1, 0);
    ::close_range(static_cast<unsigned>(cue[0]) + 1, ~0U, 0);
    char c;
    while (::read(cue[0], &c, 1) < 0 && errno == EINTR) {
    }
    ::_exit(0);
  }
  ::close(cue[0]);
  if (pid < 0) ::close(cue[1]);
  // Else cue[1] stays open until this process ends: that is the child's cue.
}

}  // namespace

void free_replaced_files_after_exit(bool on) { g_free_after_exit = on; }

std::vector<std::string> StagedDirectory::commit(bool read_old) {
  sigbus_guard::fail_if_shrunk();
  for (auto& e : fs::recursive_directory_iterator(m_staging))
    if (e.is_directory() && !e.is_symlink()) fsync_path(e.path(), true);
  if (::chmod(m_staging.c_str(), m_mode) != 0) io_fail(m_staging, "cannot set the mode");
  if (m_uid && (*m_uid != ::geteuid() || *m_gid != ::getegid())) (void)!::chown(m_staging.c_str(), *m_uid, *m_gid);
  fsync_path(m_staging, true);
  // From the swap on, the command has done what it was asked; an interrupt
  // after it is ignored (see store_swapped) and cleanup problems are warnings.
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
  ::pthread_sigmask(SIG_BLOCK, &block, &old);
  struct Unblock {
    sigset_t* old;
    ~Unblock() { ::pthread_sigmask(SIG_SETMASK, old, nullptr); }
  } unblock{&old};
  std::vector<std::string> warnings;
  std::error_code ec;
  fs::path old_store;  // what to remove once the new store is in place
  if (lstat_exists(m_target)) {
    if (::renameat2(AT_FDCWD, m_staging.c_str(), AT_FDCWD, m_target.c_str(), RENAME_EXCHANGE) == 0) {
      old_store = m_staging;  // now holds the old store
    } else if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP) {
      io_fail(m_target, "cannot swap the new store in");  // a real error, not a missing feature
    } else {
      // Filesystems without RENAME_EXCHANGE (NFS, CIFS, FUSE): the old store
      // moves aside first. Killed between the two renames, the next writer
      // finds the aside and no store, and puts the old one back (StoreLock).
      fs::path aside = m_staging.string() + ".old";
      if (::rename(m_target.c_str(), aside.c_str()) != 0) io_fail(m_target, "cannot move the old store aside");
      fsync_path(m_target.parent_path(), true);
      if (::rename(m_staging.c_str(), m_target.c_str()) != 0) {
        int e = errno;
        ::rename(aside.c_str(), m_target.c_str());
        errno = e;
        io_fail(m_target, "cannot move the new store into place");
      }
      old_store = aside;
    }
  } else if (::rename(m_staging.c_str(), m_target.c_str()) != 0) {
    io_fail(m_target, "cannot move the new store into place");
  }
  m_committed = true;
  g_swapped = true;
  int dfd = ::open(m_target.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0 || timed_fsync(dfd) != 0)
    warnings.push_back(m_target.parent_path().string() + ": the new store is in place, but fsync of its directory failed (" +
                       std::strerror(errno) + "): a power loss now may bring the old one back");
  if (dfd >= 0) ::close(dfd);
  if (!old_store.empty()) {
    std::uint64_t old_bytes = 0;
    if (read_old)
      for (const auto& e : fs::directory_iterator(old_store, ec))
        if (e.is_regular_file(ec)) old_bytes += e.file_size(ec);
    fs::remove_all(old_store, ec);
    hand_off_old_files(old_bytes);
    if (ec)
      warnings.push_back(old_store.string() + ": the old store could not be removed (" + ec.message() +
                         "); the next write removes it");
  }
  return warnings;
}

namespace {

// The mode a replaced file keeps, or a new file's usual one (0666 less the umask).
unsigned mode_for(const fs::path& target) {
  struct stat st {};
  if (::stat(target.c_str(), &st) == 0) return st.st_mode & 07777;
  mode_t mask = ::umask(0);
  ::umask(mask);
  return 0666 & ~mask;
}

fs::path dir_of(const fs::path& target) { return target.parent_path().empty() ? fs::path(".") : target.parent_path(); }

// This process's temporary path for `target`, after removing the ones
// killed writers left.
std::string fresh_temp_path(const fs::path& target) {
  remove_stale_temp_files(target);
  return temp_path_for(target);
}

}  // namespace

AtomicFile::AtomicFile(const fs::path& target)
    : m_target(target), m_temp(fresh_temp_path(target)), m_mode(mode_for(target)) {
  ::unlink(m_temp.path().c_str());  // only a dead writer that had this pid can have left it
}

AtomicFile::~AtomicFile() {
  if (m_fd >= 0) ::close(m_fd);
}

const std::string& AtomicFile::temp_path() const { return m_temp.path(); }

int AtomicFile::fd() {
  if (m_fd < 0) {
    m_fd = ::open(m_temp.path().c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
    if (m_fd < 0) io_fail(m_temp.path(), "cannot create");
    ::fchmod(m_fd, m_mode);
  }
  return m_fd;
}

void AtomicFile::write(std::string_view bytes) { write_fd(fd(), m_temp.path(), bytes.data(), bytes.size()); }

void AtomicFile::commit() {
  sigbus_guard::fail_if_shrunk();
  if (m_fd >= 0) {
    if (timed_fsync(m_fd) != 0) io_fail(m_temp.path(), "fsync failed");
    int fd = m_fd;
    m_fd = -1;
    if (::close(fd) != 0) io_fail(m_temp.path(), "close failed");
  } else {
    // Written by a writer of its own (SQLite), with its own mode.
    if (::chmod(m_temp.path().c_str(), m_mode) != 0) io_fail(m_temp.path(), "cannot set the mode");
    fsync_path(m_temp.path(), false);
  }
  if (::rename(m_temp.path().c_str(), m_target.c_str()) != 0) io_fail(m_target, "cannot rename into place");
  m_temp.release();
  fsync_path(dir_of(m_target), true);
}

void atomic_write_file(const fs::path& path, std::string_view bytes) {
  AtomicFile file(path);
  file.write(bytes);
  file.commit();
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

void FileSink::put(const char* data, std::size_t size) {
  write_fd(m_fd, m_path, data, size);
  handed(size);
}

// Every 32 MiB handed to the kernel, its writeback is started: the disk
// writes while the rest is copied, and the fsync at the end waits for the
// tail only instead of the whole file. Only a hint: a failure here (a pipe,
// an I/O error) is left to that fsync, which reports it.
void FileSink::handed(std::size_t size) {
  constexpr std::uint64_t kKick = std::uint64_t{32} << 20;
  m_handed += size;
  if (m_handed - m_kicked < kKick) return;
  (void)::sync_file_range(m_fd, static_cast<off_t>(m_kicked), static_cast<off_t>(m_handed - m_kicked), SYNC_FILE_RANGE_WRITE);
  m_kicked = m_handed;
}

void FileSink::flush_pending() {
  if (!m_src) return;
  const Buffer* src = m_src;
  m_src = nullptr;
  if (!m_buf.empty()) {
    put(m_buf.data(), m_buf.size());
    m_buf.clear();
  }
  constexpr std::size_t kChunk = std::size_t{32} << 20;  // see handed()
  off_t in = static_cast<off_t>(m_src_begin);
  std::size_t left = m_src_end - m_src_begin;
  while (left > 0) {
    ssize_t n = ::copy_file_range(src->fd(), &in, m_fd, nullptr, std::min(left, kChunk), 0);
    if (n > 0) {
      left -= static_cast<std::size_t>(n);
      handed(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    // No kernel copy here (other filesystem, old kernel): copy through memory.
    std::string_view rest = src->view().substr(static_cast<std::size_t>(in), left);
    put(rest.data(), rest.size());
    left = 0;
  }
}

void FileSink::flush() {
  flush_pending();
  if (!m_buf.empty()) {
    put(m_buf.data(), m_buf.size());
    m_buf.clear();
  }
}

namespace {

// The writer that holds `lock` (its pid, as it wrote it), for messages.
std::string lock_holder(int fd) {
  char pid[32] = {0};
  ssize_t n = ::pread(fd, pid, sizeof pid - 1, 0);
  std::string holder = n > 0 ? std::string(pid, static_cast<std::size_t>(n)) : "";
  while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
  return holder.empty() || holder.find_first_not_of("0123456789") != std::string::npos ? "another process" : "pid " + holder;
}

// Finishes what a writer killed mid-write left beside `target` (call with
// the lock held): a fallback swap cut between its renames is rolled back (the
// old store returns; the command that was killed never said it succeeded),
// and staging directories are removed.
void recover_siblings(const fs::path& target) {
  std::string prefix = sibling_name(target, ".lstore-");
  std::error_code ec;
  std::vector<fs::path> staging, asides;
  for (const auto& e : fs::directory_iterator(target.parent_path(), ec)) {
    std::string n = e.path().filename().string();
    if (is_aside_of(n, prefix)) asides.push_back(e.path());
    else if (n.rfind(prefix, 0) == 0 && n.size() == prefix.size() + 6) staging.push_back(e.path());
  }
  if (ec) throw Error(ErrorKind::Data, target.parent_path().string(), "cannot list: " + ec.message());
  for (const fs::path& aside : asides) {
    if (!lstat_exists(target)) {
      if (::rename(aside.c_str(), target.c_str()) != 0) io_fail(target, "cannot restore the store from an interrupted write");
      fsync_path(target.parent_path(), true);
    } else {
      fs::remove_all(aside, ec);
    }
  }
  for (const fs::path& p : staging) fs::remove_all(p, ec);
}

}  // namespace

StoreLock::StoreLock(const fs::path& store, std::chrono::milliseconds wait) {
  fs::path target = resolve_write_path(store.string());
  m_lock = target.parent_path() / sibling_name(target, ".lstore.lock");
  auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    // Only a lock file lstore created is ever written to: O_EXCL makes it,
    // O_NOFOLLOW refuses a planted link; one found is only flock()ed.
    bool created = true;
    m_fd = ::open(m_lock.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (m_fd < 0 && errno == EEXIST) {
      created = false;
      m_fd = ::open(m_lock.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
      if (m_fd < 0 && errno == ENOENT) continue;  // its holder removed it just now
    }
    if (m_fd < 0) {
      if (errno == ELOOP) throw Error(ErrorKind::Data, m_lock.string(), "the lock file is a symlink; refusing to use it", "", "remove it");
      io_fail(m_lock, "cannot open the lock file");
    }
    struct stat st {};
    // No link left: its holder released (and removed) it between our open and
    // this check. Not a planted file: start again.
    if (::fstat(m_fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_nlink == 0) {
      ::close(m_fd);
      m_fd = -1;
      continue;
    }
    if (::fstat(m_fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
      ::close(m_fd);
      m_fd = -1;
      throw Error(ErrorKind::Data, m_lock.string(), "the lock file is not a plain file of its own (a link or special file)", "",
                  "remove it");
    }
    while (::flock(m_fd, LOCK_EX | LOCK_NB) != 0) {
      if (errno != EWOULDBLOCK && errno != EINTR) {
        ::close(m_fd);
        m_fd = -1;
        io_fail(m_lock, "cannot lock");
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        std::string holder = lock_holder(m_fd);
        ::close(m_fd);
        m_fd = -1;
        throw Error(ErrorKind::Data, store.string(), "locked by another writer (" + holder + ")", "",
                    "wait for it to finish, or pass --wait SECONDS");
      }
      ::usleep(20000);
    }
    // The holder before us removes the file as it releases: a lock on a file
    // no longer at the path locks nothing. Start again on the new one.
    struct stat now {};
    if (::lstat(m_lock.c_str(), &now) != 0 || now.st_ino != st.st_ino || now.st_dev != st.st_dev) {
      ::close(m_fd);
      m_fd = -1;
      continue;
    }
    // Left by a writer that was killed: remove it and make our own. Where it
    // cannot be removed (another user's file in a sticky directory), it is
    // the lock as it is; only a file lstore created gets our pid.
    if (!created && ::unlink(m_lock.c_str()) == 0) {
      ::close(m_fd);
      m_fd = -1;
      continue;
    }
    if (created) {
      std::string me = std::to_string(::getpid()) + "\n";
      (void)!::pwrite(m_fd, me.data(), me.size(), 0);
    }
    break;
  }
  try {
    recover_siblings(target);
  } catch (...) {
    ::unlink(m_lock.c_str());
    ::close(m_fd);
    m_fd = -1;
    throw;
  }
}

StoreLock::~StoreLock() {
  if (m_fd < 0) return;
  ::unlink(m_lock.c_str());  // before the flock goes: a waiter then sees a new file
  ::close(m_fd);
}

void backup_directory(const fs::path& store, const fs::path& dir) {
  fs::path from = resolve_write_path(store.string());
  fs::path to = resolve_write_path(dir.string());
  std::error_code ec;
  if (to == from || to.string().rfind(from.string() + "/", 0) == 0)
    throw Error(ErrorKind::Usage, dir.string(), "--backup inside the store: every write replaces the store's directory", "",
                "choose a directory outside the store");
  struct stat st {};
  if (::lstat(to.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode))
      throw Error(ErrorKind::Data, dir.string(), "--backup target exists and is not a directory", "", "choose a new or empty directory");
    if (!fs::is_empty(to, ec))
      throw Error(ErrorKind::Data, dir.string(), "--backup target is not empty", "", "choose a new or empty directory");
  }
  StagedDirectory staged(to);
  staged.mirror_from(from);
  for (const std::string& w : staged.commit()) (void)w;  // a backup's durability is best effort after its swap
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
  return (target.parent_path() / sibling_name(target, ".lstore-tmp-" + std::to_string(::getpid()))).string();
}

void remove_stale_temp_files(const fs::path& target) {
  std::string prefix = sibling_name(target, ".lstore-tmp-");
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
