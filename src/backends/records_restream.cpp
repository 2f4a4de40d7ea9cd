// Streams a rebuilt file for the model (see records_restream.hpp); the same
// decisions as the directory backend's stream_file_counts, so that a store
// reads alike from a directory and from its records.
#include "records_restream.hpp"

#include <cstdlib>
#include <new>

#include "core/sniff.hpp"
#include "core/stream_counts.hpp"
#include "core/stream_index_store.hpp"
#include "records.hpp"

namespace lstore {

bool streaming_disabled() {
  const char* off = std::getenv("LSTORE_NO_STREAM");
  return off && *off && std::string_view(off) != "0";
}

std::optional<StreamedSample> stream_rebuilt(const std::string& name, const std::shared_ptr<Buffer>& buffer,
                                             JsonDialect dialect, const std::string* keep) {
  // Index stores above this are read in windows (stream_index_store.hpp):
  // below it every struct fits the outline's checked entries (1 MiB).
  constexpr std::size_t kIndexStoreStreamed = std::size_t{1} << 20;
  if (buffer->fd() < 0) return std::nullopt;
  const std::string base = name.substr(name.rfind('/') + 1);
  try {
    std::optional<StreamedFile> index_store;
    if (buffer->view().size() > kIndexStoreStreamed && base == "index_store.json")
      index_store = stream_index_store(buffer->fd(), buffer->view().size(), keep);
    StreamedFile f = index_store ? std::move(*index_store) : stream_counts(buffer->fd(), buffer->view().size(), keep);
    if (f.read_whole) return std::nullopt;
    StreamedSample out{JsonDoc::read(name, Buffer::own(std::move(f.sample)), JsonDialect::Python), FileKind::Other, {},
                       Dialect::Python, {}};
    out.kind = classify_json(out.doc, base, out.dialect, out.detail);
    bool counted = out.kind == FileKind::DocStore || out.kind == FileKind::VectorStore ||
                   out.kind == FileKind::GraphStore || out.kind == FileKind::PropertyGraph;
    if (f.truncated && !counted) return std::nullopt;
    out.counts = std::move(f.counts);
    out.doc.set_dialect(dialect);  // as assemble_store sets the whole file's
    return out;
  } catch (const std::bad_alloc&) {
    throw;  // never retried on the loaded path, which needs far more memory
  } catch (const std::exception&) {
    return std::nullopt;  // the loaded path says what is wrong, as it always has
  }
}

}  // namespace lstore
