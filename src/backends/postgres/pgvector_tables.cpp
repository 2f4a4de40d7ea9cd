// PGVectorStore tables written from a store (pgvector_tables.hpp).
#include "pgvector_tables.hpp"

#include <cstdio>

#include "batched_insert.hpp"

namespace lstore::pg {
namespace {

// PGVectorStore's default embed_dim: the table of a store without vectors
// has it unless ?embed_dim= says otherwise.
constexpr int kDefaultEmbedDim = 1536;

// The notes of what a table could not hold of its namespace's rows.
void pgvector_notes(const PgVectorPlan& plan, std::size_t rows, const PgVectorRowsReport& report,
                    const std::string& schema, std::vector<std::string>& notes) {
  const std::string where = schema + "." + plan.table;
  if (report.float32_changed) {
    char change[32];
    std::snprintf(change, sizeof change, "%.3g", report.max_change);
    notes.push_back(std::to_string(report.float32_changed) + " of " + std::to_string(rows) + " embeddings of " +
                    plan.file + " are float32 in " + where +
                    " (pgvector's type): read back, they are the float32 values (largest change " + change + ")");
  }
  if (report.nonfinite_metadata)
    notes.push_back(std::to_string(report.nonfinite_metadata) + " NaN/Infinity metadata values of " + plan.file +
                    "'s nodes are null in " + where + ".metadata_ (as PGVectorStore stores them)");
}

}  // namespace

// The tables a store's vector stores become and their files routed to them.
// The default namespace always gets a table (PGVectorStore creates it on
// first use); another namespace only when it has vectors. A table's
// dimension is embed_dim= or its first vector's: every row is checked
// against it as it is written.
std::vector<PgVectorPlan> plan_pgvector(const Store& store, const PgVectorOptions& o, Routes& routes) {
  std::vector<PgVectorPlan> plans;
  for (const VectorStoreDoc& vs : store.vector_stores) {
    const Section* emb = vs.doc.section("embedding_dict");
    PgVectorPlan plan{vs.ns, vs.doc.name(), pgvector_table_name(o, vs.ns), o.embed_dim.value_or(pgvector_first_dim(vs)),
                      &vs, emb && !emb->entries.empty()};
    if (!plan.has_rows && vs.ns != "default") continue;
    if (plan.dim == 0) plan.dim = kDefaultEmbedDim;
    if (plan.has_rows) routes[plan.file] = std::string(kPgVectorRoute) + plan.table;
    plans.push_back(std::move(plan));
  }
  return plans;
}

// What the tables would lose, without writing (convert --strict asks first):
// every row built and dropped.
std::vector<std::string> pgvector_losses(const Store& store, const std::vector<PgVectorPlan>& plans, const std::string& schema) {
  std::vector<std::string> notes;
  for (const PgVectorPlan& plan : plans) {
    if (!plan.has_rows) continue;
    PgVectorRowsReport report;
    int dim = plan.dim;
    std::size_t rows = 0;
    pgvector_each_row(store, *plan.vs, dim, report, [&](PgVectorRow&&) { ++rows; });
    pgvector_notes(plan, rows, report, schema, notes);
  }
  return notes;
}

// The tables as PGVectorStore creates them, the rows in embedding_dict order
// (ids 1, 2, ...) by multi-row INSERTs with bound parameters, built from the
// store as they are sent (a batch at a time in memory); an HNSW index is
// built after the rows (faster than row by row, the same index). A row that
// cannot be built throws, and the caller's transaction takes everything back.
void write_pgvector(Conn& c, const Place& place, const PgVectorOptions& o, const Store& store,
                    const std::vector<PgVectorPlan>& plans, std::vector<std::string>& notes) {
  if (plans.empty()) return;
  c.exec("CREATE EXTENSION IF NOT EXISTS vector");
  for (const PgVectorPlan& plan : plans) {
    std::vector<std::string> ddl = pgvector_ddl(o, quote_ident(place.schema), plan.ns, plan.dim);
    std::size_t before_rows = ddl.size() - (o.hnsw() ? 1 : 0);
    for (std::size_t i = 0; i < before_rows; ++i) c.exec(ddl[i]);
    if (plan.has_rows) {
      BatchedInsert insert(c, "INSERT INTO " + place.table(plan.table) + " (text, metadata_, node_id, embedding)", 4, 4000);
      PgVectorRowsReport report;
      int dim = plan.dim;
      std::size_t rows = 0;
      pgvector_each_row(store, *plan.vs, dim, report, [&](PgVectorRow&& r) {
        insert.add({std::move(r.text), std::move(r.metadata), std::move(r.node_id), std::move(r.embedding)});
        ++rows;
      });
      insert.flush();
      pgvector_notes(plan, rows, report, place.schema, notes);
    }
    for (std::size_t i = before_rows; i < ddl.size(); ++i) c.exec(ddl[i]);
  }
}

}  // namespace lstore::pg
