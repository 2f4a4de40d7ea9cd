// Salvage of a store file that json.load refuses (cut short by a crash
// during persist, or damaged in the middle): the file is cut back to the
// last complete entry before the damage and its open containers closed, so
// every entry kept is the original's bytes. Used by lstore repair.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lstore {

struct Salvaged {
  std::string bytes;         // a prefix of the original, then the closing brackets
  std::size_t damage_at = 0; // the first byte json.load refuses
  std::size_t kept = 0;      // bytes of the original kept
  std::string cut_in;        // the root member (collection) whose entries were cut; empty: cut between root members
  std::size_t entries_kept = 0;  // complete entries of cut_in kept
  bool depth2 = false;       // the cut is between the entries of a collection
  // Damaged entries dropped whole because the file went on after them:
  // (collection, key). The cut above is then at a later damage, if any
  // (kept == bytes.size() when there is none).
  std::vector<std::pair<std::string, std::string>> skipped;
};

// `text` (a JSON object file) cut back as above; nullopt when json.load
// accepts it already or when not even its root object opens. A damaged entry
// followed by more of the file is dropped alone, and the rest kept.
std::optional<Salvaged> salvage_json_object(std::string_view text);

}  // namespace lstore
