// See validate_index_refs.hpp.
#include "ops/validate_index_refs.hpp"

#include <algorithm>
#include <cstdint>
#include <exception>
#include <functional>

#include "core/outline.hpp"
#include "lstore/error.hpp"
#include "lstore/json.hpp"

namespace lstore {
namespace {

// No duplicate among these names (checked by their hashes: two names of one
// hash count as a duplicate, and the caller takes the exact path).
bool distinct(std::vector<std::size_t>& hashes) {
  std::sort(hashes.begin(), hashes.end());
  return std::adjacent_find(hashes.begin(), hashes.end()) == hashes.end();
}

// A string token without escapes, as the span of its text; nullopt otherwise.
std::optional<std::string_view> plain_string(std::string_view token) {
  if (token.size() < 2 || token.front() != '"' || token.back() != '"') return std::nullopt;
  std::string_view body = token.substr(1, token.size() - 2);
  if (body.find('\\') != std::string_view::npos) return std::nullopt;
  return body;
}

class NodesDict : public OutlineVisitor {
 public:
  explicit NodesDict(const std::function<void(std::string_view, std::string_view)>& sink) : m_sink(sink) {}
  bool ok = true;
  bool found = false;

  void section(std::string_view name, std::string_view, bool container, bool is_array, std::string_view) override {
    m_roots.push_back(std::hash<std::string_view>{}(name));
    m_in = name == "nodes_dict";
    if (m_in) ok = ok && container && !is_array && !found;
    found = found || m_in;
  }
  void entry(const StreamEntry& e) override {
    if (!m_in || !ok) return;
    std::optional<std::string_view> key = plain_string(e.raw_key), value = plain_string(e.raw);
    if (e.escaped || !key || !value) {
      ok = false;
      return;
    }
    m_keys.push_back(std::hash<std::string_view>{}(*key));
    m_sink(*key, *value);
  }
  void section_end(const Span&) override { m_in = false; }
  bool distinct_names() { return distinct(m_roots) && distinct(m_keys); }

 private:
  const std::function<void(std::string_view, std::string_view)>& m_sink;
  bool m_in = false;
  std::vector<std::size_t> m_roots, m_keys;
};

// The struct's __data__ unescaped into `data`, its nodes_dict members told
// to `sink` as views of `data`; false for anything read_vector_struct_refs()
// leaves to the usual decode.
bool visit_vector_struct(std::string_view entry, std::string& data,
                         const std::function<void(std::string_view, std::string_view)>& sink) {
  try {
    Outline env = outline_object(entry, 1);
    std::vector<std::size_t> names;
    std::string_view type, raw_data;
    for (const Member& m : env.root.members) {
      names.push_back(std::hash<std::string_view>{}(m.name));
      if (m.name == "__type__") type = m.value.in(entry);
      if (m.name == "__data__") raw_data = m.value.in(entry);
    }
    if (!distinct(names) || type != "\"vector_store\"" || raw_data.size() < 2 || raw_data[0] != '"') return false;
    if (locate_json_error(entry)) return false;  // json.load's own verdict on the envelope
    if (!unescape_string(raw_data.substr(1, raw_data.size() - 2), data)) return false;
    if (locate_json_error(data)) return false;
    NodesDict visitor(sink);
    // (stream_object reads the text in place: the entries' views are of `data`.)
    stream_object(data, visitor);
    return visitor.ok && visitor.found && visitor.distinct_names();
  } catch (const std::exception&) {
    return false;  // malformed: the usual decode reports it
  }
}

}  // namespace

std::optional<VectorStructRefs> read_vector_struct_refs(std::string_view entry) {
  VectorStructRefs out;
  auto keep = [&out](std::string_view key, std::string_view value) {
    const char* base = out.data.data();
    out.nodes.push_back({static_cast<std::size_t>(key.data() - base), key.size(),
                         static_cast<std::size_t>(value.data() - base), value.size()});
  };
  if (!visit_vector_struct(entry, out.data, keep)) return std::nullopt;
  return out;
}

bool visit_vector_struct_refs(std::string_view entry,
                              const std::function<void(std::string_view, std::string_view)>& sink) {
  std::string data;
  return visit_vector_struct(entry, data, sink);
}

}  // namespace lstore
