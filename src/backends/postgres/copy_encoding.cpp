// PostgreSQL's text forms (copy_encoding.hpp).
#include "copy_encoding.hpp"

#include <charconv>

#include "pgvector.hpp"

namespace lstore::pg {

void append_copy(std::string& out, std::string_view s) {
  std::size_t from = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    const char* esc = c == '\\' ? "\\\\" : c == '\t' ? "\\t" : c == '\n' ? "\\n" : c == '\r' ? "\\r" : nullptr;
    if (!esc) continue;
    out.append(s.data() + from, i - from);
    out += esc;
    from = i + 1;
  }
  out.append(s.data() + from, s.size() - from);
}

void append_vector(std::string& out, std::span<const double> v) {
  out += '{';
  char buf[32];
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v[i]);
    out.append(buf, end);
  }
  out += '}';
}

bool parse_vector(std::string_view text, std::vector<double>& out) {
  return parse_number_list<double>(text, '{', '}', out);
}

std::string array_literal(const std::vector<std::string>& items) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char ch : items[i]) {
      if (ch == '"' || ch == '\\') out += '\\';
      out += ch;
    }
    out += '"';
  }
  return out + "}";
}

}  // namespace lstore::pg
