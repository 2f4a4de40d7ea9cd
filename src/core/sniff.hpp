// Recognising files by their bytes: each probe says "mine" or "not mine".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "lstore/store.hpp"

namespace lstore {

// Classifies a file from its first bytes (`head`, up to 4 KiB) and its size.
// Returns FileKind::Other when the bytes may be JSON (to be outlined next);
// fills `detail` for binary kinds (FAISS dimensions, LFS object size, ...).
FileKind sniff_bytes(std::string_view head, std::uint64_t size, std::string& detail);

// Classifies a JSON object file from its root sections (and, where the keys
// are ambiguous, its first entry and `file_name`).
FileKind classify_json(const JsonDoc& doc, const std::string& file_name, Dialect& dialect, std::string& detail);

// Is `name` (a base name) one LlamaIndex gives a store file? A broken file
// of such a name is an error; a broken note beside the store is not.
bool is_store_file_name(std::string_view name);

// Works out the LlamaIndex version range that wrote `store` (Store::era).
std::string detect_era(const Store& store);

}  // namespace lstore
