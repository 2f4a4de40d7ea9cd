// A store file read through a read-only mapping, a window at a time, for the
// outline's scans (outline.cpp's Source).
//
// Why: pread() copies every byte out of the page cache (half of `ls`'s CPU
// on a 1 GB store); a mapping lets the scan read the cached pages in place.
// Memory stays bounded: each window is populated before it is read
// (MADV_POPULATE_READ) and the pages behind the scan are dropped from the
// mapping (MADV_DONTNEED; they stay in the page cache).
//
// What it relies on: lstore's own writers replace a store file by rename, so
// the mapped inode never changes under a reader. Another program may still
// truncate the file in place (Python's open(path, "w")); a page past the new
// end of file then raises SIGBUS on access. That never reaches the user:
// populating a window past the end fails (EFAULT) before it is read, and for
// the instant between populating and reading, a SIGBUS handler (installed
// once, the first time a file is mapped) puts a page of zeros over the
// faulting page of a registered mapping and marks the mapping `shrank()`; a
// SIGBUS anywhere else goes to the handler that was there before. The scan
// then reports "file shrank" as a short pread() does.
// LSTORE_NO_MMAP=1 reads with pread() instead (the tests compare the two).
#pragma once

#include <atomic>
#include <cstddef>
#include <optional>
#include <string>

namespace lstore {

// The SIGBUS handler's table, for any read-only mapping of a store file
// (MappedFile's windows, Buffer's whole files): a page of the mapping found
// past the end of its file reads as zeros instead of killing the process,
// and is remembered, so that the command that read it fails instead of
// trusting what it read (main.cpp, and every commit of a write, check
// shrunk_file()).
namespace sigbus_guard {
// Registers [data, data + length); `name` (kept, not copied: it must outlive
// the guard) names the file in shrunk_file(), and nullptr keeps it out of
// that (a MappedFile's scan checks shrank() and fails by itself). Returns
// the slot, or -1 when the table is full (the mapping is then unguarded, as
// any mapping was).
int guard(const void* data, std::size_t length, const char* name);
void unguard(int slot);  // before the mapping goes
bool shrank(int slot);   // a page of this mapping was past its file's end
// The first named guarded file found shorter than its mapping since the
// process started; nullopt when none was.
std::optional<std::string> shrunk_file();
void forget_for_tests();
// Throws Error(Data) naming that file: called before every commit of a
// write, so what was read as zeros is never written anywhere.
void fail_if_shrunk();
}  // namespace sigbus_guard

class MappedFile {
 public:
  // Maps the first `size` bytes of `fd`; ok() is false when the file is not
  // a regular file of at least that size, the mapping fails, or
  // the mapping is full (the caller then reads with pread()).
  MappedFile(int fd, std::size_t size);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  bool ok() const { return m_data != nullptr; }
  const char* data() const { return m_data; }
  std::size_t size() const { return m_size; }

  // Faults [begin, end) in; false when the file no longer holds those bytes.
  bool populate(std::size_t begin, std::size_t end);
  // Drops the mapping's pages below `end` (the page cache keeps them).
  void release_below(std::size_t end);
  // A page of the mapping was found past the end of the file (SIGBUS): the
  // bytes read since are zeros, not the file's.
  bool shrank() const;

  // Whether a file of `size` bytes is read through a mapping: from 1 MiB
  // (below, a mapping costs more than the copy it saves), unless
  // LSTORE_NO_MMAP is set.
  static bool wanted(std::size_t size);
  // Tests: 1 maps every file, -1 none, 0 restores the default.
  static void force_for_tests(int mode);

 private:
  const char* m_data = nullptr;
  std::size_t m_size = 0;
  std::size_t m_mapped = 0;    // bytes mapped (size rounded up to pages)
  std::size_t m_released = 0;  // pages below this were dropped
  int m_slot = -1;             // in the SIGBUS handler's table
};

}  // namespace lstore
