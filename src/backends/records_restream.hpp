// A file rebuilt from records (records.cpp's assemble_store) streamed as the
// directory backend streams a store file (stream_counts.hpp): its counts and
// a small sample for the model instead of its outline, so that the way back
// (convert sqlite:FILE DIR, jsonl:FILE DIR) holds no whole collection.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "lstore/store.hpp"

namespace lstore {

struct StreamedSample {
  JsonDoc doc;  // the sample, classified as the whole file would be
  FileKind kind = FileKind::Other;
  std::string detail;
  Dialect dialect = Dialect::Python;
  std::map<std::string, CollectionCounts, std::less<>> counts;
};

// nullopt when the file must be read whole (its bytes are not in a file,
// duplicate keys, an entry or structure the loaded path would report, a
// side file whose collections a command reads): the caller then reads it as
// without streaming, which decides as it always has. `keep`: an id whose
// entries the sample keeps too (get ID), as Backend::load_streamed's.
std::optional<StreamedSample> stream_rebuilt(const std::string& name, const std::shared_ptr<Buffer>& buffer,
                                             JsonDialect dialect, const std::string* keep);

}  // namespace lstore
