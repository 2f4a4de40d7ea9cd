// postgresql:// URIs (uri.hpp).
#include "uri.hpp"

#include <cstdlib>

#include "lstore/error.hpp"
#include "backends/store_uri.hpp"

namespace lstore::pg {
namespace {

std::string lower_ascii(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

// The user info as libpq must get it: libpq ends it at the first '@' (or
// '/'), lstore at the last (StoreUri::parse), so a raw '@' or '/' in it is
// escaped; otherwise libpq would take the password's tail for the host and
// quote it in its error.
std::string escape_userinfo(std::string_view cred) {
  std::string out;
  for (char c : cred) out += c == '@' ? "%40" : c == '/' ? "%2F" : std::string(1, c);
  return out;
}

}  // namespace

PgUri parse_uri(const std::string& uri) {
  PgUri u;
  StoreUri parts = StoreUri::parse(uri);
  parts.check_escapes();
  const std::string head = parts.head();
  std::string libpq_query;
  std::vector<std::string> pgvector_params;  // PGVectorStore's options given
  for (const StoreUri::Param& p : parts.params) {
    std::string value = percent_decode(p.value);
    if (p.name == "schema") {
      // LlamaIndex lower-cases schema_name; so does lstore, to meet it there.
      u.schema = lower_ascii(value);
      if (u.schema.empty()) throw Error(ErrorKind::Usage, head, "the schema in the URI is empty");
    } else if (p.name == "namespace") {
      u.ns = value;
      if (u.ns.empty()) throw Error(ErrorKind::Usage, head, "the namespace in the URI is empty");
    } else if (take_pgvector_param(u.vectors, p.name, value, head)) {
      if (p.name != "vectors") pgvector_params.push_back(p.name);
    } else {
      libpq_query += (libpq_query.empty() ? "" : "&") + p.text();
    }
  }
  if (!pgvector_params.empty() && !u.vectors.enabled)
    throw Error(ErrorKind::Usage, head, pgvector_params.front() + "= is an option of the pgvector tables", "",
                "add vectors=pgvector to the URI");
  if (u.vectors.hnsw() && !(u.vectors.hnsw_m && u.vectors.hnsw_ef_construction))
    throw Error(ErrorKind::Usage, head, "an HNSW index needs both hnsw_m= and hnsw_ef_construction=",
                "", "PGVectorStore's hnsw_kwargs requires both");
  std::string userinfo;
  std::vector<std::string> extra;
  if (parts.user) {
    userinfo = escape_userinfo(*parts.user + (parts.password ? ":" + *parts.password : "")) + "@";
    if (parts.password) extra.push_back(escape_userinfo(*parts.password));
  }
  if (const char* env = std::getenv("PGPASSWORD")) extra.emplace_back(env);
  u.secrets = parts.secrets(std::move(extra));
  u.conninfo = head + userinfo + parts.host_and_path + (libpq_query.empty() ? "" : "?" + libpq_query);
  u.display = parts.printable();
  return u;
}

}  // namespace lstore::pg
