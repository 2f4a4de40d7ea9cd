// What a command reports, built once: records (a JSON object's fields in
// order, typed values) described by a schema (the record type's fields, and
// how a table shows them). The renderers in output.cpp turn them into every
// --format; lstore-json(5) lists every record type and field.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "lstore/json.hpp"

namespace lstore::cli {

using Record = JsonObject;

struct Field {
  std::string name;         // the JSON key (and the CSV / TSV header)
  std::string header = {};  // the table's column header; empty: not in the table
  // How the table shows the value; default: null "-", a string as it is,
  // anything else as compact JSON.
  std::function<std::string(const Json&)> show = {};
  std::size_t text_max = 0;  // prose: first line, cut to this many characters (0: whole)
};

struct Schema {
  std::string type;  // the record type's name in lstore-json(5)
  std::vector<Field> fields;
};

// A value as a table cell (Field::show's default) and as a CSV / TSV cell
// (null empty, strings whole, numbers and booleans as JSON writes them,
// lists and objects as compact JSON).
std::string table_cell(const Json& v);
std::string data_cell(const Json& v);

// JSON values from what commands count and name.
inline Json count(std::size_t n) { return Json(static_cast<std::int64_t>(n)); }
inline Json string_list(const std::vector<std::string>& v) {
  JsonArray a;
  for (const auto& s : v) a.emplace_back(s);
  return Json(std::move(a));
}

}  // namespace lstore::cli
