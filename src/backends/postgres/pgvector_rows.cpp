// PGVectorStore's DDL and rows, as text (see pgvector.hpp).
#include "pgvector.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "lstore/error.hpp"
#include "lstore/json.hpp"

namespace lstore {

namespace {

std::string lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

bool truthy(const std::string& v, std::string_view name, const std::string& where) {
  std::string l = lower(v);
  if (l == "true" || l == "1" || l == "yes" || l.empty()) return true;
  if (l == "false" || l == "0" || l == "no") return false;
  throw Error(ErrorKind::Usage, where, std::string(name) + " must be true or false, not '" + v + "'");
}

int positive(const std::string& v, std::string_view name, const std::string& where) {
  int n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || end != v.data() + v.size() || n <= 0 || n > 16000)
    throw Error(ErrorKind::Usage, where, std::string(name) + " must be a whole number from 1 to 16000, not '" + v + "'");
  return n;
}

// A name pasted into DDL as PGVectorStore pastes it: letters, digits, '_'.
void check_name(const std::string& v, std::string_view name, const std::string& where) {
  bool ok = !v.empty() && !(v[0] >= '0' && v[0] <= '9');
  for (char c : v) ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
  if (!ok) throw Error(ErrorKind::Usage, where, std::string(name) + " may hold only letters, digits and '_', not '" + v + "'");
}

// NaN / ±Infinity -> null, counted: pydantic's JSON mode, which PGVectorStore
// serialises nodes through (§1.4).
void null_nonfinite(Json& v, std::size_t& count) {
  if (v.is_float() && !std::isfinite(v.as_float())) {
    v = Json(nullptr);
    ++count;
  } else if (v.is_array()) {
    for (Json& e : v.as_array()) null_nonfinite(e, count);
  } else if (v.is_object()) {
    for (auto& [k, e] : v.as_object()) null_nonfinite(e, count);
  }
}

}  // namespace

bool take_pgvector_param(PgVectorOptions& o, std::string_view name, const std::string& value, const std::string& where) {
  if (name == "vectors") {
    if (value != "pgvector")
      throw Error(ErrorKind::Usage, where, "vectors= takes 'pgvector', not '" + value + "'");
    o.enabled = true;
  } else if (name == "table") {
    std::string table = lower(value);  // PGVectorStore lower-cases table_name
    check_name(table, "table", where);
    o.table = table;
  } else if (name == "embed_dim") {
    o.embed_dim = positive(value, name, where);
  } else if (name == "use_jsonb") {
    o.use_jsonb = truthy(value, name, where);
  } else if (name == "hybrid_search") {
    o.hybrid_search = truthy(value, name, where);
  } else if (name == "text_search_config") {
    check_name(lower(value), name, where);
    o.text_search_config = value;
  } else if (name == "hnsw_m") {
    o.hnsw_m = positive(value, name, where);
  } else if (name == "hnsw_ef_construction") {
    o.hnsw_ef_construction = positive(value, name, where);
  } else if (name == "hnsw_dist_method") {
    if (value != "vector_cosine_ops" && value != "vector_l2_ops" && value != "vector_ip_ops")
      throw Error(ErrorKind::Usage, where, "hnsw_dist_method takes vector_cosine_ops, vector_l2_ops or vector_ip_ops");
    o.hnsw_dist_method = value;
  } else {
    return false;
  }
  return true;
}

std::string pgvector_index_stem(const PgVectorOptions& o, std::string_view ns) {
  return ns == "default" ? o.table : o.table + "_" + lower(std::string(ns));
}

std::string pgvector_table_name(const PgVectorOptions& o, std::string_view ns) {
  return "data_" + pgvector_index_stem(o, ns);
}

std::vector<std::string> pgvector_ddl(const PgVectorOptions& o, const std::string& quoted_schema, std::string_view ns,
                                      int dim) {
  // Names are quoted (the schema may need it); the text LlamaIndex sends
  // leaves them bare, which is the same for the lower-case names it makes.
  const std::string stem = pgvector_index_stem(o, ns), table = quoted_schema + ".\"" + pgvector_table_name(o, ns) + "\"";
  std::string create = "CREATE TABLE " + table +
                       " (id BIGSERIAL NOT NULL, text VARCHAR NOT NULL, metadata_ " +
                       (o.use_jsonb ? "JSONB" : "JSON") + ", node_id VARCHAR, embedding VECTOR(" +
                       std::to_string(dim) + ")";
  if (o.hybrid_search)
    create += ", text_search_tsv TSVECTOR GENERATED ALWAYS AS (to_tsvector('" + o.text_search_config +
              "', text)) STORED";
  create += ", PRIMARY KEY (id))";
  std::vector<std::string> out = {
      create, "CREATE INDEX \"" + stem + "_idx_1\" ON " + table + " USING btree ((metadata_ ->> 'ref_doc_id'))"};
  if (o.hybrid_search) out.push_back("CREATE INDEX \"" + stem + "_idx\" ON " + table + " USING gin (text_search_tsv)");
  // PGVectorStore._create_hnsw_index (source): both parameters required.
  if (o.hnsw())
    out.push_back("CREATE INDEX IF NOT EXISTS \"" + pgvector_table_name(o, ns) + "_embedding_idx\" ON " + table +
                  " USING hnsw (embedding " + o.hnsw_dist_method + ") WITH (m = " + std::to_string(o.hnsw_m.value_or(16)) +
                  ", ef_construction = " + std::to_string(o.hnsw_ef_construction.value_or(64)) + ")");
  return out;
}

std::string pgvector_text(std::span<const double> v) {
  std::string out = "[";
  char buf[32];
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) out += ',';
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<float>(v[i]));
    out.append(buf, end);
  }
  return out + "]";
}

bool parse_pgvector_text(std::string_view text, std::vector<double>& out) {
  return parse_number_list<float>(text, '[', ']', out);
}

std::vector<PgVectorRow> pgvector_rows(const Store& store, const VectorStoreDoc& vs, int& dim,
                                       PgVectorRowsReport& report) {
  std::vector<PgVectorRow> rows;
  pgvector_each_row(store, vs, dim, report, [&](PgVectorRow&& r) { rows.push_back(std::move(r)); });
  return rows;
}

int pgvector_first_dim(const VectorStoreDoc& vs) {
  const Section* emb = vs.doc.section("embedding_dict");
  if (!emb || emb->entries.empty()) return 0;
  Json vec = vs.doc.decode(emb->entries.front().raw);
  return vec.is_array() ? static_cast<int>(vec.as_array().size()) : 0;
}

void pgvector_each_row(const Store& store, const VectorStoreDoc& vs, int& dim, PgVectorRowsReport& report,
                       const std::function<void(PgVectorRow&&)>& fn) {
  const Section* emb = vs.doc.section("embedding_dict");
  if (!emb || emb->entries.empty()) return;
  const Section* data = store.doc_collection(coll::kDocData);
  std::size_t count = 0;
  for (const Entry& e : emb->entries) {
    const std::string where = vs.doc.name() + ": embedding_dict[" + std::string(e.key) + "]";
    const Entry* node = data ? data->find(e.key) : nullptr;
    if (!node)
      throw Error(ErrorKind::Data, store.location,
                  "a PGVectorStore row is built from the node, and the docstore has no node for this vector", where);
    // The mapped files are read about in order: the pages behind this row
    // can leave memory (else the whole store ends up resident; touched
    // again, they come back from the page cache).
    if ((++count & 1023) == 0) {
      vs.doc.release_before(e.raw.data());
      store.docstore->release_before(node->raw.data());
    }
    Json wrapped = store.docstore->decode(node->raw);
    const Json* d = wrapped.find("__data__");
    if (!d || !d->is_object())
      throw Error(ErrorKind::Data, store.location, "the docstore entry of this vector is not a node", where);
    Json nd = *d;
    null_nonfinite(nd, report.nonfinite_metadata);
    PgVectorRow row;
    row.node_id = std::string(e.key);
    const Json* text = nd.find("text");
    row.text = text && text->is_string() ? text->as_string() : "";
    // node_to_metadata_dict(node, remove_text=True): metadata, then the
    // reserved keys in this order.
    Json meta(JsonObject{});
    if (const Json* m = nd.find("metadata"); m && m->is_object())
      for (const auto& [k, v] : m->as_object()) meta.set(k, v);
    if (nd.find("text")) nd.set("text", Json(""));
    meta.set("_node_content", Json(dump(nd)));
    const Json* cls = nd.find("class_name");
    meta.set("_node_type", cls && cls->is_string() ? *cls : Json("TextNode"));
    Json ref("None");  // Python's str(None): a node without SOURCE
    if (const Json* rel = nd.find("relationships"))
      if (const Json* src = rel->find("1"))
        if (const Json* id = src->find("node_id"); id && id->is_string()) ref = *id;
    meta.set("document_id", ref);
    meta.set("doc_id", ref);
    meta.set("ref_doc_id", ref);
    row.metadata = dump(meta);
    // The stored embedding.
    Json vec = vs.doc.decode(e.raw);
    if (!vec.is_array())
      throw Error(ErrorKind::Data, store.location, "this embedding is not a list of numbers", where);
    std::vector<double> values;
    for (const Json& x : vec.as_array()) {
      if (!x.is_number() || !std::isfinite(x.as_number()) || std::fabs(x.as_number()) > 3.4028234663852886e38)
        throw Error(ErrorKind::Data, store.location, "pgvector holds finite float32 values only", where);
      values.push_back(x.as_number());
    }
    if (dim == 0) dim = static_cast<int>(values.size());
    if (static_cast<int>(values.size()) != dim)
      throw Error(ErrorKind::Data, store.location,
                  "expected " + std::to_string(dim) + " dimensions, not " + std::to_string(values.size()), where,
                  "every vector of a table has the table's dimension (embed_dim)");
    bool changed = false;
    for (double v : values) {
      double delta = std::fabs(static_cast<double>(static_cast<float>(v)) - v);
      changed = changed || delta != 0;
      report.max_change = std::max(report.max_change, delta);
    }
    report.float32_changed += changed;
    row.embedding = pgvector_text(values);
    fn(std::move(row));
  }
}

SimpleEntriesFromRow simple_entries_from_metadata(std::string_view metadata_text) {
  Json meta = parse(metadata_text);
  SimpleEntriesFromRow out;
  const Json* ref = meta.find("ref_doc_id");
  out.ref_doc_id_json = ref ? dump(*ref) : "null";
  meta.erase("_node_content");
  out.metadata_json = dump(meta);
  return out;
}

}  // namespace lstore
