// One pass erasing many keys of a collection (see erase_keys.hpp).
#include "erase_keys.hpp"

#include <algorithm>

namespace lstore {

void erase_keys(Section& s, const std::unordered_set<std::string_view>& keys, std::unordered_set<std::string_view>& found) {
  if (keys.empty()) return;
  auto end = std::remove_if(s.entries.begin(), s.entries.end(), [&](const Entry& e) {
    auto it = keys.find(e.key);
    if (it == keys.end()) return false;
    found.insert(*it);
    return true;
  });
  if (end == s.entries.end()) return;
  s.entries.erase(end, s.entries.end());
  s.dirty = true;
  s.touched();
}

}  // namespace lstore
