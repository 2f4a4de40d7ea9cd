// Which table each file's entries go to when a store is written: LlamaIndex's
// own tables when every entry fits them, a PGVectorStore table, or lstore's.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "lstore/store.hpp"
#include "backends/chat_rows.hpp"
#include "backends/records.hpp"
#include "tables.hpp"

namespace lstore::pg {

// File name -> the table its entries go to (files not listed: lstore_entries).
using Routes = std::map<std::string, std::string>;
Routes plan_routes(const Store& store, const Place& place);

// The rows_in of a vector store file whose vectors are a PGVectorStore table.
inline constexpr std::string_view kPgVectorRoute = "pgvector:";
inline bool is_pgvector_route(std::string_view rows_in) { return rows_in.starts_with(kPgVectorRoute); }
// The rows_in of the files rebuilt from a PGVectorStore table written alone
// (docstore, index store, and the empty files persist writes beside them).
inline constexpr std::string_view kRebuiltRoute = "pgvector-nodes:";

// The chat file's rows as PostgresChatStore writes them, when every message
// survives the trip (json refuses NaN and \u0000; model_dump_json would
// print NaN as null); otherwise (nullopt) the file is only carried.
std::optional<ChatRows> native_chat_rows(const FileRecord& f);

}  // namespace lstore::pg
