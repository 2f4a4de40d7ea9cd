// Reading a store for a command, and what --verbose says about it.
#include <fmt/format.h>

#include <chrono>

#include "commands.hpp"
#include "lstore/backend.hpp"
#include "ops/diagnose.hpp"
#include "lstore/error.hpp"

namespace lstore::cli {

void note_read(Output& out, Backend& backend, const Store& store, std::chrono::steady_clock::time_point start) {
  if (!out.verbose()) return;
  std::uint64_t bytes = 0;
  for (const FileInfo& f : store.files) bytes += f.size;
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  out.note(fmt::format("read {}: {}, {}, {} dialect, LlamaIndex {}, in {:.3f} s", backend.describe(),
                       plural(store.files.size(), "file"), human_bytes(bytes),
                       store.dialect == Dialect::TypeScript ? "TS" : "Python", store.era.empty() ? "unknown" : store.era,
                       seconds));
}

Store load_store(Output& out, Backend& backend, bool tolerant, bool may_be_empty, std::vector<std::string>* notes) {
  auto start = std::chrono::steady_clock::now();
  Store store = tolerant ? backend.load_tolerant() : backend.load();
  // Not a store is not a store: a command does not answer "0 nodes" or "not
  // found" about /etc. validate (tolerant) reports it as its not-a-store
  // finding; put may start a store in an empty place.
  std::string found;
  if (!tolerant && !holds_llamaindex_files(store, &found) && !(may_be_empty && store.files.empty()))
    throw Error(ErrorKind::Data, backend.describe(), "not a LlamaIndex store (" + found + ")");
  // A damaged file the command may not need: one line names it, so no
  // answer is silently partial (a command that needs it fails on it).
  if (!tolerant)
    for (const DamagedFile& d : damaged_store_files(store)) out.warn_on_success(d.file->name + " " + d.why);
  // Every command says what the store could not give back (rows without a
  // node id, float32 values, ...), not only convert: a listing or a query
  // over a rebuilt store is otherwise silently partial.
  std::vector<std::string> read = backend.read_notes();
  if (notes)
    notes->insert(notes->end(), read.begin(), read.end());
  else
    for (const std::string& n : read) out.warn_on_success(backend.describe() + ": " + n);
  note_read(out, backend, store, start);
  return store;
}

void print_error(const std::string& command, const Error& e) {
  std::string where = e.where().empty() ? "" : e.where() + ": ";
  std::string place = e.place().empty() ? "" : " (" + e.place() + ")";
  // Store names are redacted where they are printed; this is the net under
  // that for a raw name (a URI with its password) that slipped into an error.
  std::string line = redact_store_names_in(where + e.what() + place);
  std::fprintf(stderr, "lstore: %s: %s\n", command.c_str(), line.c_str());
}

Store load_store(Output& out, const std::string& name, bool tolerant, bool may_be_empty) {
  return load_store(out, *open_backend(name), tolerant, may_be_empty);
}

}  // namespace lstore::cli
