// The pieces of records.cpp that the streamed writer (records_stream.cpp)
// shares, so that a file written entry by entry gets the very layout and
// records that the loaded model would give it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lstore/json.hpp"
#include "lstore/store.hpp"

namespace lstore::records_detail {

const char* dialect_name(JsonDialect d);
// Is `raw_key` exactly what the dialect's writer prints for `key`?
bool key_as_printed(std::string_view raw_key, std::string_view key, JsonDialect d);
bool is_embedding_section(FileKind kind, const std::string& name);
// Packs `raw` ("[0.1, 0.2]") when printing the numbers back gives the same bytes.
bool try_pack(std::string_view raw, JsonDialect d, std::string_view sep, std::vector<double>& out);
// The slot kind of a document of the model.
FileKind kind_in_model(const Store& store, const JsonDoc* doc);

}  // namespace lstore::records_detail
