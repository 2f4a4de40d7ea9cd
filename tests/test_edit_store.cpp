// edit_store: the one write sequence of put, delete and repair
// (lstore/edit_store.hpp): dry runs write nothing, a failing edit leaves the
// store as it was, a backup holds the store as it was, the lock is taken.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>
#include <map>

#include "corpus.hpp"
#include "lstore/backend.hpp"
#include "lstore/edit_store.hpp"
#include "lstore/error.hpp"

using namespace lstore;
namespace fs = std::filesystem;
using corpus::slurp;

namespace {

struct SampleCopy {
  fs::path dir;
  explicit SampleCopy(const char* tag) {
    dir = fs::temp_directory_path() / ("lstore-edit-store-" + std::to_string(::getpid()) + "-" + tag);
    fs::remove_all(dir);
    fs::copy(fs::path(LSTORE_SOURCE_DIR) / "testdata" / "sample", dir, fs::copy_options::recursive);
  }
  ~SampleCopy() {
    std::error_code ec;
    fs::remove_all(dir, ec);
    fs::remove_all(dir.string() + ".bak", ec);
  }
  std::map<std::string, std::string> bytes() const {
    std::map<std::string, std::string> out;
    for (const auto& e : fs::directory_iterator(dir)) out[e.path().filename().string()] = slurp(e.path().string());
    return out;
  }
};


ChangeSet delete_first_ref_doc(Store& s) {
  const Section* ref = s.docstore->section("docstore/ref_doc_info");
  REQUIRE(ref);
  REQUIRE(!ref->entries.empty());
  return delete_ref_docs(s, {std::string(ref->entries.front().key)});
}

}  // namespace

TEST_CASE("edit_store: a dry run edits in memory and writes nothing") {
  SampleCopy c("dry");
  auto before = c.bytes();
  auto backend = make_directory_backend(c.dir.string());
  EditOptions o;
  o.dry_run = true;
  EditedStore done = edit_store(c.dir.string(), *backend, delete_first_ref_doc, o);
  CHECK_FALSE(done.changes.empty());
  CHECK(c.bytes() == before);
}

TEST_CASE("edit_store: an edit that throws leaves the store as it was") {
  SampleCopy c("throws");
  auto before = c.bytes();
  auto backend = make_directory_backend(c.dir.string());
  auto failing = [](Store& s) -> ChangeSet {
    delete_first_ref_doc(s);  // the model is changed, then the edit fails
    throw Error(ErrorKind::Data, "edit", "refused");
  };
  CHECK_THROWS_AS(edit_store(c.dir.string(), *backend, failing, EditOptions{}), Error);
  CHECK(c.bytes() == before);
}

TEST_CASE("edit_store: writes the edit, keeps the backup as the store was, and holds the lock while it works") {
  SampleCopy c("write");
  auto before = c.bytes();
  auto backend = make_directory_backend(c.dir.string());
  EditOptions o;
  o.backup = c.dir.string() + ".bak";
  bool locked_during_edit = false;
  auto edit = [&](Store& s) {
    // A second writer cannot take the lock while the edit runs.
    try {
      auto other = make_directory_backend(c.dir.string())->lock(std::chrono::milliseconds(0));
    } catch (const Error&) {
      locked_during_edit = true;
    }
    return delete_first_ref_doc(s);
  };
  EditedStore done = edit_store(c.dir.string(), *backend, edit, o);
  CHECK(locked_during_edit);
  CHECK_FALSE(done.changes.empty());
  CHECK(c.bytes() != before);
  std::map<std::string, std::string> backup;
  for (const auto& e : fs::directory_iterator(o.backup)) backup[e.path().filename().string()] = slurp(e.path().string());
  CHECK(backup == before);
  // Released afterwards.
  CHECK_NOTHROW(make_directory_backend(c.dir.string())->lock(std::chrono::milliseconds(0)));
}

TEST_CASE("edit_store: an edit that changes nothing writes nothing and makes no backup") {
  SampleCopy c("nothing");
  auto backend = make_directory_backend(c.dir.string());
  EditOptions o;
  o.backup = c.dir.string() + ".bak";
  EditedStore done = edit_store(c.dir.string(), *backend, [](Store&) { return ChangeSet{}; }, o);
  CHECK(done.changes.empty());
  CHECK_FALSE(fs::exists(o.backup));
}
