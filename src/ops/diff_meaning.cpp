// Comparing decoded values by meaning for lstore diff (see diff_internal.hpp).
#include "diff_internal.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include "core/numbers.hpp"

namespace lstore::diffing {
namespace {

bool same_double(double x, double y) { return x == y || (std::isnan(x) && std::isnan(y)); }

bool same_number(const Json& a, const Json& b, const Meaning& m) {
  if (a.is_int() && b.is_int()) return a.as_int() == b.as_int();
  if (a.is_float() && b.is_float()) return same_double(a.as_float(), b.as_float());
  if (a.is_bigint() && b.is_bigint()) return std::get<BigInt>(a.value()) == std::get<BigInt>(b.value());
  // Python keeps int and float apart; JavaScript does not.
  return m.one_number_type && same_double(a.as_number(), b.as_number());
}

// Object members by key, for objects too large to search member by member
// (a node's metadata may hold hundreds of thousands of keys).
constexpr std::size_t kLinearSearch = 16;

std::unordered_map<std::string_view, const Json*> by_key(const JsonObject& o) {
  std::unordered_map<std::string_view, const Json*> m;
  m.reserve(o.size());
  for (const auto& [k, v] : o) m.emplace(k, &v);
  return m;
}

const Json* member(const JsonObject& o, const std::unordered_map<std::string_view, const Json*>& index,
                   std::string_view key) {
  if (o.size() <= kLinearSearch) {
    for (const auto& [k, v] : o)
      if (k == key) return &v;
    return nullptr;
  }
  auto it = index.find(key);
  return it == index.end() ? nullptr : it->second;
}

bool same_object(const JsonObject& a, const JsonObject& b, const Meaning& m) {
  if (a.size() != b.size()) return false;
  auto index = b.size() > kLinearSearch ? by_key(b) : decltype(by_key(b)){};
  for (const auto& [k, v] : a) {
    const Json* w = member(b, index, k);
    if (!w || !same(v, *w, m)) return false;
  }
  return true;
}

}  // namespace

bool same(const Json& a, const Json& b, const Meaning& m) {
  if (a.is_number() && b.is_number()) return same_number(a, b, m);
  if (a.value().index() != b.value().index()) return false;
  if (a.is_array()) {
    const JsonArray& x = a.as_array();
    const JsonArray& y = b.as_array();
    if (x.size() != y.size()) return false;
    for (std::size_t i = 0; i < x.size(); ++i)
      if (!same(x[i], y[i], m)) return false;
    return true;
  }
  if (a.is_object()) return same_object(a.as_object(), b.as_object(), m);
  return a.value() == b.value();
}

Vocabulary vocabulary_of(const Store& a, const Store& b) {
  return {a.dialect == Dialect::Python || b.dialect == Dialect::Python, a.dialect != b.dialect};
}

std::string python_name(const std::string& k) {
  static const std::map<std::string, std::string, std::less<>> names = {
      {"excludedEmbedMetadataKeys", "excluded_embed_metadata_keys"},
      {"excludedLlmMetadataKeys", "excluded_llm_metadata_keys"},
      {"textTemplate", "text_template"},
      {"startCharIdx", "start_char_idx"},
      {"endCharIdx", "end_char_idx"},
      {"indexId", "index_id"},
      {"nodeId", "node_id"},
      {"nodeType", "node_type"},
      {"docHash", "doc_hash"},
      {"refDocId", "ref_doc_id"},
      {"nodeIds", "node_ids"},
      {"extraInfo", "metadata"},
      // Python <= 0.6.33 ref docs, which readers still convert.
      {"doc_ids", "node_ids"},
      {"extra_info", "metadata"},
  };
  auto it = names.find(k);
  return it == names.end() ? k : it->second;
}

Json in_python_names(const Json& v) {
  if (!v.is_object()) return v;
  JsonObject o;
  for (const auto& [k, x] : v.as_object()) o.emplace_back(python_name(k), x);
  return Json(std::move(o));
}


void compare_metadata(const Json* a, const Json* b, const std::string& path, const DiffOptions& o, const Meaning& m,
                      std::vector<std::string>& out) {
  if (!a || !b) return changed_paths(a, b, path, m, 0, out);
  Json x = without(*a, o.ignore_keys), y = without(*b, o.ignore_keys);
  changed_paths(&x, &y, path, m, 1, out);
}

std::string join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

void changed_paths(const Json* a, const Json* b, const std::string& path, const Meaning& m, int depth,
                   std::vector<std::string>& out) {
  if (!a && !b) return;
  if (!a || !b || depth == 0 || !a->is_object() || !b->is_object()) {
    if (!a || !b || !same(*a, *b, m)) out.push_back(path.empty() ? "value" : path);
    return;
  }
  const JsonObject& x = a->as_object();
  const JsonObject& y = b->as_object();
  auto in_x = x.size() > kLinearSearch ? by_key(x) : decltype(by_key(x)){};
  auto in_y = y.size() > kLinearSearch ? by_key(y) : decltype(by_key(y)){};
  // In a's order, then what only b has, in b's order.
  for (const auto& [k, v] : x) changed_paths(&v, member(y, in_y, k), join(path, k), m, depth - 1, out);
  for (const auto& [k, v] : y)
    if (!member(x, in_x, k)) out.push_back(join(path, k));
}

bool close(double x, double y, double tolerance) {
  return same_double(x, y) || std::fabs(x - y) <= tolerance;
}

std::vector<double> embedding_values(std::string_view raw) {
  std::vector<double> v;
  // Malformed text keeps the numbers before the fault: the entry differs
  // from a good one either way, and diff reports what it can compare.
  (void)numbers::scan_array(raw, [&](const numbers::Token& t) {
    v.push_back(t.value);
    return true;
  });
  return v;
}

bool same_embedding(const Json& a, const Json& b, double tolerance, const Meaning& m) {
  auto all_numbers = [](const Json& v) {
    return v.is_array() && std::all_of(v.as_array().begin(), v.as_array().end(), [](const Json& x) { return x.is_number(); });
  };
  if (!all_numbers(a) || !all_numbers(b)) return same(a, b, m);
  const JsonArray& x = a.as_array();
  const JsonArray& y = b.as_array();
  if (x.size() != y.size()) return false;
  for (std::size_t i = 0; i < x.size(); ++i)
    if (!close(x[i].as_number(), y[i].as_number(), tolerance)) return false;
  return true;
}

Json without(const Json& metadata, const std::set<std::string>& keys) {
  if (!metadata.is_object() || keys.empty()) return metadata;
  JsonObject o;
  for (const auto& [k, v] : metadata.as_object())
    if (!keys.count(k)) o.emplace_back(k, v);
  return Json(std::move(o));
}

void add_field(ChangedEntry& c, std::string field) {
  if (std::find(c.fields.begin(), c.fields.end(), field) == c.fields.end()) c.fields.push_back(std::move(field));
}

ChangedById::ChangedById(PartDiff& part) : m_part(part) {
  for (std::size_t i = 0; i < part.changed.size(); ++i) m_index.emplace(part.changed[i].id, i);
}

ChangedEntry& ChangedById::operator[](const std::string& id) {
  auto [it, added] = m_index.emplace(id, m_part.changed.size());
  if (added) m_part.changed.push_back(ChangedEntry{id, {}, {}, {}, {}, {}, {}, {}});
  return m_part.changed[it->second];
}

Keyed keyed(const Section* s) {
  Keyed k;
  if (!s || !s->outlined) return k;
  for (const Entry& e : s->entries) {
    auto [it, inserted] = k.by_id.emplace(e.key, &e);
    if (inserted) k.order.push_back(&e);
    else it->second = &e;
  }
  return k;
}

}  // namespace lstore::diffing
