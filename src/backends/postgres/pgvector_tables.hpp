// A store's vector stores written as PGVectorStore tables
// (?vectors=pgvector): which tables, what they would lose, the writing.
#pragma once

#include <string>
#include <vector>

#include "lstore/store.hpp"
#include "connection.hpp"
#include "pgvector.hpp"
#include "routes.hpp"
#include "tables.hpp"

namespace lstore::pg {

// One PGVectorStore table to write: a vector store namespace's rows, which
// stream from the store into INSERTs when it is written.
struct PgVectorPlan {
  std::string ns, file, table;  // table without schema
  int dim = 0;
  const VectorStoreDoc* vs = nullptr;
  bool has_rows = false;
};

// The tables a store's vector stores become; their files are routed to them.
std::vector<PgVectorPlan> plan_pgvector(const Store& store, const PgVectorOptions& o, Routes& routes);
// What the tables would lose, without writing (convert --strict asks first).
std::vector<std::string> pgvector_losses(const Store& store, const std::vector<PgVectorPlan>& plans, const std::string& schema);
// The tables created and filled, inside the caller's transaction.
void write_pgvector(Conn& c, const Place& place, const PgVectorOptions& o, const Store& store,
                    const std::vector<PgVectorPlan>& plans, std::vector<std::string>& notes);

}  // namespace lstore::pg
