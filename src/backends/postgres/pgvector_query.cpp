// PGVectorStore.query (mode default) as one SQL statement (VECTOR_STORES.md
// §1.6, §1.7): the same WHERE semantics as the SQL the integration pastes
// together, but every value a bound parameter, so a quote in a value is a
// value (PGVectorStore's statement breaks on it).
#include <charconv>
#include <cmath>

#include "lstore/error.hpp"
#include "core/hash.hpp"
#include "lstore/json.hpp"
#include "core/utf8.hpp"
#include "pgvector.hpp"

namespace lstore {

namespace {

class SqlBuilder {
 public:
  explicit SqlBuilder(std::vector<std::string>& params) : m_params(params) {}

  // $n for a new parameter.
  std::string param(std::string value) {
    m_params.push_back(std::move(value));
    return "$" + std::to_string(m_params.size());
  }

  std::string clause(const MetadataFilters& f) {
    if (f.condition != FilterCondition::And && f.condition != FilterCondition::Or)
      throw Error(ErrorKind::Usage, "--filters",
                  std::string("PGVectorStore refuses this condition (ValueError: Invalid condition: FilterCondition.") +
                      (f.condition == FilterCondition::Not ? "NOT" : "None") + ". Must be one of ['or', 'and'])");
    std::string out;
    for (const FilterItem& item : f.filters) {
      if (!out.empty()) out += f.condition == FilterCondition::And ? " AND " : " OR ";
      out += "(" + (item.nested ? clause(*item.nested) : filter(item.filter)) + ")";
    }
    return out.empty() ? "TRUE" : out;
  }

 private:
  // What Python's float() makes of the value, if it accepts it.
  static std::optional<double> as_float(const Json& v) {
    if (v.is_number()) return v.as_number();
    if (!v.is_string()) return std::nullopt;
    std::string s = v.as_string();
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
    std::size_t b = 0;
    while (b < s.size() && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
    s = s.substr(b);
    if (!s.empty() && s[0] == '+') s = s.substr(1);
    double d = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    return d;
  }

  static const char* sql_op(FilterOp op) {
    switch (op) {
      case FilterOp::Eq: return "=";
      case FilterOp::Ne: return "!=";
      case FilterOp::Gt: return ">";
      case FilterOp::Gte: return ">=";
      case FilterOp::Lt: return "<";
      case FilterOp::Lte: return "<=";
      default: return nullptr;
    }
  }

  std::string filter(const MetadataFilter& f) {
    const std::string key = param(f.key);
    switch (f.op) {
      case FilterOp::In:
      case FilterOp::Nin: {
        // Each element as Python's str() of it, compared as text; a string
        // value is iterated by character, as the integration's loop does.
        std::string arr = "{";
        auto add = [&](const std::string& e) {
          if (arr.size() > 1) arr += ',';
          arr += '"';
          for (char c : e) {
            if (c == '"' || c == '\\') arr += '\\';
            arr += c;
          }
          arr += '"';
        };
        if (f.value.is_array()) {
          for (const Json& e : f.value.as_array()) add(python_str(e));
        } else if (f.value.is_string()) {
          const std::string& s = f.value.as_string();
          for (std::size_t i = 0; i < s.size();) {
            std::size_t from = i;
            utf8::next(s, i);
            add(s.substr(from, i - from));
          }
        } else {
          throw Error(ErrorKind::Usage, "--filters",
                      "PGVectorStore cannot apply " + std::string(filter_op_token(f.op)) + " to a " + f.value.type_name() +
                          " (TypeError: not iterable)");
        }
        arr += "}";
        if (arr == "{}") return f.op == FilterOp::In ? "FALSE" : "metadata_->>" + key + " IS NOT NULL";
        return std::string(f.op == FilterOp::In ? "" : "NOT ") + "(metadata_->>" + key + " = ANY(" + param(arr) +
               "::text[]))";
      }
      case FilterOp::Contains:
        return "metadata_::jsonb->" + key + " @> " + param(dump(Json(JsonArray{Json(python_str(f.value))}))) + "::jsonb";
      case FilterOp::TextMatch:
      case FilterOp::TextMatchInsensitive:
        // '%' and '_' in the value stay wildcards, as in PGVectorStore.
        return "metadata_->>" + key + (f.op == FilterOp::TextMatch ? " LIKE " : " ILIKE ") +
               param("%" + python_str(f.value) + "%");
      case FilterOp::Any:
      case FilterOp::All:
      case FilterOp::IsEmpty:
        throw Error(ErrorKind::Usage, "--filters",
                    "PGVectorStore cannot apply operator " + std::string(filter_op_token(f.op)) +
                        " (it falls back to '=' and raises TypeError)");
      default: break;
    }
    const char* op = sql_op(f.op);
    if (std::optional<double> d = as_float(f.value)) {
      char buf[32];
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, *d);
      return "(metadata_->>" + key + ")::float " + op + " " + param(std::string(buf, end)) + "::float8";
    }
    if (f.value.is_null() || f.value.is_array())
      throw Error(ErrorKind::Usage, "--filters",
                  "PGVectorStore cannot compare with a " + std::string(f.value.type_name()) +
                      " (TypeError from float())");
    return "metadata_->>" + key + " " + op + " " + param(python_str(f.value));
  }

  std::vector<std::string>& m_params;
};

}  // namespace

PgVectorQuerySql pgvector_query_sql(const std::string& qualified_table, const VectorQuery& q) {
  if (q.mode != QueryMode::Default)
    throw Error(ErrorKind::Usage, "--mode", "PGVectorStore refuses this mode (ValueError: Invalid query mode: VectorStoreQueryMode.MMR)");
  PgVectorQuerySql out;
  SqlBuilder b(out.params);
  std::string vec = "[";
  char buf[32];
  for (std::size_t i = 0; i < q.embedding.size(); ++i) {
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, q.embedding[i]);
    vec += (i ? "," : "") + std::string(buf, end);
  }
  const std::string v = b.param(vec + "]");
  out.sql = "SELECT node_id, embedding <=> " + v + "::vector AS distance, text, metadata_::text FROM " + qualified_table;
  if (q.filters && !q.filters->filters.empty()) out.sql += " WHERE " + b.clause(*q.filters);
  out.sql += " ORDER BY distance ASC";
  if (q.top_k) out.sql += " LIMIT " + b.param(std::to_string(*q.top_k));
  return out;
}

}  // namespace lstore
