// Converting a store between LlamaIndex's Python and TypeScript dialects
// (FORMAT.md §9): file names, field names, type words, the TS string-wrapped
// __data__, the index store's shape, and every hash recomputed the way the
// target computes it.
#pragma once

#include <string>
#include <vector>

#include "lstore/store.hpp"

namespace lstore {

// A new store in `target`'s dialect holding what `source` holds, as the
// target's LlamaIndex writes it. What the target cannot hold (a graph store
// in TS, an index type TS cannot load) is left out and named in `notes`.
// Files the model does not hold (FAISS, notes) are carried unchanged.
Store convert_dialect(const Store& source, Dialect target, std::vector<std::string>& notes);

// An old-era Python store (0.6 extra_info nodes and id-string relationships,
// text_id_to_doc_id, a bare vector_store.json, object __data__ in the index
// store) rewritten so that LlamaIndex 0.12 loads it without its lossy legacy
// path. Entries that 0.12 already reads as they are stay byte for byte.
Store upgrade_store(const Store& source, std::vector<std::string>& notes);

}  // namespace lstore
