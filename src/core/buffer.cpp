// File bytes via mmap, so large stores are read at page-cache speed and
// resident memory stays bounded (pages are released as the scan moves on).
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/mapped_file.hpp"
#include "lstore/error.hpp"
#include "lstore/jsondoc.hpp"

namespace lstore {

std::shared_ptr<Buffer> Buffer::map_file(const std::string& path) { return map_at(AT_FDCWD, path, path); }

std::shared_ptr<Buffer> Buffer::map_at(int dirfd, const std::string& name, const std::string& path) {
  int fd = ::openat(dirfd, name.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(ErrorKind::Data, path, std::string("cannot open: ") + std::strerror(errno));
  return map_fd(fd, path);
}

std::shared_ptr<Buffer> Buffer::map_fd(int fd, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    throw Error(ErrorKind::Data, path, std::string("cannot stat: ") + std::strerror(e));
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    throw Error(ErrorKind::Data, path, "is a directory, expected a file");
  }
  std::shared_ptr<Buffer> b(new Buffer());
  b->m_size = static_cast<std::size_t>(st.st_size);
  if (b->m_size > 0) {
    void* p = ::mmap(nullptr, b->m_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      int e = errno;
      ::close(fd);
      throw Error(ErrorKind::Data, path, std::string("cannot map: ") + std::strerror(e));
    }
    b->m_data = static_cast<const char*>(p);
    b->m_mapped = true;
    b->m_name = path;
    b->m_guard = sigbus_guard::guard(p, b->m_size, b->m_name.c_str());
    b->m_fd = fd;  // kept for pread(): scans read through it instead of faulting the mapping in
    return b;
  }
  ::close(fd);
  return b;
}

std::shared_ptr<Buffer> Buffer::own(std::string bytes) {
  std::shared_ptr<Buffer> b(new Buffer());
  b->m_owned = std::move(bytes);
  b->m_data = b->m_owned.data();
  b->m_size = b->m_owned.size();
  return b;
}

bool Buffer::shrank() const { return sigbus_guard::shrank(m_guard); }

Buffer::~Buffer() {
  sigbus_guard::unguard(m_guard);
  if (m_mapped) ::munmap(const_cast<char*>(m_data), m_size);
  if (m_fd >= 0) ::close(m_fd);
}

void Buffer::release(std::size_t begin, std::size_t end) const {
  if (!m_mapped) return;
  const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  std::size_t b = (begin + page - 1) / page * page;
  std::size_t e = std::min(end, m_size) / page * page;
  if (e > b) ::madvise(const_cast<char*>(m_data) + b, e - b, MADV_DONTNEED);
}

void Buffer::prefetch(std::size_t begin, std::size_t end) const {
  if (!m_mapped) return;
  const std::size_t page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  std::size_t b = begin / page * page;
  std::size_t e = std::min(end, m_size);
  if (e <= b) return;
#ifdef MADV_POPULATE_READ
  if (::madvise(const_cast<char*>(m_data) + b, e - b, MADV_POPULATE_READ) == 0) return;
#endif
  ::madvise(const_cast<char*>(m_data) + b, e - b, MADV_WILLNEED);  // older kernels
}

}  // namespace lstore
