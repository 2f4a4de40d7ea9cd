// A server store's URI (scheme://[user[:password]@]host[:port][/path][?k=v&...])
// taken apart once for every server backend (redis://, postgresql://): where
// its secrets are, its parameters, and how it is printed (never with a
// password). Each backend reads its own parameters from `params`.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lstore {

struct StoreUri {
  bool has_scheme = false;              // false: a path, no "://"
  std::string scheme;                   // as written, without "://" ("redis", "postgresql", ...)
  std::optional<std::string> user;      // as written (still %-escaped); nullopt: no user info
  std::optional<std::string> password;  // as written; nullopt: no ':' in the user info
  std::string host_and_path;            // between the user info and the '?', as written
  // The query's NAME=VALUE items in order, as written (still %-escaped).
  struct Param {
    std::string name, value;
    bool has_value = false;  // false: NAME alone, without '='
    std::string text() const { return has_value ? name + "=" + value : name; }
  };
  std::vector<Param> params;

  // Never throws: a name without "://" is a path, all host_and_path.
  static StoreUri parse(std::string_view uri);
  // The URI with the password and every secret parameter's value as ***.
  std::string printable() const;
  // The texts no message may show: the password and the secret parameters'
  // values, as written and %-decoded, plus `extra` (a password from the
  // environment); texts shorter than 4 characters are left out (they would
  // blank out ordinary words of messages).
  std::vector<std::string> secrets(std::vector<std::string> extra = {}) const;
  // Throws Error(Usage) for an incomplete or invalid %-escape: libpq and
  // hiredis quote what they were given, which could be the password's.
  void check_escapes() const;
  std::string head() const { return scheme + "://"; }
};

// %XX escapes decoded (an incomplete escape stays as it is).
std::string percent_decode(std::string_view s);
// A parameter that holds a password or says where one is (password,
// sslpassword, passfile, ...): its value is never printed.
bool is_secret_parameter(std::string_view name);
// `text` with each secret replaced by ***: for messages of libpq, hiredis
// and the servers, which may quote what they were given.
std::string scrub_secrets(std::string text, const std::vector<std::string>& secrets);

}  // namespace lstore
