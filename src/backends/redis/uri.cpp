// redis:// URIs (uri.hpp).
#include "uri.hpp"

#include <cstdlib>

#include "lstore/error.hpp"
#include "backends/store_uri.hpp"

namespace lstore::redis {

RedisUri parse_uri(const std::string& uri) {
  RedisUri u;
  if (uri.rfind("rediss://", 0) == 0)
    throw Error(ErrorKind::Usage, "rediss://", "TLS connections are not supported by this build's hiredis",
                "", "use redis:// through a TLS tunnel");
  StoreUri parts = StoreUri::parse(uri);
  if (parts.user) u.user = percent_decode(*parts.user);
  if (parts.password) u.password = percent_decode(*parts.password);
  std::string rest = parts.host_and_path;
  if (auto slash = rest.find('/'); slash != std::string::npos) {
    std::string db = rest.substr(slash + 1);
    rest.resize(slash);
    if (!db.empty()) {
      char* end = nullptr;
      long v = std::strtol(db.c_str(), &end, 10);
      if (*end || v < 0) throw Error(ErrorKind::Usage, "redis://", "the database in the URI is not a number: " + db);
      u.db = static_cast<int>(v);
    }
  }
  if (!rest.empty()) {
    if (auto colon = rest.rfind(':'); colon != std::string::npos && rest.find(']') == std::string::npos) {
      u.port = std::atoi(rest.c_str() + colon + 1);
      rest.resize(colon);
    }
    if (!rest.empty()) u.host = rest;
  }
  for (const StoreUri::Param& p : parts.params) {
    if (p.name == "namespace" && p.has_value) u.ns = percent_decode(p.value);
    else throw Error(ErrorKind::Usage, "redis://", "unknown URI parameter: " + p.name);
  }
  std::vector<std::string> from_env;
  if (u.password.empty())
    if (const char* env = std::getenv("REDISCLI_AUTH")) from_env.push_back(u.password = env);
  u.secrets = parts.secrets(std::move(from_env));
  u.display = parts.printable();
  return u;
}

}  // namespace lstore::redis
