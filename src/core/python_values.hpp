// Python's semantics for values json.load gives (==, <, in, iteration,
// str.lower, the TypeErrors it raises), for what must decide as LlamaIndex
// does: metadata filters, chat message comparison. Implemented in
// python_values.cpp.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lstore/json.hpp"

namespace lstore::detail {

// What Python raised: its exception type and message, e.g. {"TypeError",
// "'>' not supported between instances of 'int' and 'str'"}.
struct PyError {
  std::string type;
  std::string message;
  std::string text() const { return type + ": " + message; }
};

namespace py {
const char* type_name(const Json& v);  // "NoneType", "bool", "int", "float", "str", "list", "dict"
// a == b as the == operator computes it (NaN never equals NaN).
bool eq(const Json& a, const Json& b);
// PyObject_RichCompareBool(a, b, Py_EQ), used inside containers and by `in`:
// identical objects are equal. json.load gives every NaN the same float object,
// so NaN matches NaN here.
bool same(const Json& a, const Json& b);
enum class Order { Lt, Le, Gt, Ge };
// a < b (etc.); throws PyError TypeError where Python does.
bool order(const Json& a, const Json& b, Order op);
// item in container; throws PyError TypeError for a non-container, a non-str
// left operand of `in <string>`, an unhashable dict key.
bool contains(const Json& container, const Json& item);
// The elements `for val in value` iterates (a str yields its characters, a
// dict its keys); throws PyError TypeError for a non-iterable.
std::vector<Json> iterate(const Json& value);
// str.lower(): Unicode lower case, with Python's special cases (U+0130, final sigma).
std::string lower(std::string_view s);
}  // namespace py

}  // namespace lstore::detail
