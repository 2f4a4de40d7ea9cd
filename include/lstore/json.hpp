// A small JSON value type that can hold everything Python's json.load accepts
// (NaN/Infinity, integers of any size, lone surrogates), and writers that
// reproduce the three serialisers LlamaIndex stores are written with.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "lstore/error.hpp"

namespace lstore {

class Json;
using JsonArray = std::vector<Json>;
using JsonObject = std::vector<std::pair<std::string, Json>>;

// An integer that does not fit in int64, kept as its decimal digits.
struct BigInt {
  std::string digits;  // optional '-' then digits, no leading zeros
  bool operator==(const BigInt&) const = default;
};

// Strings are WTF-8: UTF-8 that may also hold lone surrogates (U+D800..U+DFFF
// encoded as three bytes), because Python reads and writes "\udXXX" escapes.
class Json {
 public:
  using Value = std::variant<std::nullptr_t, bool, std::int64_t, BigInt, double,
                             std::string, JsonArray, JsonObject>;

  Json() : m_v(nullptr) {}
  Json(std::nullptr_t) : m_v(nullptr) {}
  Json(bool b) : m_v(b) {}
  Json(int i) : m_v(std::int64_t{i}) {}
  Json(std::int64_t i) : m_v(i) {}
  Json(BigInt b) : m_v(std::move(b)) {}
  Json(double d) : m_v(d) {}
  Json(std::string s) : m_v(std::move(s)) {}
  Json(const char* s) : m_v(std::string(s)) {}
  Json(std::string_view s) : m_v(std::string(s)) {}
  Json(JsonArray a) : m_v(std::move(a)) {}
  Json(JsonObject o) : m_v(std::move(o)) {}

  bool is_null() const { return std::holds_alternative<std::nullptr_t>(m_v); }
  bool is_bool() const { return std::holds_alternative<bool>(m_v); }
  bool is_int() const { return std::holds_alternative<std::int64_t>(m_v); }
  bool is_bigint() const { return std::holds_alternative<BigInt>(m_v); }
  bool is_float() const { return std::holds_alternative<double>(m_v); }
  bool is_number() const { return is_int() || is_bigint() || is_float(); }
  bool is_string() const { return std::holds_alternative<std::string>(m_v); }
  bool is_array() const { return std::holds_alternative<JsonArray>(m_v); }
  bool is_object() const { return std::holds_alternative<JsonObject>(m_v); }

  bool as_bool() const { return std::get<bool>(m_v); }
  std::int64_t as_int() const { return std::get<std::int64_t>(m_v); }
  double as_float() const { return std::get<double>(m_v); }
  double as_number() const;  // int, bigint or float as a double
  const std::string& as_string() const { return std::get<std::string>(m_v); }
  std::string& as_string() { return std::get<std::string>(m_v); }
  const JsonArray& as_array() const { return std::get<JsonArray>(m_v); }
  JsonArray& as_array() { return std::get<JsonArray>(m_v); }
  const JsonObject& as_object() const { return std::get<JsonObject>(m_v); }
  JsonObject& as_object() { return std::get<JsonObject>(m_v); }

  // Object member lookup; nullptr when this is not an object or has no such key.
  const Json* find(std::string_view key) const;
  Json* find(std::string_view key);
  // Sets (replacing in place, as a Python dict does) or appends a member.
  void set(std::string_view key, Json value);
  // Removes a member; true when it was there.
  bool erase(std::string_view key);

  // Python's type name for messages ("dict", "list", "str", ...).
  const char* type_name() const;

  const Value& value() const { return m_v; }
  bool operator==(const Json& other) const;

 private:
  Value m_v;
};

// Which serialiser wrote a file (FORMAT.md §2.2).
enum class JsonDialect {
  Python,      // json.dumps defaults: ", " / ": ", ensure_ascii, float repr, NaN
  Pydantic,    // model_dump_json: compact, raw UTF-8, its own float form, NaN as null
  PydanticPyFloat,  // the same from older pydantic-core, which wrote floats as Python's repr
  JavaScript,  // JSON.stringify: compact, raw UTF-8, JS number form, NaN as null
  Compact,     // lstore's own output: compact, raw UTF-8, exact ints, NaN as null
};

struct WriteStyle {
  JsonDialect dialect = JsonDialect::Python;
  int indent = -1;    // >= 0: Python's json.dumps(indent=N) layout
  int depth = 0;      // nesting depth of the value being written (for indent)
};

// Serialises `value` exactly as the dialect's writer would.
std::string dump(const Json& value, const WriteStyle& style = {});
void dump_to(std::string& out, const Json& value, const WriteStyle& style = {});
// A string literal (with quotes) as the dialect writes it.
void dump_string(std::string& out, std::string_view wtf8, JsonDialect dialect);
// Number forms, exposed for tests and for the repr emulation.
std::string python_float_repr(double v);
std::string pydantic_float(double v);
std::string js_number(double v);
// Python's repr (JsonDialect::Python) or JavaScript's form (JavaScript) of a
// finite double into `out` (at least 32 bytes), without allocating; returns
// the length. For hot loops over embeddings.
std::size_t format_float(char* out, double v, JsonDialect dialect);

// Parses one JSON text with Python json.load's leniency (BOM, NaN, Infinity,
// big integers, duplicate keys with the last value winning in the first
// position, lone surrogates). Throws ParseError with the byte offset.
Json parse(std::string_view text);
// Whether json.load would accept `text` (one value): strict JSON is checked at
// simdjson's speed; only what it refuses (NaN, big integers, lone surrogate
// escapes) goes through parse().
bool accepts_json(std::string_view text, bool padded = false);
// The bytes that must be readable after a text for accepts_json(text, true).
inline constexpr std::size_t kJsonPadding = 64;
// The first byte at which `text` stops being JSON that json.load accepts,
// with Python's words for it ("Expecting ',' delimiter", ...); nullopt when
// it is such JSON. Slow (a byte at a time): for error messages only.
std::optional<ParseError> locate_json_error(std::string_view text);

// Decodes the contents of a JSON string literal (without the quotes) into WTF-8.
// Returns false on a malformed escape.
bool unescape_string(std::string_view body, std::string& out);

}  // namespace lstore
