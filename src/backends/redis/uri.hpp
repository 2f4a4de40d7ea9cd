// A redis:// store URI taken apart: host, port, database, credentials,
// ?namespace=, and how it is printed.
#pragma once

#include <string>
#include <vector>

namespace lstore::redis {

struct RedisUri {
  std::string host = "127.0.0.1";
  int port = 6379;
  int db = 0;
  std::string user, password, ns;
  std::string display;               // the URI with its password hidden (redact_store_name)
  std::vector<std::string> secrets;  // texts never to show (the password as written and decoded)
};

RedisUri parse_uri(const std::string& uri);

}  // namespace lstore::redis
