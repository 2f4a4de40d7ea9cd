// A postgresql:// store URI taken apart: what libpq gets, what is printed,
// and lstore's own parameters (schema=, namespace=, the pgvector options).
#pragma once

#include <string>
#include <vector>

#include "pgvector.hpp"

namespace lstore::pg {

struct PgUri {
  std::string conninfo;  // what libpq gets: the URI without lstore's parameters
  std::string display;   // the URI with its password hidden (redact_store_name)
  std::string schema = "public";
  std::string ns;        // LlamaIndex namespace replacing "docstore"/"index_store", or empty
  std::vector<std::string> secrets;  // texts never to show (the password as written and decoded)
  PgVectorOptions vectors;  // ?vectors=pgvector&table=...: vector stores as PGVectorStore tables
};

// Finds the user info's password, and splits off lstore's own query
// parameters, which libpq would refuse.
PgUri parse_uri(const std::string& uri);

}  // namespace lstore::pg
