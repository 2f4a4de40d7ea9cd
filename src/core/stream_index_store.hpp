// An index store read for its summary without holding its structs.
//
// A Python VectorStoreIndex keeps every node id in its struct's nodes_dict,
// and the struct is one JSON string (__data__) inside the entry, so an index
// over ten million nodes is a single 900 MB entry. The outline holds an
// entry whole, and count_index_struct() unescapes it and outlines it again:
// three copies of the largest thing in the store. This reads the file in
// 1 MiB windows with a small validating lexer, counts the nodes of each
// struct as count_index_struct() counts them (the entries of its first
// nodes_dict / nodesDict / nodes / all_nodes member, by struct type), and
// keeps a sample of the file in which each such struct is cut down to its
// first node. The summary takes the counts from CollectionCounts::
// struct_nodes; everything else reads the sample exactly as it reads the file.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/stream_counts.hpp"

namespace lstore {

// nullopt when the file is anything but plain: a byte outside ASCII, a
// syntax error, a duplicate struct id, a number or key too long to check
// here, a sample that would not be small. The loaded path then reads the file
// and reports whatever is wrong with it, as it always has.
// With `keep` (get ID), the struct of that id stays whole in the sample.
std::optional<StreamedFile> stream_index_store(int fd, std::size_t size, const std::string* keep = nullptr);

// validate's references read the same way: every (node id, the id it maps
// to) of each vector struct's nodes_dict, told to `sink` as read, for the
// whole file without holding a struct. True only where validate_index_refs'
// visit_vector_struct_refs() would take every entry of index_store/data and
// tell the same pairs (and the file holds nothing else the streamed validate
// would refuse); false wherever this reader is unsure (any \\u escape, a byte
// outside ASCII, a duplicate name, another struct type, the type after the
// struct, ...), and the pairs told are then to be dropped.
using IndexRefSink = std::function<void(std::string_view node, std::string_view target)>;
bool stream_index_refs(int fd, std::size_t size, const IndexRefSink& sink,
                       const std::function<void(std::size_t offset)>& passed = {});
// The same over a text in memory, fed in pieces of `window` bytes (tests
// give a small one to cross every boundary).
bool stream_index_refs(std::string_view text, const IndexRefSink& sink, std::size_t window = std::size_t{1} << 20);

}  // namespace lstore
