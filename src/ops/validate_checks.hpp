// What validate checks in one entry, shared by its loaded path (validate.cpp)
// and its streamed one (validate_stream.cpp), so that both decide alike.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "lstore/json.hpp"

namespace lstore {

// What validate needs of one embedding (16 bytes an entry, all held at
// once): the element count, whether a value is NaN or infinite, whether all
// are zero, as json.loads reads them. Found from the bytes without
// converting a number; only an embedding where a number could read as
// something other than its digits suggest (NaN/Infinity tokens, an exponent
// of three digits, a run of 200 digits or more) is read number by number
// (numbers::scan_array, Python's semantics: 1e308 is finite, 1e400 is inf,
// a long run of digits without a point is an int, not an overflow).
struct VectorScan {
  std::size_t count = 0;
  bool is_list = false;
  bool non_finite = false;
  bool all_zero = true;
};

// `elements`: the outline's element count (Member::kNotCounted if unknown).
VectorScan scan_embedding(std::string_view raw, std::uint32_t elements);

// A hex digest packed to bytes; only lowercase hex (what sha256_hex writes)
// packs, so equal bytes mean equal strings.
bool pack_sha256_hex(std::string_view hex, std::array<unsigned char, 32>& out);

// A digest of metadata as metadata_dict holds it: without the keys
// SimpleVectorStore adds, NaN/Infinity as null (0.12 writes them so).
std::size_t metadata_dict_digest(const Json& md);

}  // namespace lstore
