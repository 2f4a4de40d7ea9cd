// lstore query against LlamaIndex's own SimpleVectorStore results: every
// query_*.json golden of the 0.12 and 0.10 corpus (ids in order, scores within
// 1e-9, a refusal wherever LlamaIndex raised), plus units for the pieces whose
// Python behaviour is easy to get subtly wrong.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <unistd.h>

#include "ops/query_internal.hpp"
#include "corpus.hpp"
#include "lstore/backend.hpp"
#include "lstore/error.hpp"
#include "lstore/model.hpp"
#include "lstore/query.hpp"

namespace fs = std::filesystem;
using namespace lstore;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<double> numbers(const Json& a) {
  std::vector<double> v;
  for (const Json& x : a.as_array()) v.push_back(x.as_number());
  return v;
}

bool close(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return std::fabs(a - b) <= 1e-9;
}

std::string show(const std::vector<QueryHit>& hits) {
  std::string s;
  for (const auto& h : hits) s += h.id + "=" + std::to_string(h.score) + " ";
  return s;
}

// The vector index a case's retriever goldens came from: the one index
// whose nodes_dict VectorStoreIndex.as_retriever() restricts the search to.
std::optional<std::string> vector_index(const Store& store) {
  for (const IndexStruct& s : read_index_structs(store))
    if (s.type == "vector_store") return s.id;
  return std::nullopt;
}

struct Tally {
  int compared = 0, refused = 0, construct_refused = 0, retriever = 0, ties = 0;
};

void check_golden(const Store& store, const fs::path& file, Tally& t) {
  Json g = parse(slurp(file));
  const std::string ns = g.find("namespace")->as_string();
  const std::vector<double> qv = numbers(*g.find("query_embedding"));
  const FilterSemantics sem = filter_semantics_for_era(store.era);
  for (const Json& e : g.find("queries")->as_array()) {
    const std::string name = e.find("name")->as_string();
    INFO(file.string() << " :: " << name);
    VectorQuery q;
    q.embedding = qv;
    const Json* k = e.find("top_k");
    q.top_k = k && !k->is_null() ? std::optional<std::size_t>(static_cast<std::size_t>(k->as_int())) : std::nullopt;
    q.mode = e.find("mode")->as_string() == "mmr" ? QueryMode::Mmr : QueryMode::Default;
    if (const Json* m = e.find("mmr_threshold"); m && !m->is_null()) q.mmr_threshold = m->as_number();
    if (const Json* n = e.find("node_ids"); n && !n->is_null()) {
      q.node_ids.emplace();
      for (const Json& id : n->as_array()) q.node_ids->push_back(id.as_string());
    }
    const Json* filters = e.find("filters");
    if (e.find("construct_error")) {
      // LlamaIndex would not even build these filters: neither does lstore.
      REQUIRE(filters);
      CHECK_THROWS_AS(parse_metadata_filters(*filters, sem), Error);
      ++t.construct_refused;
      continue;
    }
    if (filters && !filters->is_null()) {
      REQUIRE_NOTHROW(q.filters = parse_metadata_filters(*filters, sem));
    }
    if (e.find("query_error")) {
      try {
        query_vector_store(store, ns, q);
        FAIL("lstore answered a query LlamaIndex refused: " << dump(*e.find("query_error")));
      } catch (const Error& err) {
        CHECK((err.kind() == ErrorKind::Usage || err.kind() == ErrorKind::Data));
        CHECK(std::string(err.what()).size() > 10);  // says why
      }
      ++t.refused;
      continue;
    }
    std::vector<QueryHit> hits;
    REQUIRE_NOTHROW(hits = query_vector_store(store, ns, q));
    const auto& ids = e.find("ids")->as_array();
    const auto& sims = e.find("similarities")->as_array();
    INFO("lstore: " << show(hits));
    REQUIRE(hits.size() == ids.size());
    for (std::size_t i = 0; i < hits.size(); ++i) {
      CHECK(hits[i].id == ids[i].as_string());
      CHECK(close(hits[i].score, sims[i].as_number()));
    }
    if (const Json* ties = e.find("has_ties"); ties && ties->is_bool() && ties->as_bool()) ++t.ties;
    ++t.compared;
  }
  // The retriever: the same search restricted to the vector index's nodes.
  if (const Json* r = g.find("retriever"); r && r->is_array() && !r->as_array().empty()) {
    auto index = vector_index(store);
    REQUIRE(index);
    for (const Json& e : r->as_array()) {
      INFO(file.string() << " :: retriever top_k " << e.find("top_k")->as_int());
      VectorQuery q;
      q.embedding = qv;
      q.top_k = static_cast<std::size_t>(e.find("top_k")->as_int());
      q.node_ids = index_node_ids(store, *index);
      std::vector<QueryHit> hits = dedupe_like_retriever(store, query_vector_store(store, ns, q));
      const auto& nodes = e.find("nodes")->as_array();
      REQUIRE(hits.size() == nodes.size());
      for (std::size_t i = 0; i < hits.size(); ++i) {
        CHECK(hits[i].id == nodes[i].find("id")->as_string());
        CHECK(close(hits[i].score, nodes[i].find("score")->as_number()));
      }
      ++t.retriever;
    }
  }
}

}  // namespace

TEST_CASE("query: every golden of the 0.12 and 0.10 corpus") {
  if (!corpus::available()) {
    MESSAGE("SKIPPED: no corpus at " << corpus::root() << " (query goldens)");
    return;
  }
  std::map<std::string, Tally> tallies;
  int files = 0;
  for (const char* era : {"llamaindex-0.12", "llamaindex-0.10"}) {
    std::vector<fs::path> cases;
    for (const auto& c : fs::directory_iterator(corpus::root() / era))
      if (c.is_directory() && fs::is_directory(c.path() / "expected")) cases.push_back(c.path());
    std::sort(cases.begin(), cases.end());
    for (const fs::path& c : cases) {
      std::vector<fs::path> goldens;
      for (const auto& f : fs::directory_iterator(c / "expected"))
        if (f.path().filename().string().rfind("query_", 0) == 0) goldens.push_back(f.path());
      if (goldens.empty()) continue;
      std::sort(goldens.begin(), goldens.end());
      Store store = make_directory_backend((c / "persist").string())->load();
      INFO(c.string() << " era " << store.era);
      // The 0.10 goldens come from 0.10.13 (legacy_filters), the 0.12 ones from 0.12.35.
      if (store.era != "0.9.0+")  // an empty store cannot be dated; it has no filter goldens
        CHECK(filter_semantics_for_era(store.era) ==
              (std::string(era) == "llamaindex-0.10" ? FilterSemantics::Legacy : FilterSemantics::Current));
      for (const fs::path& g : goldens) {
        check_golden(store, g, tallies[era]);
        ++files;
      }
    }
  }
  for (const auto& [era, t] : tallies)
    MESSAGE(era << ": " << t.compared << " queries equal (" << t.ties << " with ties), " << t.refused
                << " refused like query_error, " << t.construct_refused << " refused like construct_error, "
                << t.retriever << " retriever results equal");
  CHECK(files >= 80);
  CHECK(tallies["llamaindex-0.12"].compared >= 500);
  CHECK(tallies["llamaindex-0.10"].refused >= 50);
  CHECK(tallies["llamaindex-0.12"].ties >= 50);
}

TEST_CASE("query: Python comparisons behind the filters") {
  namespace py = detail::py;
  CHECK(py::eq(Json(true), Json(1)));            // True == 1
  CHECK(py::eq(Json(1), Json(1.0)));             // 1 == 1.0
  CHECK_FALSE(py::eq(Json(std::nan("")), Json(std::nan(""))));
  CHECK(py::same(Json(JsonArray{Json(std::nan(""))}), Json(JsonArray{Json(std::nan(""))})));  // json's one NaN object
  CHECK_FALSE(py::eq(Json(JsonArray{Json("ui")}), Json("ui")));
  CHECK(py::eq(Json(std::int64_t{9007199254740992}), Json(9007199254740992.0)));
  CHECK_FALSE(py::eq(Json(std::int64_t{9007199254740993}), Json(9007199254740992.0)));  // exact, not via double
  CHECK(py::order(Json(2), Json(1.5), py::Order::Gt));
  CHECK(py::order(Json("b"), Json("a"), py::Order::Gt));
  CHECK(py::order(Json(JsonArray{Json(1), Json(2)}), Json(JsonArray{Json(1), Json(3)}), py::Order::Lt));
  CHECK(py::order(Json(JsonArray{Json(1)}), Json(JsonArray{Json(1), Json(0)}), py::Order::Lt));
  try {
    py::order(Json(2021), Json("2020"), py::Order::Gt);
    FAIL("int > str must raise");
  } catch (const detail::PyError& e) {
    CHECK(e.text() == "TypeError: '>' not supported between instances of 'int' and 'str'");
  }
  CHECK(py::contains(Json("newsroom"), Json("news")));  // `in` with a str value: substring
  CHECK_FALSE(py::contains(Json(JsonArray{Json("news")}), Json("new")));
  CHECK(py::contains(Json(JsonArray{Json(1.0)}), Json(true)));
  CHECK_THROWS_AS(py::contains(Json("abc"), Json(1)), detail::PyError);
  CHECK_THROWS_AS(py::contains(Json(5), Json(1)), detail::PyError);
  CHECK(py::iterate(Json("日本")).size() == 2);
  CHECK(py::lower("VeCTors ÄÖ") == "vectors äö");
  CHECK(py::lower("ΟΔΟΣ") == "οδος");  // final sigma
  CHECK(py::lower("İ") == "i\xcc\x87");
}

TEST_CASE("query: filter evaluation, 0.12 and 0.10.13 semantics") {
  Json md = parse(R"({"year": 2021, "tags": ["ui", "db"], "title": "Vector Stores", "note": null, "published": true})");
  auto eval = [&](const char* expr, FilterSemantics s = FilterSemantics::Current) {
    MetadataFilters f;
    f.filters.push_back({parse_filter_expression(expr, s), nullptr});
    return detail::FilterEvaluator(&f, s).matches(md);
  };
  CHECK(eval("year >= 2021"));
  CHECK_FALSE(eval("missing != 1"));  // a missing key is false even for !=
  CHECK(eval("note is_empty"));
  CHECK(eval("missing is_empty"));
  CHECK_FALSE(eval("tags == \"ui\""));  // 0.12: a list is not equal to a member
  CHECK(eval("tags == \"ui\"", FilterSemantics::Legacy));  // 0.10.13: list metadata holds the value
  CHECK(eval("tags contains \"db\""));
  CHECK(eval("title text_match \"vector\""));
  CHECK(eval("tags all [\"ui\", \"db\"]"));
  CHECK_FALSE(eval("tags any [\"x\"]"));
  CHECK(eval("published == 1"));
  CHECK(eval("\"year\" in [2020, 2021]"));
  CHECK_THROWS_AS(eval("year > \"2020\""), detail::PyError);
  CHECK_THROWS_AS(eval("title text_match_insensitive \"v\""), detail::PyError);
  CHECK_FALSE(eval("missing text_match_insensitive \"v\""));  // None is checked first

  MetadataFilters both;  // every filter is evaluated: the second one's error wins over the first's False
  both.filters.push_back({parse_filter_expression("year == 1"), nullptr});
  both.filters.push_back({parse_filter_expression("year > \"x\""), nullptr});
  CHECK_THROWS_AS(detail::FilterEvaluator(&both, FilterSemantics::Current).matches(md), detail::PyError);
  both.condition = FilterCondition::Or;
  both.filters.pop_back();
  both.filters.push_back({parse_filter_expression("year == 2021"), nullptr});
  CHECK(detail::FilterEvaluator(&both, FilterSemantics::Current).matches(md));
  CHECK_FALSE(detail::FilterEvaluator(&both, FilterSemantics::Legacy).matches(md));  // 0.10.13 ignores "or"
}

TEST_CASE("query: filter parsing refuses what LlamaIndex's pydantic model refuses") {
  auto filters = [](const char* json, FilterSemantics s = FilterSemantics::Current) {
    return parse_metadata_filters(parse(json), s);
  };
  CHECK_THROWS_AS(filters(R"({"filters": [{"key": "a", "value": true}]})"), Error);
  CHECK_THROWS_AS(filters(R"({"filters": [{"key": "a", "value": [1, "x"]}]})"), Error);
  CHECK_THROWS_AS(filters(R"({"filters": [{"key": "a", "value": {"b": 1}}]})"), Error);
  CHECK_THROWS_AS(filters(R"({"filters": [{"key": "a"}]})"), Error);
  CHECK_THROWS_AS(filters(R"({"filters": [{"key": "a", "value": 1, "operator": "~"}]})"), Error);
  CHECK_THROWS_AS(filters(R"({"filters": [], "condition": "xor"})"), Error);
  CHECK_THROWS_AS(filters(R"({"filters": [{"key": "a", "value": [1]}]})", FilterSemantics::Legacy), Error);
  CHECK_THROWS_AS(filters(R"({"filters": [{"key": "a", "value": 1, "operator": "contains"}]})", FilterSemantics::Legacy), Error);
  MetadataFilters f = filters(R"({"filters": [{"key": "a", "value": [1, 2.5]}, {"filters": [], "condition": "or"}], "condition": "not"})");
  REQUIRE(f.filters.size() == 2);
  CHECK(f.filters[0].filter.value.as_array()[0].is_float());  // List[StrictFloat] took the int as a float
  CHECK(f.filters[1].nested);
  CHECK(f.condition == FilterCondition::Not);
  CHECK(dump(filters_to_json(filters(R"({"filters": [{"key": "k", "value": null, "operator": "is_empty"}]})")), {JsonDialect::Compact}) ==
        R"({"filters":[{"key":"k","value":null,"operator":"is_empty"}],"condition":"and"})");

  MetadataFilter e = parse_filter_expression("  \"two words\"   text_match   \"ab c\" ");
  CHECK(e.key == "two words");
  CHECK(e.op == FilterOp::TextMatch);
  CHECK(e.value.as_string() == "ab c");
  CHECK_THROWS_AS(parse_filter_expression("year >"), Error);
  CHECK_THROWS_AS(parse_filter_expression("year ~ 1"), Error);
  CHECK_THROWS_AS(parse_filter_expression("category == news"), Error);  // VALUE is JSON: quote strings
  CHECK_THROWS_AS(parse_filter_expression("flag == true"), Error);      // a bool is refused by pydantic
  try {
    parse_filter_expression("year ~ 1");
  } catch (const Error& err) {
    CHECK(err.kind() == ErrorKind::Usage);
  }
}

TEST_CASE("query: ranking emulates heapq and CPython's sort") {
  // Equal similarities: the heap keeps the larger ids, and the stable sort
  // follows the heap's array layout, not the input order.
  std::vector<double> sims{0.5, 0.5, 0.5, 0.5, 0.9};
  std::vector<std::string_view> ids{"d", "b", "e", "a", "c"};
  auto order = detail::rank_default(sims, ids, 3);
  REQUIRE(order.size() == 3);
  CHECK(order[0] == 4);
  // heapq: push d,b,e -> [b,d,e]; push a -> [a,b,e,d] pop a -> [b,d,e]; push c(0.9) -> [b,d,e,c] pop b -> [d,c,e]
  CHECK(ids[order[1]] == "d");
  CHECK(ids[order[2]] == "e");
  CHECK(detail::rank_default(sims, ids, 0).size() == 5);  // 0 keeps everything
  CHECK(detail::rank_default(sims, ids, std::nullopt).size() == 5);

  // With NaN keys the result is whatever CPython's algorithm does (checked with Python 3.11).
  const double nan = std::nan("");
  auto py_sorted = [](std::vector<double> keys) {
    std::vector<std::pair<double, std::size_t>> items;
    for (std::size_t i = 0; i < keys.size(); ++i) items.emplace_back(keys[i], i);
    detail::python_sort_desc(items);
    std::vector<std::size_t> out;
    for (auto& it : items) out.push_back(it.second);
    return out;
  };
  CHECK(py_sorted({0.5, nan, 0.7, 0.1, nan, 0.7}) == std::vector<std::size_t>{0, 1, 2, 3, 4, 5});
  CHECK(py_sorted({0.1, 0.9, nan, 0.5, 0.3}) == std::vector<std::size_t>{1, 0, 2, 3, 4});
  CHECK(py_sorted({0.2, 0.8, 0.5, nan, 0.9, 0.1, 0.7}) == std::vector<std::size_t>{1, 3, 4, 6, 2, 0, 5});
  CHECK(py_sorted({nan, 0.1, 0.2, 0.3, nan, 0.5, 0.4}) == std::vector<std::size_t>{0, 3, 2, 1, 4, 5, 6});
  CHECK(py_sorted({0.1, 0.3, 0.3, 0.2}) == std::vector<std::size_t>{1, 2, 3, 0});

  // MMR: threshold 0 means 0.5; only the latest pick is penalised.
  std::vector<double> a{1, 0}, b{0.9, 0.1}, c{0, 1};
  std::vector<const double*> rows{a.data(), b.data(), c.data()};
  std::vector<double> s{0.9, 0.85, 0.2};
  auto p0 = detail::rank_mmr(rows, 2, s, 3, 0.0);
  auto p5 = detail::rank_mmr(rows, 2, s, 3, 0.5);
  REQUIRE(p0.size() == 3);
  CHECK(p0[0].position == 0);
  CHECK(p0[0].score == doctest::Approx(0.45));
  for (std::size_t i = 0; i < 3; ++i) CHECK(p0[i].position == p5[i].position);
  CHECK(p0[1].position == 2);  // c is far from a, so it beats the near-duplicate b
  CHECK(detail::rank_mmr(rows, 2, s, 0, 0.5).empty());
}

TEST_CASE("query: embeddings parse like json.load reads them") {
  double v[4];
  CHECK(detail::parse_embedding("[1, -2.5e-3, 3,4]", v, 4));
  CHECK(v[1] == -0.0025);
  CHECK(detail::parse_embedding(" [NaN, Infinity, -Infinity, 1e400]", v, 4));
  CHECK(std::isnan(v[0]));
  CHECK(std::isinf(v[1]));
  CHECK(v[2] < 0);
  CHECK(std::isinf(v[3]));
  CHECK_FALSE(detail::parse_embedding("[1, 2, 3]", v, 4));
  CHECK_FALSE(detail::parse_embedding("[1, 2, 3, null]", v, 4));
  CHECK_FALSE(detail::parse_embedding("[1, 2, 3, [4]]", v, 4));
  // Python's numbers, not from_chars': 1e308 is finite, 1e-400 is 0.0, the
  // int -0 is 0.0 and the float -0.0 keeps its sign; an int beyond a double
  // makes numpy raise; what JSON's grammar refuses is no number.
  CHECK(detail::parse_embedding("[1e308, 1e-400, -0, -0.0]", v, 4));
  CHECK(v[0] == 1e308);
  CHECK(v[1] == 0.0);
  CHECK((v[2] == 0.0 && !std::signbit(v[2])));
  CHECK((v[3] == 0.0 && std::signbit(v[3])));
  CHECK(detail::parse_embedding("[123456789012345678901234567890, 0.1, 2E+2, -3e-2]", v, 4));
  CHECK(v[0] == 123456789012345678901234567890.0);
  CHECK(v[2] == 200.0);
  CHECK_FALSE(detail::parse_embedding(("[" + std::string(400, '9') + ", 1, 2, 3]").c_str(), v, 4));
  for (const char* bad : {"[01, 1, 2, 3]", "[1., 1, 2, 3]", "[1.e5, 1, 2, 3]", "[.5, 1, 2, 3]", "[-.5, 1, 2, 3]",
                          "[inf, 1, 2, 3]", "[nan, 1, 2, 3]", "[+1, 1, 2, 3]", "[1e, 1, 2, 3]", "[-NaN, 1, 2, 3]",
                          "[infinity, 1, 2, 3]", "[0x10, 1, 2, 3]"}) {
    CAPTURE(bad);
    CHECK_FALSE(detail::parse_embedding(bad, v, 4));
  }
  const double q[2] = {0, 0}, x[2] = {1, 0};
  CHECK(std::isnan(detail::cosine(q, detail::norm(q, 2), x, 2)));  // a zero vector scores NaN, as numpy
}

TEST_CASE("query: the sample store, --index restriction and the warm cache") {
  const fs::path sample = fs::path(LSTORE_SOURCE_DIR) / "testdata" / "sample";
  fs::path tmp = fs::temp_directory_path() / ("lstore-test-query-" + std::to_string(::getpid()));
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  fs::copy(sample, tmp / "store", fs::copy_options::recursive);
  const fs::path dir = tmp / "store";
  Store store = make_directory_backend(dir.string())->load();
  VectorSections s = vector_sections(store.vector_store("default")->doc);
  std::string first(s.embeddings->entries.front().key);

  VectorQuery q;
  q.embedding = stored_embedding(store, "default", first);
  q.top_k = 3;
  auto hits = query_vector_store(store, "default", q);
  REQUIRE(hits.size() == 3);
  CHECK(hits[0].id == first);
  CHECK(hits[0].score == doctest::Approx(1.0));
  CHECK_THROWS_AS(stored_embedding(store, "default", "no-such-id"), Error);
  CHECK_THROWS_AS(query_vector_store(store, "nope", q), Error);
  VectorQuery wrong = q;
  wrong.embedding.push_back(1);
  CHECK_THROWS_AS(query_vector_store(store, "default", wrong), Error);

  auto index = vector_index(store);
  REQUIRE(index);
  q.node_ids = index_node_ids(store, *index);
  CHECK(q.node_ids->size() == 12);
  CHECK(query_vector_store(store, "default", q).size() == 3);
  CHECK_THROWS_AS(index_node_ids(store, "no-such-index"), Error);
  q.node_ids = std::vector<std::string>{};
  CHECK(query_vector_store(store, "default", q).empty());  // an empty restriction leaves nothing
  q.node_ids.reset();

  // Cache: written, read back equal, answers the same, and goes stale.
  setenv("LSTORE_CACHE_DIR", (tmp / "cache").c_str(), 1);
  fs::path cache = vector_cache_path(dir, "default");
  CHECK(cache.parent_path() == tmp / "cache");
  CHECK_FALSE(read_vector_cache(cache, dir));
  PackedVectors packed = PackedVectors::parse(store, "default");
  CHECK(packed.rows() == 12);
  CHECK(packed.dim() == 8);
  PackedVectors written = write_vector_cache(cache, dir, store, "default");
  CHECK(std::equal(packed.row(0), packed.row(0) + 8 * 12, written.row(0)));
  auto warm = read_vector_cache(cache, dir);
  REQUIRE(warm);
  CHECK(warm->rows() == 12);
  CHECK(warm->ids()[0] == first);
  CHECK(warm->ref_doc_id(0).has_value());
  CHECK(std::equal(packed.row(0), packed.row(0) + 8 * 12, warm->row(0)));
  auto warm_hits = query_packed(*warm, q);
  auto with_store = query_vector_store(store, "default", q, &*warm);
  REQUIRE(warm_hits.size() == hits.size());
  for (std::size_t i = 0; i < hits.size(); ++i) {
    CHECK(warm_hits[i].id == hits[i].id);
    CHECK(warm_hits[i].score == hits[i].score);
    CHECK(with_store[i].id == hits[i].id);
  }
  {
    std::ofstream(dir / "default__vector_store.json", std::ios::app) << " ";  // same ids, other bytes
  }
  CHECK_FALSE(read_vector_cache(cache, dir));
  unsetenv("LSTORE_CACHE_DIR");
  fs::remove_all(tmp);
}

TEST_CASE("query: LlamaIndex.TS stores search the same way") {
  if (!corpus::available()) {
    MESSAGE("SKIPPED: no corpus at " << corpus::root() << " (TS query)");
    return;
  }
  int stores = 0;
  for (const auto& c : fs::directory_iterator(corpus::root() / "llamaindex-ts")) {
    if (!c.is_directory()) continue;
    Store store = make_directory_backend(c.path().string())->load();
    REQUIRE(store.dialect == Dialect::TypeScript);
    const VectorStoreDoc* v = store.vector_store("default");
    REQUIRE(v);
    // The expected ranking, from a DOM of the camelCase file.
    Json file = parse(v->doc.bytes());
    const auto& emb = file.find("embeddingDict")->as_object();
    REQUIRE(!emb.empty());
    std::vector<double> q = numbers(emb.front().second);
    std::vector<std::pair<double, std::string>> want;
    for (const auto& [id, vec] : emb) {
      std::vector<double> e = numbers(vec);
      double dot = 0, nq = 0, ne = 0;
      for (std::size_t i = 0; i < e.size(); ++i) {
        dot += q[i] * e[i];
        nq += q[i] * q[i];
        ne += e[i] * e[i];
      }
      want.emplace_back(dot / (std::sqrt(nq) * std::sqrt(ne)), id);
    }
    std::stable_sort(want.begin(), want.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    VectorQuery query;
    query.embedding = stored_embedding(store, "default", emb.front().first);
    query.top_k = 0;
    auto hits = query_vector_store(store, "default", query);
    REQUIRE(hits.size() == want.size());
    for (std::size_t i = 0; i < hits.size(); ++i) {
      CHECK(hits[i].id == want[i].second);
      CHECK(close(hits[i].score, want[i].first));
    }
    // --index: a TS simple_dict index restricts to its nodesDict keys.
    for (const IndexStruct& s : read_index_structs(store))
      if (s.type == "simple_dict") {
        auto ids = index_node_ids(store, s.id);
        CHECK(ids.size() == s.data.find("nodesDict")->as_object().size());
        query.node_ids = ids;
        for (const QueryHit& h : query_vector_store(store, "default", query))
          CHECK(std::find(ids.begin(), ids.end(), h.id) != ids.end());
      }
    ++stores;
  }
  CHECK(stores >= 4);
}
