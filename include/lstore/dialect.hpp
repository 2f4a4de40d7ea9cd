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

}  // namespace lstore
