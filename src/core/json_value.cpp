// Json value helpers: lookup, in-place update with Python dict semantics.
#include "lstore/json.hpp"

#include <cstdlib>

namespace lstore {

double Json::as_number() const {
  if (is_int()) return static_cast<double>(as_int());
  if (is_float()) return as_float();
  if (is_bigint()) return std::strtod(std::get<BigInt>(m_v).digits.c_str(), nullptr);
  return 0.0;
}

const Json* Json::find(std::string_view key) const {
  if (!is_object()) return nullptr;
  for (const auto& [k, v] : as_object())
    if (k == key) return &v;
  return nullptr;
}

Json* Json::find(std::string_view key) {
  return const_cast<Json*>(static_cast<const Json*>(this)->find(key));
}

void Json::set(std::string_view key, Json value) {
  if (!is_object()) m_v = JsonObject{};
  if (Json* existing = find(key)) {
    *existing = std::move(value);
    return;
  }
  as_object().emplace_back(std::string(key), std::move(value));
}

bool Json::erase(std::string_view key) {
  if (!is_object()) return false;
  auto& obj = as_object();
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (it->first == key) {
      obj.erase(it);
      return true;
    }
  }
  return false;
}

const char* Json::type_name() const {
  switch (m_v.index()) {
    case 0: return "null";
    case 1: return "bool";
    case 2: case 3: return "int";
    case 4: return "float";
    case 5: return "str";
    case 6: return "list";
    default: return "dict";
  }
}

bool Json::operator==(const Json& other) const {
  // Numbers compare by value across int/float, as Python's == does.
  if (is_number() && other.is_number() && m_v.index() != other.m_v.index()) {
    if (is_bigint() || other.is_bigint()) return false;
    return as_number() == other.as_number();
  }
  return m_v == other.m_v;
}

}  // namespace lstore
