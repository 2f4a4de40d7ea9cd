// A streamed store (Backend::load_streamed: its large files are counted, not
// held) written as records file by file, entry by entry, straight from the
// files read (issue #20): memory is bounded by the largest entry whatever the
// store's size, and the records are those write_records would give for the
// store read whole, byte for byte.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "lstore/progress.hpp"
#include "lstore/store.hpp"

namespace lstore {

class RecordSink;

// One streamed file, planned: its layout and collections.
// An entry larger than the read window, handed over in pieces (outline.hpp):
// what the sink must know before its first byte.
struct PiecedEntry {
  std::size_t size = 0;
  bool newline = false;  // its JSON holds a '\n' or '\r'
};

struct StreamedFilePlan {
  std::string layout;  // compact JSON, as records.cpp's make_layout prints it
  std::vector<std::string> collections;
  FileKind kind = FileKind::Other;
  JsonDialect dialect = JsonDialect::Python;
  bool packed = false;  // for a sink that packs embeddings (it checks those that do not pack)
  std::shared_ptr<Buffer> source;
  std::map<std::size_t, PiecedEntry> pieced;  // by the file offset of the value
};

// Reads every streamed file of `store` that the model holds (a first pass:
// each entry checked as Store::verify checks it, the layout made) before
// anything is written. Throws StreamedWriteRefused when the result could
// differ from the loaded path's (an entry that is not JSON, bytes around the
// entries that are not UTF-8, a duplicate key): the caller then reads the
// store whole, which reports or carries that as it always has. `packed`: the
// sink packs embeddings (RecordSink::wants_packed); the second pass then
// checks the embeddings that do not pack, and may refuse too, before the
// target is replaced (only a sink that writes in place, a stream on stdout,
// must not pack).
std::map<std::string, StreamedFilePlan, std::less<>> plan_streamed_files(const Store& store, bool packed);

// The second pass over one planned file: its file record, then its entries.
void emit_streamed_file(const std::string& name, const StreamedFilePlan& plan, RecordSink& sink,
                        ProgressTicker& progress);

// Checks every entry of the streamed files that the model holds, as
// Store::verify would (for a writer that copies them as they are); throws
// StreamedWriteRefused on the first that is not JSON.
void verify_streamed_files(const Store& store);

}  // namespace lstore
