// Store names -> backends. A new backend is its own file(s), one row of
// kBackends below and its lines in CMakeLists.txt; dispatch, --version and
// the "Stores" list of `lstore --help` read this table, and a test holds
// lstore(1)'s STORES section to that list.
#include <array>
#include <filesystem>
#include <fstream>
#include <string>

#include "lstore/backend.hpp"
#include "lstore/error.hpp"

namespace lstore {
namespace {

// "a path to an existing SQLite file" (spec/CLI.md) is the SQLite backend too.
// Only a regular file is opened: a FIFO given as a store would block forever.
bool is_sqlite_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return false;
  std::ifstream in(path, std::ios::binary);
  char head[16] = {};
  return in.read(head, sizeof head) && std::string_view(head, sizeof head) == std::string_view("SQLite format 3\0", 16);
}

// A path: a directory, a SQLite file, or a single store file.
std::unique_ptr<Backend> open_path(const std::string& name) {
  if (is_sqlite_file(name)) return make_sqlite_backend(name);
  std::error_code ec;
  if (std::filesystem::is_regular_file(name, ec)) return make_file_backend(name);
  return make_directory_backend(name);
}

std::unique_ptr<Backend> open_sqlite(const std::string& name) { return make_sqlite_backend(name.substr(7)); }
std::unique_ptr<Backend> open_jsonl(const std::string& name) { return make_jsonl_backend(name.substr(6)); }

// A backend left out of this build (-DLSTORE_WITH_...=OFF) is still named,
// so that its URIs get "built without" rather than "unknown scheme".
template <const char* kName, const char* kOption>
std::unique_ptr<Backend> not_built(const std::string& name) {
  throw Error(ErrorKind::Usage, name.substr(0, name.find("://") + 3),
              std::string("this lstore was built without ") + kName, "",
              std::string("rebuild it with -D") + kOption + "=ON");
}

[[maybe_unused]] constexpr char kRedis[] = "Redis", kRedisOption[] = "LSTORE_WITH_REDIS";
[[maybe_unused]] constexpr char kPostgres[] = "PostgreSQL", kPostgresOption[] = "LSTORE_WITH_POSTGRES";

#if LSTORE_WITH_REDIS
constexpr bool kRedisBuilt = true;
constexpr auto open_redis = make_redis_backend;
#else
constexpr bool kRedisBuilt = false;
constexpr auto open_redis = not_built<kRedis, kRedisOption>;
#endif
#if LSTORE_WITH_POSTGRES
constexpr bool kPostgresBuilt = true;
constexpr auto open_postgres = make_postgres_backend;
#else
constexpr bool kPostgresBuilt = false;
constexpr auto open_postgres = not_built<kPostgres, kPostgresOption>;
#endif

struct BackendEntry {
  BackendInfo info;
  std::array<std::string_view, 2> prefixes;  // the store names it takes ("" = unused)
  std::unique_ptr<Backend> (*open)(const std::string& name);
};

// In the order they are listed; the path backend last (it takes any name
// without a known prefix).
const BackendEntry kBackends[] = {
    {{"sqlite", "sqlite:FILE", "lstore's single-file store (also a path to an existing SQLite file)", true},
     {"sqlite:", ""}, open_sqlite},
    {{"jsonl", "jsonl:FILE", "a line-per-record backup stream ('-' = stdin/stdout; .zst compresses)", true},
     {"jsonl:", ""}, open_jsonl},
    {{"redis", "redis://[user:password@]host[:port][/db][?namespace=NS]",
      "LlamaIndex's Redis document and index stores", kRedisBuilt},
     {"redis://", "rediss://"}, open_redis},
    {{"postgresql", "postgresql://...[?schema=S&namespace=NS&vectors=pgvector&table=T]",
      "LlamaIndex's Postgres document and index stores; with vectors=pgvector, PGVectorStore's table",
      kPostgresBuilt},
     {"postgresql://", "postgres://"}, open_postgres},
    {{"dir", "DIR", "a persist directory (or one store file), Python or TS, any era", true}, {"", ""}, open_path},
};

}  // namespace

std::unique_ptr<Backend> open_backend(const std::string& name) {
  for (const BackendEntry& e : kBackends)
    for (std::string_view p : e.prefixes)
      if (!p.empty() && name.starts_with(p)) return e.open(name);
  if (name.find("://") != std::string::npos)
    throw Error(ErrorKind::Usage, name.substr(0, name.find("://") + 3), "unknown store scheme");
  return open_path(name);
}

std::vector<BackendInfo> backend_list() {
  std::vector<BackendInfo> out;
  for (const BackendEntry& e : kBackends) out.push_back(e.info);
  return out;
}

std::vector<std::string> compiled_backends() {
  std::vector<std::string> out{"dir"};
  for (const BackendEntry& e : kBackends)
    if (e.info.compiled && e.info.name != "dir") out.emplace_back(e.info.name);
  return out;
}

}  // namespace lstore
