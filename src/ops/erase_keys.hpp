// Erasing many keys of one collection at once (delete's cascade): one pass
// over the entries, where a JsonDoc::erase_all call per key scans the whole
// collection each time (O(n k) for k keys of n entries).
#pragma once

#include <string_view>
#include <unordered_set>

#include "lstore/jsondoc.hpp"

namespace lstore {

// Every entry of every key in `keys` (a duplicated key goes entirely); the
// others keep their bytes and order, and the section is marked changed when
// one went. The keys that had an entry are added to `found`.
void erase_keys(Section& s, const std::unordered_set<std::string_view>& keys, std::unordered_set<std::string_view>& found);

}  // namespace lstore
