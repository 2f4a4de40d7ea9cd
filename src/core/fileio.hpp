// Safe writes. Nothing is written in place: a new directory is built beside
// the target (every file fsynced) and swapped in with one rename, so that at
// any instant a reader sees the whole old store or the whole new one.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace lstore {

class Buffer;

// Buffered output to a file descriptor. Ranges of a source file are copied
// by the kernel (copy_file_range) when the source has a descriptor, so
// rewriting a 1 GB store with one entry removed never reads it into memory.
class FileSink {
 public:
  FileSink(int fd, std::string path) : m_fd(fd), m_path(std::move(path)) {}
  ~FileSink() = default;
  void write(std::string_view bytes);
  // Bytes that live in `source` (a view into its data): copied, not re-serialised.
  void copy(const Buffer& source, std::string_view bytes);
  void flush();
  std::uint64_t written() const { return m_written; }

 private:
  void flush_pending();
  void put(const char* data, std::size_t size);
  void handed(std::size_t size);
  int m_fd;
  std::string m_path;
  std::string m_buf;
  const Buffer* m_src = nullptr;  // a pending range of m_src not yet copied
  std::size_t m_src_begin = 0, m_src_end = 0;
  std::uint64_t m_written = 0;
  std::uint64_t m_handed = 0;  // bytes given to the kernel so far
  std::uint64_t m_kicked = 0;  // ... of which writeback has been started
};

// The path a write to the store named `path` goes to: symlinks resolved, so
// a store reached through a link is written (and locked) where the link
// points and the link itself stays a link.
std::filesystem::path resolve_write_path(const std::string& path);

// The name of a file beside `target` that lstore owns: "." + target's name +
// `suffix`, with the name shortened (and a hash of it kept) when the whole
// would not fit in NAME_MAX with room for a ".old" suffix.
std::string sibling_name(const std::filesystem::path& target, std::string_view suffix);

// The names in the open directory `dirfd` (not "." and ".."), in directory
// order. A read error is an Error naming `display`: readdir ends the same
// way at the end and on an I/O error, and only errno tells them apart.
std::vector<std::string> list_names(int dirfd, const std::string& display);

// A file name from a backup or a database that may be written inside a store
// directory: relative, with no empty, "." or ".." component and no NUL, so
// that it cannot reach outside the directory.
bool is_safe_relative_name(std::string_view name);

// Where the fallback swap (filesystems without RENAME_EXCHANGE) moved the old
// store aside, if a writer was killed between its two renames and no writer
// has recovered it since.
std::optional<std::filesystem::path> interrupted_swap(const std::filesystem::path& target);

// true once a write has swapped its new store in: from then on the command
// has succeeded, and an interrupt must not turn that into a failure.
bool store_swapped();

// For a command-line process, which ends soon after its write: the replaced
// store's files, still held through this process's mappings, are let go by
// a child once the process has exited rather than at its exit (see
// fileio.cpp). Off by default: a library caller that lives on would have
// its child keep the old files' space until it ends.
void free_replaced_files_after_exit(bool on);

// Seconds this process has spent in fsync (files and directories) so far:
// how much of a write's time is the disk's (`-v` reports it).
double fsync_seconds();

class StagedDirectory {
 public:
  explicit StagedDirectory(std::filesystem::path target);
  ~StagedDirectory();  // removes the staging directory unless committed
  StagedDirectory(const StagedDirectory&) = delete;
  StagedDirectory& operator=(const StagedDirectory&) = delete;

  // Writes (and fsyncs) one file of the new directory through `fill`; `name`
  // may hold a '/'. The file gets the mode of the target's file of that name.
  void write_with(const std::string& name, const std::function<void(FileSink&)>& fill);
  // For an edit in place: everything of the target that the new directory
  // does not hold and that is not one of the model's files (`model_files`,
  // the regular files read from it) is carried into the new directory
  // unchanged: subdirectories such as .git/, symlinks, files that appeared
  // meanwhile. Files are hard-linked (the same inode), or copied where a
  // link is refused; a FIFO or device that cannot be linked is an Error.
  void carry_over(const std::set<std::string>& model_files);
  // Fills the new directory with a copy of the tree `source` (files copied,
  // subdirectories and symlinks kept): a backup.
  void mirror_from(const std::filesystem::path& source);
  // fsyncs the new directory and swaps it with the target (RENAME_EXCHANGE,
  // or two renames that the next writer completes or rolls back if killed
  // between them), then removes the old one. Problems after the swap (the
  // store has changed by then) are returned as warnings, not thrown.
  // `read_old`: this process read the old store's files (and holds them),
  // so that free_replaced_files_after_exit may apply.
  std::vector<std::string> commit(bool read_old = false);

 private:
  std::filesystem::path m_target;
  std::filesystem::path m_staging;
  unsigned m_mode = 0755;
  std::optional<uid_t> m_uid;  // the target's owner, when it exists
  std::optional<gid_t> m_gid;
  bool m_committed = false;
};

// The writers' lock of a store: an flock on `.<name>.lstore.lock` beside it
// (not inside: the store directory itself is swapped on every write). A
// second writer waits up to `wait` and then fails with Error(Data) naming
// the holder's pid. The lock file is only ever created by lstore (never a
// symlink or another file's hard link) and removed on release.
class StoreLock {
 public:
  StoreLock(const std::filesystem::path& store, std::chrono::milliseconds wait);
  ~StoreLock();
  StoreLock(const StoreLock&) = delete;
  StoreLock& operator=(const StoreLock&) = delete;

 private:
  int m_fd = -1;
  std::filesystem::path m_lock;
};

// Copies the directory `store` into `dir`, atomically (a staged directory
// swapped in): the --backup of the writing commands. Files are copied,
// subdirectories and symlinks kept; `dir` must be new or an empty directory,
// and outside the store.
void backup_directory(const std::filesystem::path& store, const std::filesystem::path& dir);

// A temporary file being built before it is renamed into place: removed on
// scope exit, and by the signal handler, unless release()d.
class TempPath {
 public:
  explicit TempPath(std::string path);
  ~TempPath();
  TempPath(const TempPath&) = delete;
  TempPath& operator=(const TempPath&) = delete;
  const std::string& path() const { return m_path; }
  void release();  // the file was renamed away: nothing to remove

 private:
  std::string m_path;
  bool m_armed = true;
};

// The temporary path a single-file store `target` is built at before the
// rename: ".<name>.lstore-tmp-<pid>" beside it.
std::string temp_path_for(const std::filesystem::path& target);
// Removes such files left beside `target` by writers that were killed (their
// pid no longer runs). Call with the store's lock held.
void remove_stale_temp_files(const std::filesystem::path& target);

// A file replaced all or nothing (ccache's AtomicFile is the model): the new
// bytes go to a temporary file beside the target (temp_path_for: one naming
// scheme, removed on an interrupt, cleaned by remove_stale_temp_files after
// a crash) with the target's mode; commit() fsyncs it, renames it over the
// target and fsyncs the directory. Destroyed uncommitted, the temporary
// file is removed and the target is as it was.
class AtomicFile {
 public:
  explicit AtomicFile(const std::filesystem::path& target);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // For writers that open the file themselves (SQLite): nothing is created
  // there until they do.
  const std::string& temp_path() const;
  // The temporary file open for writing (created on first use).
  int fd();
  void write(std::string_view bytes);
  void commit();

 private:
  std::filesystem::path m_target;
  TempPath m_temp;
  int m_fd = -1;
  unsigned m_mode;
};

// Writes one file atomically (AtomicFile).
void atomic_write_file(const std::filesystem::path& path, std::string_view bytes);

// fsyncs a file, or a directory (`directory`), by path.
void fsync_path(const std::filesystem::path& p, bool directory);

// Removes every staging directory still registered (for signal handlers that
// are about to exit; see src/cli/main.cpp).
void remove_pending_staging();

}  // namespace lstore
