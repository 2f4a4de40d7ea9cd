// Values as PostgreSQL's text forms take them: a COPY text row's fields,
// float8[] and json[] array literals.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lstore::pg {

// COPY text format: backslash, tab, newline and carriage return escaped.
void append_copy(std::string& out, std::string_view s);
// A float8[] literal, each element in shortest round-trip form, and back.
void append_vector(std::string& out, std::span<const double> v);
bool parse_vector(std::string_view text, std::vector<double>& out);
// An array literal of text elements ('{"a","b"}'), for a json[] parameter.
std::string array_literal(const std::vector<std::string>& items);

}  // namespace lstore::pg
