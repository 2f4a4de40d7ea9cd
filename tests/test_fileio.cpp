// The file primitives every write goes through (lstore/fileio.hpp):
// AtomicFile, StagedDirectory's swap, StoreLock.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "corpus.hpp"
#include "lstore/error.hpp"
#include "core/fileio.hpp"

using namespace lstore;
namespace fs = std::filesystem;
using corpus::slurp;

namespace {

struct TempDir {
  fs::path dir;
  explicit TempDir(const char* tag) {
    dir = fs::temp_directory_path() / ("lstore-fileio-" + std::to_string(::getpid()) + "-" + tag);
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::size_t entries() const { return static_cast<std::size_t>(std::distance(fs::directory_iterator(dir), {})); }
};

void put_file(const fs::path& p, const std::string& bytes) { std::ofstream(p, std::ios::binary) << bytes; }
unsigned mode_of(const fs::path& p) {
  struct stat st {};
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

}  // namespace

TEST_CASE("AtomicFile: commit replaces the bytes, keeps the mode, leaves no temporary file") {
  TempDir t("commit");
  fs::path target = t.dir / "docstore.json";
  put_file(target, "old");
  ::chmod(target.c_str(), 0640);
  {
    AtomicFile f(target);
    f.write("new ");
    f.write("bytes");
    CHECK(slurp(target.string()) == "old");  // nothing is seen before the commit
    f.commit();
  }
  CHECK(slurp(target.string()) == "new bytes");
  CHECK(mode_of(target) == 0640);
  CHECK(t.entries() == 1);
}

TEST_CASE("AtomicFile: destroyed uncommitted, the target is as it was and the temporary file is gone") {
  TempDir t("abandon");
  fs::path target = t.dir / "docstore.json";
  put_file(target, "old");
  {
    AtomicFile f(target);
    f.write("half");
    CHECK(fs::exists(f.temp_path()));
  }
  CHECK(slurp(target.string()) == "old");
  CHECK(t.entries() == 1);
}

TEST_CASE("AtomicFile: a temporary file a killed writer left is removed; a live writer's is not") {
  TempDir t("stale");
  fs::path target = t.dir / "store.db";
  // pid 2^22 + 1 is above Linux's pid_max default, so no process has it.
  fs::path dead = t.dir / ".store.db.lstore-tmp-4194305";
  fs::path live = t.dir / (".store.db.lstore-tmp-" + std::to_string(::getppid()));
  put_file(dead, "x");
  put_file(live, "y");
  AtomicFile f(target);
  CHECK_FALSE(fs::exists(dead));
  CHECK(fs::exists(live));
  // A writer that opens the file itself (SQLite) gets a path nothing is at.
  CHECK_FALSE(fs::exists(f.temp_path()));
  put_file(f.temp_path(), "written by its own writer");
  f.commit();
  CHECK(slurp(target.string()) == "written by its own writer");
}

TEST_CASE("StagedDirectory: the new directory is swapped in whole; uncommitted, nothing changes") {
  TempDir t("staged");
  fs::path store = t.dir / "persist";
  fs::create_directories(store);
  put_file(store / "docstore.json", "old");
  {
    StagedDirectory s(store);
    s.write_with("docstore.json", [](FileSink& f) { f.write("abandoned"); });
  }
  CHECK(slurp((store / "docstore.json").string()) == "old");
  CHECK(t.entries() == 1);  // no staging directory left
  {
    StagedDirectory s(store);
    s.write_with("docstore.json", [](FileSink& f) { f.write("new"); });
    s.write_with("index_store.json", [](FileSink& f) { f.write("{}"); });
    CHECK(s.commit().empty());
  }
  CHECK(slurp((store / "docstore.json").string()) == "new");
  CHECK(slurp((store / "index_store.json").string()) == "{}");
  CHECK(t.entries() == 1);  // the old directory is gone too
}

namespace {

// The processes whose parent is this one.
std::set<std::string> children() {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator("/proc")) {
    std::string pid = e.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string stat = slurp((e.path() / "stat").string());
    std::size_t close = stat.rfind(')');  // "pid (comm) state ppid ..."
    if (close == std::string::npos) continue;
    int ppid = 0;
    char state = 0;
    if (std::sscanf(stat.c_str() + close + 1, " %c %d", &state, &ppid) == 2 && ppid == ::getpid()) out.insert(pid);
  }
  return out;
}

}  // namespace

TEST_CASE("StagedDirectory: a replaced large store goes to a child that holds no descriptor but its cue") {
  TempDir t("handoff");
  fs::path store = t.dir / "persist";
  fs::create_directories(store);
  put_file(store / "vectors.json", "");
  fs::resize_file(store / "vectors.json", std::uintmax_t{65} << 20);  // sparse: its size is what counts
  std::set<std::string> before = children();
  free_replaced_files_after_exit(true);
  {
    StagedDirectory s(store);
    s.write_with("vectors.json", [](FileSink& f) { f.write("[]"); });
    CHECK(s.commit().empty());  // files it did not read: nothing to hand off
  }
  CHECK(children() == before);
  put_file(store / "vectors.json", "");
  fs::resize_file(store / "vectors.json", std::uintmax_t{65} << 20);
  {
    StagedDirectory s(store);
    s.write_with("vectors.json", [](FileSink& f) { f.write("{}"); });
    CHECK(s.commit(true).empty());
  }
  free_replaced_files_after_exit(false);
  std::set<std::string> added;
  for (const std::string& pid : children())
    if (!before.count(pid)) added.insert(pid);
  // It waits for this process to exit: here it is still there.
  REQUIRE(added.size() == 1);
  // Its first act is to close every other descriptor (it may not have run yet).
  std::vector<std::string> fds;
  for (int tries = 0; tries < 500; ++tries) {
    fds.clear();
    for (const auto& e : fs::directory_iterator("/proc/" + *added.begin() + "/fd")) fds.push_back(fs::read_symlink(e.path()).string());
    if (fds.size() == 1) break;
    ::usleep(10000);
  }
  REQUIRE(fds.size() == 1);  // not the lock, not stdout or stderr: the pipe of its cue
  CHECK(fds[0].rfind("pipe:", 0) == 0);
  CHECK(t.entries() == 1);  // the old store is gone from the directory
  CHECK(slurp((store / "vectors.json").string()) == "{}");

  // Off (a library caller): no child.
  put_file(store / "vectors.json", "");
  fs::resize_file(store / "vectors.json", std::uintmax_t{65} << 20);
  {
    StagedDirectory s(store);
    s.write_with("vectors.json", [](FileSink& f) { f.write("[]"); });
    CHECK(s.commit(true).empty());
  }
  std::size_t now = children().size();
  CHECK(now == before.size() + 1);
}

TEST_CASE("StoreLock: a second writer fails at once naming the holder; the lock file goes on release") {
  TempDir t("lock");
  fs::path store = t.dir / "persist";
  fs::create_directories(store);
  {
    StoreLock first(store, std::chrono::milliseconds(0));
    try {
      StoreLock second(store, std::chrono::milliseconds(0));
      FAIL("the second lock was taken");
    } catch (const Error& e) {
      CHECK(e.kind() == ErrorKind::Data);
      CHECK(std::string(e.what()).find(std::to_string(::getpid())) != std::string::npos);
    }
  }
  CHECK(t.entries() == 1);  // only the store: .persist.lstore.lock removed
  CHECK_NOTHROW(StoreLock(store, std::chrono::milliseconds(0)));
}
