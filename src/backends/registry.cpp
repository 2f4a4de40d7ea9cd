// Store names -> backends. A new backend is one file plus one line here.
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

}  // namespace

std::unique_ptr<Backend> open_backend(const std::string& name) {
  auto scheme_is = [&](const char* s) { return name.rfind(s, 0) == 0; };
  if (scheme_is("sqlite:")) return make_sqlite_backend(name.substr(7));
  if (scheme_is("jsonl:")) return make_jsonl_backend(name.substr(6));
  if (scheme_is("redis://") || scheme_is("rediss://")) return make_redis_backend(name);
  if (scheme_is("postgresql://") || scheme_is("postgres://")) return make_postgres_backend(name);
  if (name.find("://") != std::string::npos)
    throw Error(ErrorKind::Usage, name.substr(0, name.find("://") + 3), "unknown store scheme");
  if (is_sqlite_file(name)) return make_sqlite_backend(name);
  std::error_code ec;
  if (std::filesystem::is_regular_file(name, ec)) return make_file_backend(name);
  return make_directory_backend(name);
}

std::vector<std::string> compiled_backends() { return {"dir", "sqlite", "jsonl", "redis", "postgresql"}; }

}  // namespace lstore
