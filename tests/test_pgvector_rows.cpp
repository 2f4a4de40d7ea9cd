// PGVectorStore rows built without a server (src/backends/postgres/pgvector_rows.cpp),
// compared with the goldens of ../shared/corpus/backends/pgvector: text,
// metadata_ bytes (Python json.dumps of node_to_metadata_dict) and node_id
// equal; embeddings the same float32 values; DDL names as LlamaIndex's.
#include <doctest/doctest.h>

#include "backends/postgres/pgvector.hpp"
#include "corpus.hpp"
#include "lstore/backend.hpp"
#include "lstore/json.hpp"

using namespace lstore;
namespace fs = std::filesystem;

namespace {

// The golden rows of one table of a case, in id order.
JsonArray golden_rows(const std::string& c, const std::string& table) {
  Json g = parse(corpus::slurp(corpus::root() / "backends" / "pgvector" / (c + ".json")));
  return g.find("tables")->find(table)->find("rows")->as_array();
}

}  // namespace

TEST_CASE("pgvector rows equal PGVectorStore's for the corpus cases") {
  if (!corpus::available()) {
    MESSAGE("no corpus: skipped");
    return;
  }
  struct Case { const char* name; const char* ns; const char* table; };
  for (Case c : {Case{"vector", "default", "public.data_llamaindex"}, Case{"multi", "default", "public.data_llamaindex"},
                 Case{"image", "default", "public.data_llamaindex"}, Case{"image", "image", "public.data_llamaindex_image"}}) {
    CAPTURE(c.name);
    CAPTURE(c.ns);
    Store store = make_directory_backend((corpus::root() / "llamaindex-0.12" / c.name / "persist").string())->load();
    const VectorStoreDoc* vs = store.vector_store(c.ns);
    REQUIRE(vs);
    int dim = 0;
    PgVectorRowsReport report;
    std::vector<PgVectorRow> rows = pgvector_rows(store, *vs, dim, report);
    JsonArray want = golden_rows(c.name, c.table);
    REQUIRE(rows.size() == want.size());
    CHECK(dim == 16);
    CHECK(report.nonfinite_metadata == 0);
    CHECK(report.float32_changed == rows.size());
    CHECK(report.max_change < 3e-8);
    for (std::size_t i = 0; i < rows.size(); ++i) {
      CAPTURE(i);
      CHECK(rows[i].text == want[i].find("text")->as_string());
      CHECK(rows[i].metadata == want[i].find("metadata_")->as_string());
      CHECK(rows[i].node_id == want[i].find("node_id")->as_string());
      std::vector<double> ours, theirs;
      REQUIRE(parse_pgvector_text(rows[i].embedding, ours));
      REQUIRE(parse_pgvector_text(want[i].find("embedding")->as_string(), theirs));
      CHECK(ours == theirs);
    }
  }
}

TEST_CASE("pgvector names, DDL and the metadata_ way back") {
  PgVectorOptions o;
  CHECK(take_pgvector_param(o, "table", "My_Table", "uri"));
  CHECK(pgvector_table_name(o, "default") == "data_my_table");
  CHECK(pgvector_table_name(o, "image") == "data_my_table_image");
  CHECK_FALSE(take_pgvector_param(o, "sslmode", "disable", "uri"));
  CHECK_THROWS_AS(take_pgvector_param(o, "table", "x; DROP", "uri"), Error);
  CHECK_THROWS_AS(take_pgvector_param(o, "embed_dim", "0", "uri"), Error);
  std::vector<std::string> ddl = pgvector_ddl(o, "\"public\"", "default", 16);
  REQUIRE(ddl.size() == 2);
  CHECK(ddl[1].find("\"my_table_idx_1\"") != std::string::npos);
  o.hybrid_search = true;
  o.hnsw_m = 16;
  o.hnsw_ef_construction = 64;
  ddl = pgvector_ddl(o, "\"public\"", "default", 16);
  REQUIRE(ddl.size() == 4);
  CHECK(ddl[0].find("text_search_tsv TSVECTOR GENERATED ALWAYS AS (to_tsvector('english', text)) STORED") !=
        std::string::npos);
  CHECK(ddl[3].find("USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)") != std::string::npos);
  // Shortest float32 text (pgvector reads it back as the same float32).
  CHECK(pgvector_text(std::vector<double>{0.1, -0.0, 123456789.0}) == "[0.1,-0,123456792]");
  SimpleEntriesFromRow s = simple_entries_from_metadata(
      R"({"a": 1, "_node_content": "{}", "_node_type": "TextNode", "ref_doc_id": "d\u00e9"})");
  CHECK(s.ref_doc_id_json == R"("d\u00e9")");
  CHECK(s.metadata_json == R"({"a": 1, "_node_type": "TextNode", "ref_doc_id": "d\u00e9"})");
}

TEST_CASE("pgvector query SQL binds every filter value") {
  VectorQuery q;
  q.embedding = {0.5, -0.25};
  q.top_k = 3;
  q.filters = parse_metadata_filters(parse(
      R"({"filters": [{"key": "author", "value": "Brian O'Brien", "operator": "=="},
                      {"key": "year", "value": "2015", "operator": ">"},
                      {"key": "year", "value": [2015, 0.5], "operator": "nin"}], "condition": "or"})"));
  // A mixed list is floats after validation (as pydantic makes it): str() gives 2015.0.
  PgVectorQuerySql s = pgvector_query_sql("\"public\".data_x", q);
  CHECK(s.sql ==
        "SELECT node_id, embedding <=> $1::vector AS distance, text, metadata_::text FROM \"public\".data_x WHERE "
        "(metadata_->>$2 = $3) OR ((metadata_->>$4)::float > $5::float8) OR (NOT (metadata_->>$6 = ANY($7::text[]))) "
        "ORDER BY distance ASC LIMIT $8");
  CHECK(s.sql.find("O'Brien") == std::string::npos);
  CHECK(s.params == std::vector<std::string>{"[0.5,-0.25]", "author", "Brian O'Brien", "year", "2015", "year",
                                             "{\"2015.0\",\"0.5\"}", "3"});
  q.mode = QueryMode::Mmr;
  CHECK_THROWS_AS(pgvector_query_sql("t", q), Error);
  q.mode = QueryMode::Default;
  q.filters = parse_metadata_filters(parse(R"({"filters": [{"key": "a", "value": "x", "operator": "=="}], "condition": "not"})"));
  CHECK_THROWS_AS(pgvector_query_sql("t", q), Error);
}

TEST_CASE("the docstore rebuilt from PGVectorStore's rows is the corpus case's, but for the Documents' hashes") {
  if (!corpus::available()) {
    MESSAGE("no corpus: skipped");
    return;
  }
  // The golden table's rows (what PGVectorStore wrote for the case), against
  // the docstore LlamaIndex persisted for the same nodes.
  for (const char* name : {"vector", "multi", "image"}) {
    CAPTURE(name);
    Json doc = parse(corpus::slurp(corpus::root() / "llamaindex-0.12" / name / "persist" / "docstore.json"));
    const Json& data = *doc.find("docstore/data");
    const Json& meta = *doc.find("docstore/metadata");
    const Json& refs = *doc.find("docstore/ref_doc_info");
    RefDocInfoBuilder ref_docs;
    std::vector<std::string> ids;
    for (const Json& row : golden_rows(name, "public.data_llamaindex")) {
      const std::string& id = row.find("node_id")->as_string();
      CAPTURE(id);
      RebuiltNode n = rebuild_node(id, row.find("text")->as_string(), row.find("metadata_")->as_string());
      REQUIRE(data.find(id));
      CHECK(n.envelope == dump(*data.find(id)));
      CHECK(n.metadata_record == dump(*meta.find(id)));
      ref_docs.add(n);
      ids.push_back(id);
    }
    // One ref_doc_info per source document, as persisted; each Document's own
    // doc_hash record is what cannot come back (it is not in the table).
    std::size_t documents = 0;
    for (const auto& [ref, value] : ref_docs.entries()) {
      CAPTURE(ref);
      REQUIRE(refs.find(ref));
      CHECK(value == dump(*refs.find(ref)));
      documents += meta.find(ref) != nullptr;
    }
    CHECK(ref_docs.size() == refs.as_object().size());
    CHECK(documents == ref_docs.size());
    std::string index = rebuilt_index_struct("I1", ids);
    Json s = parse(index);
    CHECK(s.find("__type__")->as_string() == "vector_store");
    Json nd = parse(s.find("__data__")->as_string());
    CHECK(nd.find("nodes_dict")->as_object().size() == ids.size());
    CHECK(*nd.find("nodes_dict")->find(ids.front()) == Json(ids.front()));
  }
  // The id is the same on every conversion of a table, a well-formed UUID.
  CHECK(rebuilt_index_id("public.data_x") == rebuilt_index_id("public.data_x"));
  CHECK(rebuilt_index_id("public.data_x") != rebuilt_index_id("public.data_y"));
  CHECK(rebuilt_index_id("public.data_x").size() == 36);
  CHECK(rebuilt_index_id("public.data_x")[14] == '5');
  // A row without _node_content, or whose node is another, is refused with the reason.
  CHECK_THROWS_WITH_AS(rebuild_node("a", "t", R"({"x": 1})"), doctest::Contains("_node_content"), std::runtime_error);
  CHECK_THROWS_WITH_AS(rebuild_node("a", "t", R"({"_node_content": "{\"id_\": \"b\"}"})"), doctest::Contains("id_"),
                       std::runtime_error);
}
