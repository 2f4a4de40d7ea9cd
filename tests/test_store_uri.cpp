// StoreUri: the one parser of server store URIs (src/backends/store_uri.hpp).
#include <doctest/doctest.h>

#include <algorithm>

#include "backends/store_uri.hpp"
#include "lstore/error.hpp"

using namespace lstore;

namespace {
bool holds(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }
}  // namespace

TEST_CASE("StoreUri: parts of a URI whose password holds raw '@', ':' and '/'") {
  StoreUri u = StoreUri::parse("postgresql://me:p@ss:w/rd@db.example:5433/app?schema=S&sslmode=require&flag");
  CHECK(u.has_scheme);
  CHECK(u.scheme == "postgresql");
  CHECK(u.user == "me");
  CHECK(u.password == "p@ss:w/rd");
  CHECK(u.host_and_path == "db.example:5433/app");
  REQUIRE(u.params.size() == 3);
  CHECK(u.params[0].name == "schema");
  CHECK(u.params[0].value == "S");
  CHECK(u.params[2].text() == "flag");
  CHECK_FALSE(u.params[2].has_value);
  CHECK(u.printable() == "postgresql://me:***@db.example:5433/app?schema=S&sslmode=require&flag");
}

TEST_CASE("StoreUri: secrets as written and decoded, secret parameters, no short ones") {
  StoreUri u = StoreUri::parse("redis://u:pa%40ssword@h/0?password=x%2Fyzw&passfile=/p/file&namespace=ns");
  std::vector<std::string> s = u.secrets({"from-env", "ab"});
  CHECK(holds(s, "pa%40ssword"));
  CHECK(holds(s, "pa@ssword"));
  CHECK(holds(s, "x%2Fyzw"));
  CHECK(holds(s, "x/yzw"));
  CHECK(holds(s, "/p/file"));
  CHECK(holds(s, "from-env"));
  CHECK_FALSE(holds(s, "ab"));
  CHECK_FALSE(holds(s, "ns"));
  CHECK(u.printable() == "redis://u:***@h/0?password=***&passfile=***&namespace=ns");
  CHECK(scrub_secrets("auth failed for pa@ssword", s) == "auth failed for ***");
}

TEST_CASE("StoreUri: a path is a path, never parsed as a URI") {
  StoreUri u = StoreUri::parse("dir/with@sign:colon");
  CHECK_FALSE(u.has_scheme);
  CHECK_FALSE(u.user.has_value());
  CHECK(u.printable() == "dir/with@sign:colon");
}

TEST_CASE("StoreUri: an invalid %-escape is a usage error that does not quote the URI") {
  StoreUri u = StoreUri::parse("postgresql://u:se%zzcret@h/db");
  try {
    u.check_escapes();
    FAIL("no error");
  } catch (const Error& e) {
    CHECK(e.kind() == ErrorKind::Usage);
    CHECK(std::string(e.what()).find("se%zzcret") == std::string::npos);
    CHECK(e.where() == "postgresql://");
  }
  CHECK_NOTHROW(StoreUri::parse("postgresql://u:se%25cret@h/db").check_escapes());
  CHECK(percent_decode("a%2") == "a%2");
}
