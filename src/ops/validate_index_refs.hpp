// The node references of a Python vector index struct read without its DOM.
// At 400k nodes the struct is a 34 MB string of escaped JSON: decoding it
// builds its text twice over and a tree of 400k members (about 250 MB at
// once); here it is unescaped once and its nodes_dict streamed through the
// outline's visitor, keeping two spans per member.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lstore {

struct VectorStructRefs {
  std::string data;  // the unescaped __data__
  // nodes_dict's members in stored order: (node id, the id it maps to), as
  // offsets of `data` (views would not survive a move of a short string).
  struct Member {
    std::size_t key = 0, key_size = 0, value = 0, value_size = 0;
  };
  std::vector<Member> nodes;
  std::string_view key(const Member& m) const { return std::string_view(data).substr(m.key, m.key_size); }
  std::string_view value(const Member& m) const { return std::string_view(data).substr(m.value, m.value_size); }
};

// The nodes_dict of a {"__type__": "vector_store", "__data__": "..."} entry
// whose JSON json.load accepts, with no duplicate key at any level read and
// no escape in an id; nullopt for anything else, which the caller decodes as
// usual (so every error and unusual case is reported as before).
std::optional<VectorStructRefs> read_vector_struct_refs(std::string_view entry);

// The same read, each nodes_dict member (node id, the id it maps to) told to
// `sink` as it is found instead of kept (validate's streamed path keeps only
// their hashes); false where read_vector_struct_refs() gives nullopt.
bool visit_vector_struct_refs(std::string_view entry,
                              const std::function<void(std::string_view, std::string_view)>& sink);

}  // namespace lstore
