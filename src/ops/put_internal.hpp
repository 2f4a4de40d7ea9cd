// Shared by put.cpp (Python stores) and put_ts.cpp (LlamaIndex.TS stores).
#pragma once

#include <string>
#include <vector>

#include "lstore/edit.hpp"

namespace lstore {
namespace put_detail {
// An input record that cannot be stored: Error(Data) naming its number.
[[noreturn]] void bad_record(std::size_t i, const std::string& what);
}  // namespace put_detail

ChangeSet put_records_ts(Store& store, const std::vector<Json>& records, const PutOptions& options);

}  // namespace lstore
