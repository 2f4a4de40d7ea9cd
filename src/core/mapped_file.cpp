// Windows of a mapped store file, with truncation under the mapping turned
// into an error instead of SIGBUS; see mapped_file.hpp.
#include "core/mapped_file.hpp"

#include "lstore/error.hpp"

#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace lstore {
namespace {

// The mappings the SIGBUS handler may repair. A slot is claimed with a CAS on
// `begin` and its range published before the mapping is read; the handler
// only reads the table (lock-free, async-signal-safe).
struct Slot {
  std::atomic<std::uintptr_t> begin{0};
  std::atomic<std::uintptr_t> end{0};
  std::atomic<bool> shrank{false};
  const char* name = nullptr;  // the file, for sigbus_guard::shrunk_file()
};
constexpr int kSlots = 64;
Slot g_slots[kSlots];
struct sigaction g_previous;
std::size_t g_page = 4096;
constexpr std::uintptr_t kClaimed = 1;  // `begin` of a slot being set up
// Sticky: some guarded mapping shrank since the process started, and the
// name of the first such file (copied in the handler: its Buffer may be
// gone by the time anyone asks).
std::atomic<bool> g_any_shrank{false};
char g_shrunk_name[1024];

void on_sigbus(int sig, siginfo_t* info, void* context) {
  const auto addr = reinterpret_cast<std::uintptr_t>(info->si_addr);
  if (info->si_code > 0)  // raised by a fault, not sent by kill()
    for (Slot& s : g_slots) {
      const std::uintptr_t b = s.begin.load(std::memory_order_acquire);
      if (b <= kClaimed || addr < b || addr >= s.end.load(std::memory_order_acquire)) continue;
      // Our mapping, past the file's new end: zeros over that page, and the
      // scan is told (shrank()) before it trusts anything it read.
      void* page = reinterpret_cast<void*>(addr & ~(static_cast<std::uintptr_t>(g_page) - 1));
      if (::mmap(page, g_page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != MAP_FAILED) {
        s.shrank.store(true, std::memory_order_release);
        // (A MappedFile's scan, nameless here, fails on shrank() itself.)
        if (s.name && !g_any_shrank.exchange(true)) {
          std::size_t n = 0;
          while (s.name[n] && n + 1 < sizeof g_shrunk_name) ++n;
          std::memcpy(g_shrunk_name, s.name, n);  // async-signal-safe, unlike strncpy's guarantees
          g_shrunk_name[n] = '\0';
        }
        return;
      }
    }
  // Not ours: as if this handler had never been installed.
  if ((g_previous.sa_flags & SA_SIGINFO) && g_previous.sa_sigaction) {
    g_previous.sa_sigaction(sig, info, context);
    return;
  }
  if (!(g_previous.sa_flags & SA_SIGINFO) && g_previous.sa_handler != SIG_DFL && g_previous.sa_handler != SIG_IGN) {
    g_previous.sa_handler(sig);
    return;
  }
  ::signal(SIGBUS, SIG_DFL);
  if (info->si_code <= 0) ::raise(sig);  // a fault repeats by itself when the handler returns
}

void install_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    g_page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    struct sigaction sa {};
    sa.sa_sigaction = on_sigbus;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    ::sigaction(SIGBUS, &sa, &g_previous);
  });
}

int claim_slot() {
  for (int i = 0; i < kSlots; ++i) {
    std::uintptr_t expected = 0;
    if (g_slots[i].begin.compare_exchange_strong(expected, kClaimed)) return i;
  }
  return -1;
}

std::atomic<int> g_forced{0};

}  // namespace

namespace sigbus_guard {

int guard(const void* data, std::size_t length, const char* name) {
  if (!data || length == 0) return -1;
  install_handler();
  const int slot = claim_slot();
  if (slot < 0) return -1;  // every slot taken: unguarded, as before
  Slot& s = g_slots[slot];
  const auto b = reinterpret_cast<std::uintptr_t>(data);
  s.shrank.store(false, std::memory_order_relaxed);
  s.name = name;
  s.end.store(b + (length + g_page - 1) / g_page * g_page, std::memory_order_release);
  s.begin.store(b, std::memory_order_release);
  return slot;
}

void unguard(int slot) {
  if (slot < 0) return;
  Slot& s = g_slots[slot];
  s.end.store(0, std::memory_order_release);
  s.begin.store(0, std::memory_order_release);
}

bool shrank(int slot) { return slot >= 0 && g_slots[slot].shrank.load(std::memory_order_acquire); }

std::optional<std::string> shrunk_file() {
  if (!g_any_shrank.load(std::memory_order_acquire)) return std::nullopt;
  return std::string(g_shrunk_name);
}

void forget_for_tests() { g_any_shrank.store(false); }

void fail_if_shrunk() {
  if (std::optional<std::string> name = shrunk_file())
    throw Error(ErrorKind::Data, *name,
                "the file shrank while it was read (another program truncated it in place): nothing written");
}

}  // namespace sigbus_guard

void MappedFile::force_for_tests(int mode) { g_forced.store(mode); }

bool MappedFile::wanted(std::size_t size) {
  static const bool off = [] {
    const char* env = std::getenv("LSTORE_NO_MMAP");
    return env && *env && std::string_view(env) != "0";
  }();
  const int forced = g_forced.load(std::memory_order_relaxed);
  if (forced) return forced > 0 && size > 0;
  return !off && size >= (std::size_t{1} << 20);
}

MappedFile::MappedFile(int fd, std::size_t size) {
  struct stat st {};
  if (size == 0 || fd < 0 || ::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
      static_cast<std::uint64_t>(st.st_size) < size)
    return;
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED) return;
  m_slot = sigbus_guard::guard(p, size, nullptr);
  if (m_slot < 0) {  // every slot taken: pread()
    ::munmap(p, size);
    return;
  }
  m_data = static_cast<const char*>(p);
  m_size = size;
  m_mapped = (size + g_page - 1) / g_page * g_page;
}

MappedFile::~MappedFile() {
  if (!m_data) return;
  sigbus_guard::unguard(m_slot);
  ::munmap(const_cast<char*>(m_data), m_mapped);
}

bool MappedFile::populate(std::size_t begin, std::size_t end) {
  begin = begin / g_page * g_page;
  end = std::min(end, m_size);
  if (end <= begin) return true;
#ifdef MADV_POPULATE_READ
  for (int tries = 0; tries < 100; ++tries) {
    if (::madvise(const_cast<char*>(m_data) + begin, end - begin, MADV_POPULATE_READ) == 0) return true;
    if (errno == EFAULT) return false;  // past the end of the file now
    if (errno != EINTR && errno != EAGAIN) break;  // not supported: faults as the scan reads
  }
#endif
  return true;
}

void MappedFile::release_below(std::size_t end) {
  end = std::min(end, m_size) / g_page * g_page;
  if (end <= m_released) return;
  ::madvise(const_cast<char*>(m_data) + m_released, end - m_released, MADV_DONTNEED);
  m_released = end;
}

bool MappedFile::shrank() const { return sigbus_guard::shrank(m_slot); }

}  // namespace lstore
