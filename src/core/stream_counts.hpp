// A store file read in one streaming pass for its summary: the counts of its
// collections (distinct keys from 64-bit key hashes, element counts, graph
// pairs), and a small stand-in of the file (its "sample") that keeps every
// scalar member and every small collection whole, and of each large
// collection its first entry and its first entry that is not an object.
// The sample is what classification and era detection look at, so a store
// read this way is classified exactly as one read whole, in memory bounded by
// 8 bytes per entry instead of the whole model (issue #20).
#pragma once

#include <cstddef>
#include <map>
#include <string>

#include "lstore/store.hpp"

namespace lstore {

struct StreamedFile {
  std::string sample;  // a JSON object text (JsonDoc::read it)
  std::map<std::string, CollectionCounts, std::less<>> counts;  // per collection (object/array member)
  // Some collection of the sample holds fewer entries than the file: only
  // counts derived from `counts` may be taken from this file.
  bool truncated = false;
  // The counts cannot be trusted to match the loaded model (a duplicate key
  // or hash, a root key twice, an entry that does not decode, or one over
  // 1 MiB that the sample would hold unchecked: an index store's struct),
  // so the file is read whole instead.
  bool read_whole = false;
};

// Streams the file open at `fd`; with `keep`, the entries under that key stay
// in the sample too (get ID). Throws ParseError as outline_file does.
StreamedFile stream_counts(int fd, std::size_t size, const std::string* keep = nullptr);

}  // namespace lstore
