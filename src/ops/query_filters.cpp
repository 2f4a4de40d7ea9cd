// Metadata filters: LlamaIndex's MetadataFilters model (built from its JSON
// shape or from `KEY OP VALUE`, validated as its pydantic model validates)
// and its filter function, in the 0.12 and the 0.10.13 semantics.
#include <array>
#include <utility>

#include "lstore/error.hpp"
#include "query_internal.hpp"

namespace lstore {
namespace {

struct OpName {
  FilterOp op;
  const char* token;
  const char* enum_name;  // as Python prints the member
};

constexpr std::array<OpName, 14> kOps{{
    {FilterOp::Eq, "==", "EQ"},
    {FilterOp::Gt, ">", "GT"},
    {FilterOp::Lt, "<", "LT"},
    {FilterOp::Ne, "!=", "NE"},
    {FilterOp::Gte, ">=", "GTE"},
    {FilterOp::Lte, "<=", "LTE"},
    {FilterOp::In, "in", "IN"},
    {FilterOp::Nin, "nin", "NIN"},
    {FilterOp::Any, "any", "ANY"},
    {FilterOp::All, "all", "ALL"},
    {FilterOp::TextMatch, "text_match", "TEXT_MATCH"},
    {FilterOp::TextMatchInsensitive, "text_match_insensitive", "TEXT_MATCH_INSENSITIVE"},
    {FilterOp::Contains, "contains", "CONTAINS"},
    {FilterOp::IsEmpty, "is_empty", "IS_EMPTY"},
}};

// 0.10.13's FilterOperator had only these.
bool legacy_op(FilterOp op) {
  switch (op) {
    case FilterOp::Eq: case FilterOp::Gt: case FilterOp::Lt: case FilterOp::Ne: case FilterOp::Gte:
    case FilterOp::Lte: case FilterOp::In: case FilterOp::Nin: case FilterOp::TextMatch:
      return true;
    default:
      return false;
  }
}

const char* enum_name(FilterOp op) {
  for (const auto& o : kOps)
    if (o.op == op) return o.enum_name;
  return "?";
}

[[noreturn]] void invalid(const std::string& what, const std::string& place = {}) {
  throw Error(ErrorKind::Usage, "filters", what, place);
}

std::string ops_list(FilterSemantics s) {
  std::string out;
  for (const auto& o : kOps) {
    if (s == FilterSemantics::Legacy && !legacy_op(o.op)) continue;
    if (!out.empty()) out += ' ';
    out += o.token;
  }
  return out;
}

FilterOp parse_op(const std::string& token, FilterSemantics s, const std::string& place) {
  auto op = filter_op_from_token(token);
  if (!op || (s == FilterSemantics::Legacy && !legacy_op(*op)))
    invalid("'" + token + "' is not a valid FilterOperator" +
                (op ? " in the LlamaIndex that wrote this store (0.10.x)" : "") + " (operators: " + ops_list(s) + ")",
            place);
  return *op;
}

bool strict_int(const Json& v) { return v.is_int() || v.is_bigint(); }  // a bool is not an int here

// MetadataFilter.value: pydantic's Optional[Union[StrictInt, StrictFloat,
// StrictStr, List[StrictStr], List[StrictFloat], List[StrictInt]]] (0.12), or
// Union[StrictInt, StrictFloat, StrictStr] (0.10.13, pydantic v1: no None, no
// lists). Returns the value as pydantic hands it on (ints in a list that also
// holds floats become floats).
Json validate_value(const Json& v, FilterSemantics s, const std::string& place) {
  const char* why = nullptr;
  if (v.is_bool()) {
    why = "a bool is not a strict int, float or str (pydantic refuses True/False)";
  } else if (v.is_null()) {
    if (s == FilterSemantics::Legacy) why = "None is not an allowed value";
  } else if (v.is_array()) {
    if (s == FilterSemantics::Legacy) {
      why = "a list is not an allowed value here (this LlamaIndex took only int, float or str)";
    } else {
      const auto& a = v.as_array();
      bool all_str = true, all_num = true, any_float = false;
      for (const Json& e : a) {
        all_str = all_str && e.is_string();
        all_num = all_num && (strict_int(e) || e.is_float());
        any_float = any_float || e.is_float();
      }
      if (!all_str && !all_num) {
        why = "a list must hold only str, or only numbers (no bool, null or nested values)";
      } else if (all_num && any_float) {
        JsonArray out;  // List[StrictFloat] takes the ints as floats
        for (const Json& e : a) out.emplace_back(e.is_float() ? e.as_float() : e.as_number());
        return Json(std::move(out));
      }
    }
  } else if (v.is_object()) {
    why = "an object is not a filter value";
  }
  if (why) invalid(std::string("invalid filter value: ") + why, place);
  return v;
}

MetadataFilter parse_filter_object(const Json& j, FilterSemantics s, const std::string& place) {
  MetadataFilter f;
  const Json* key = j.find("key");
  const Json* value = j.find("value");
  if (!key) invalid("a filter needs a \"key\"", place);
  if (!key->is_string()) invalid(std::string("a filter's \"key\" must be a str, not ") + detail::py::type_name(*key), place);
  if (!value) invalid("a filter needs a \"value\" (null is allowed)", place);
  f.key = key->as_string();
  f.value = validate_value(*value, s, place + ".value");
  if (const Json* op = j.find("operator")) {
    if (!op->is_string()) invalid("a filter's \"operator\" must be a str", place);
    f.op = parse_op(op->as_string(), s, place + ".operator");
  }
  return f;
}

MetadataFilters parse_filters_object(const Json& j, FilterSemantics s, const std::string& place) {
  if (!j.is_object()) invalid(std::string("MetadataFilters must be an object, not ") + detail::py::type_name(j), place);
  MetadataFilters out;
  const Json* list = j.find("filters");
  if (!list) invalid("MetadataFilters needs a \"filters\" list", place);
  if (!list->is_array()) invalid("\"filters\" must be a list", place);
  for (std::size_t i = 0; i < list->as_array().size(); ++i) {
    const Json& item = list->as_array()[i];
    std::string p = place + "filters[" + std::to_string(i) + "]";
    if (!item.is_object()) invalid(std::string("a filter must be an object, not ") + detail::py::type_name(item), p);
    FilterItem fi;
    // Union[MetadataFilter, MetadataFilters]: an object without "key" but
    // with "filters" is a nested MetadataFilters (0.10.13 had no such member).
    if (!item.find("key") && item.find("filters")) {
      if (s == FilterSemantics::Legacy)
        invalid("nested MetadataFilters are not supported by the LlamaIndex that wrote this store (0.10.x)", p);
      fi.nested = std::make_shared<MetadataFilters>(parse_filters_object(item, s, p + "."));
    } else {
      fi.filter = parse_filter_object(item, s, p);
    }
    out.filters.push_back(std::move(fi));
  }
  if (const Json* c = j.find("condition")) {
    if (c->is_null()) out.condition = FilterCondition::Null;
    else if (c->is_string() && c->as_string() == "and") out.condition = FilterCondition::And;
    else if (c->is_string() && c->as_string() == "or") out.condition = FilterCondition::Or;
    else if (c->is_string() && c->as_string() == "not" && s == FilterSemantics::Current) out.condition = FilterCondition::Not;
    else
      invalid((c->is_string() ? "'" + c->as_string() + "'" : std::string("a ") + detail::py::type_name(*c)) +
                  " is not a valid FilterCondition (and, or" + (s == FilterSemantics::Current ? ", not)" : ")"),
              place + "condition");
  }
  return out;
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

const char* filter_op_token(FilterOp op) {
  for (const auto& o : kOps)
    if (o.op == op) return o.token;
  return "?";
}

std::optional<FilterOp> filter_op_from_token(std::string_view token) {
  for (const auto& o : kOps)
    if (token == o.token) return o.op;
  return std::nullopt;
}

FilterSemantics filter_semantics_for_era(std::string_view era) {
  // Eras whose nodes carry `mimetype` (0.10.48+), property graphs (0.10.40+),
  // 0.12, TS and stores too empty to date search with the current code; the
  // rest (up to "0.9.x-0.10.x", which includes 0.10.13) with legacy_filters().
  for (std::string_view legacy : {"0.9.x-0.10.x", "0.9.x", "0.8.", "0.6."})
    if (era.substr(0, legacy.size()) == legacy) return FilterSemantics::Legacy;
  return FilterSemantics::Current;
}

MetadataFilters parse_metadata_filters(const Json& json, FilterSemantics semantics) {
  return parse_filters_object(json, semantics, "");
}

MetadataFilter parse_filter_expression(std::string_view text, FilterSemantics semantics) {
  const std::string shown(text);
  auto fail = [&](const std::string& what) {
    throw Error(ErrorKind::Usage, "--filter '" + shown + "'", what, "",
                "write KEY OP VALUE, e.g. 'year >= 2020' or 'category == \"news\"' (VALUE is a JSON literal)");
  };
  std::size_t i = 0;
  while (i < text.size() && is_space(text[i])) ++i;
  MetadataFilter f;
  if (i < text.size() && text[i] == '"') {  // a JSON string key, for keys with spaces
    std::size_t j = i + 1;
    while (j < text.size() && text[j] != '"') j += text[j] == '\\' ? 2 : 1;
    if (j >= text.size()) fail("unterminated quoted key");
    try {
      Json k = parse(text.substr(i, j + 1 - i));
      f.key = k.as_string();
    } catch (const ParseError& e) {
      fail(std::string("bad quoted key: ") + e.what());
    }
    i = j + 1;
  } else {
    std::size_t j = i;
    while (j < text.size() && !is_space(text[j])) ++j;
    f.key = std::string(text.substr(i, j - i));
    i = j;
  }
  if (f.key.empty() && (i >= text.size())) fail("empty filter");
  while (i < text.size() && is_space(text[i])) ++i;
  std::size_t j = i;
  while (j < text.size() && !is_space(text[j])) ++j;
  std::string op(text.substr(i, j - i));
  if (op.empty()) fail("missing operator after the key");
  auto parsed = filter_op_from_token(op);
  if (!parsed) fail("unknown operator '" + op + "' (one of: " + ops_list(semantics) + ")");
  if (semantics == FilterSemantics::Legacy && !legacy_op(*parsed))
    fail("operator '" + op + "' did not exist in the LlamaIndex that wrote this store (0.10.x; it has: " +
         ops_list(semantics) + ")");
  f.op = *parsed;
  std::string_view rest = text.substr(j);
  while (!rest.empty() && is_space(rest.front())) rest.remove_prefix(1);
  while (!rest.empty() && is_space(rest.back())) rest.remove_suffix(1);
  if (rest.empty()) {
    if (f.op != FilterOp::IsEmpty) fail("missing VALUE after '" + op + "'");
    f.value = nullptr;
  } else {
    Json v;
    try {
      v = parse(rest);
    } catch (const ParseError&) {
      fail("VALUE '" + std::string(rest) + "' is not a JSON literal (quote strings: \"" + std::string(rest) + "\")");
    }
    try {
      f.value = validate_value(v, semantics, "");
    } catch (const Error& e) {
      fail(e.what());
    }
  }
  return f;
}

Json filters_to_json(const MetadataFilters& filters) {
  JsonArray items;
  for (const FilterItem& fi : filters.filters) {
    if (fi.nested) {
      items.push_back(filters_to_json(*fi.nested));
      continue;
    }
    items.push_back(JsonObject{{"key", fi.filter.key}, {"value", fi.filter.value}, {"operator", filter_op_token(fi.filter.op)}});
  }
  Json condition;
  switch (filters.condition) {
    case FilterCondition::And: condition = "and"; break;
    case FilterCondition::Or: condition = "or"; break;
    case FilterCondition::Not: condition = "not"; break;
    case FilterCondition::Null: break;
  }
  return JsonObject{{"filters", std::move(items)}, {"condition", std::move(condition)}};
}

namespace detail {

FilterEvaluator::FilterEvaluator(const MetadataFilters* filters, FilterSemantics semantics)
    : m_filters(filters), m_semantics(semantics) {}

void FilterEvaluator::check_before_search() const {
  if (m_semantics != FilterSemantics::Legacy || !m_filters) return;
  for (const FilterItem& fi : m_filters->filters)
    if (fi.nested || fi.filter.op != FilterOp::Eq)
      throw PyError{"ValueError",
                    "Vector Store only supports exact match filters. Please use ExactMatchFilter or "
                    "FilterOperator.EQ instead."};
}

bool FilterEvaluator::matches(const Json& metadata) const {
  if (!metadata.is_object())
    throw PyError{"AttributeError", std::string("'") + py::type_name(metadata) + "' object has no attribute 'get'"};
  return m_semantics == FilterSemantics::Legacy ? matches_legacy(metadata) : matches_current(metadata);
}

namespace {

// _process_filter_match of build_metadata_filter_fn (0.12.35).
bool process_match(FilterOp op, const Json& value, const Json& md) {
  switch (op) {
    case FilterOp::Eq: return py::eq(md, value);
    case FilterOp::Ne: return !py::eq(md, value);
    case FilterOp::Gt: return py::order(md, value, py::Order::Gt);
    case FilterOp::Gte: return py::order(md, value, py::Order::Ge);
    case FilterOp::Lt: return py::order(md, value, py::Order::Lt);
    case FilterOp::Lte: return py::order(md, value, py::Order::Le);
    case FilterOp::In: return py::contains(value, md);
    case FilterOp::Nin: return !py::contains(value, md);
    case FilterOp::Contains: return py::contains(md, value);
    case FilterOp::TextMatch: {
      // value.lower() in metadata_value.lower(): the left side is evaluated first.
      if (!value.is_string())
        throw PyError{"AttributeError", std::string("'") + py::type_name(value) + "' object has no attribute 'lower'"};
      std::string needle = py::lower(value.as_string());
      if (!md.is_string())
        throw PyError{"AttributeError", std::string("'") + py::type_name(md) + "' object has no attribute 'lower'"};
      return py::lower(md.as_string()).find(needle) != std::string::npos;
    }
    case FilterOp::All:
      for (const Json& v : py::iterate(value))
        if (!py::contains(md, v)) return false;
      return true;
    case FilterOp::Any:
      for (const Json& v : py::iterate(value))
        if (py::contains(md, v)) return true;
      return false;
    default:
      throw PyError{"ValueError", std::string("Invalid operator: FilterOperator.") + enum_name(op)};
  }
}

}  // namespace

bool FilterEvaluator::matches_current(const Json& metadata) const {
  // Every filter is evaluated (no short cut), so a later filter's error is
  // raised even when an earlier one already decided the outcome.
  bool all = true, any = false;
  for (const FilterItem& fi : m_filters->filters) {
    if (fi.nested) throw PyError{"ValueError", "Nested MetadataFilters are not supported."};
    const MetadataFilter& f = fi.filter;
    const Json* found = metadata.find(f.key);
    static const Json kNone;
    const Json& md = found ? *found : kNone;
    bool m;
    if (f.op == FilterOp::IsEmpty) {
      m = md.is_null() || py::eq(md, Json("")) || py::eq(md, Json(JsonArray{}));
    } else {
      m = !md.is_null() && process_match(f.op, f.value, md);
    }
    all = all && m;
    any = any || m;
  }
  switch (m_filters->condition) {
    case FilterCondition::And: return all;
    case FilterCondition::Or: return any;
    case FilterCondition::Not: throw PyError{"ValueError", "Invalid filter condition: FilterCondition.NOT"};
    case FilterCondition::Null: throw PyError{"ValueError", "Invalid filter condition: None"};
  }
  return false;
}

bool FilterEvaluator::matches_legacy(const Json& metadata) const {
  // 0.10.13: condition ignored; stops at the first filter that fails.
  for (const FilterItem& fi : m_filters->filters) {
    const MetadataFilter& f = fi.filter;
    const Json* md = metadata.find(f.key);
    if (!md || md->is_null()) return false;
    if (md->is_array()) {
      if (!py::contains(*md, f.value)) return false;
    } else if (!md->is_object()) {
      if (!py::eq(*md, f.value)) return false;
    }  // a dict passes unchecked
  }
  return true;
}

}  // namespace detail
bool metadata_matches(const MetadataFilters& filters, const Json& metadata, FilterSemantics semantics) {
  detail::FilterEvaluator eval(&filters, semantics);
  if (!eval.active()) return true;
  try {
    return eval.matches(metadata);
  } catch (const detail::PyError& e) {
    throw Error(ErrorKind::Usage, "filter", e.text());
  }
}

}  // namespace lstore
