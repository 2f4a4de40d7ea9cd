// StoreUri: one parser of server store URIs (see store_uri.hpp).
#include "store_uri.hpp"

#include <algorithm>
#include <cctype>

#include "lstore/error.hpp"

namespace lstore {
namespace {

bool hex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

}  // namespace

std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex(s[i + 1]) && hex(s[i + 2])) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

bool is_secret_parameter(std::string_view name) {
  std::string lower;
  for (char c : name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower.find("pass") != std::string::npos;
}

std::string scrub_secrets(std::string text, const std::vector<std::string>& secrets) {
  for (const std::string& s : secrets) {
    if (s.empty()) continue;
    for (std::size_t at = 0; (at = text.find(s, at)) != std::string::npos; at += 3) text.replace(at, s.size(), "***");
  }
  return text;
}

StoreUri StoreUri::parse(std::string_view uri) {
  StoreUri u;
  std::size_t sep = uri.find("://");
  if (sep == std::string_view::npos) {
    u.host_and_path = uri;
    return u;
  }
  u.has_scheme = true;
  u.scheme = uri.substr(0, sep);
  std::string_view rest = uri.substr(sep + 3), query;
  if (std::size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  // The user info ends at the last '@' before the query: a raw '@', ':' or
  // '/' in a password (which should be %-escaped, but often is not) is thus
  // the password's, never the host's.
  if (std::size_t at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view cred = rest.substr(0, at);
    std::size_t colon = cred.find(':');
    u.user = std::string(cred.substr(0, colon));
    if (colon != std::string_view::npos) u.password = std::string(cred.substr(colon + 1));
    rest.remove_prefix(at + 1);
  }
  u.host_and_path = rest;
  for (std::size_t p = 0; p < query.size();) {
    std::size_t amp = std::min(query.find('&', p), query.size());
    std::string_view kv = query.substr(p, amp - p);
    p = amp + 1;
    if (kv.empty()) continue;
    std::size_t eq = kv.find('=');
    Param param{std::string(kv.substr(0, eq)), "", eq != std::string_view::npos};
    if (param.has_value) param.value = kv.substr(eq + 1);
    u.params.push_back(std::move(param));
  }
  return u;
}

std::string StoreUri::printable() const {
  if (!has_scheme) return host_and_path;  // a path: nothing secret in it
  std::string out = head();
  if (user) out += *user + (password ? ":***" : "") + "@";
  out += host_and_path;
  for (std::size_t i = 0; i < params.size(); ++i) {
    const Param& p = params[i];
    out += (i == 0 ? "?" : "&") + (p.has_value && is_secret_parameter(p.name) ? p.name + "=***" : p.text());
  }
  return out;
}

std::vector<std::string> StoreUri::secrets(std::vector<std::string> extra) const {
  std::vector<std::string> out;
  auto add = [&](const std::string& s) {
    out.push_back(s);
    out.push_back(percent_decode(s));
  };
  if (password) add(*password);
  for (const Param& p : params)
    if (is_secret_parameter(p.name)) add(p.value);
  for (std::string& s : extra) out.push_back(std::move(s));
  std::erase_if(out, [](const std::string& s) { return s.size() < 4; });
  return out;
}

void StoreUri::check_escapes() const {
  auto check = [&](std::string_view s) {
    for (std::size_t i = s.find('%'); i != std::string_view::npos; i = s.find('%', i + 1))
      if (i + 2 >= s.size() || !hex(s[i + 1]) || !hex(s[i + 2]))
        throw Error(ErrorKind::Usage, head(), "the URI has an invalid %-escape", "",
                    "write a '%' in a user name, password or value as %25");
  };
  if (user) check(*user);
  if (password) check(*password);
  check(host_and_path);
  for (const Param& p : params) check(p.text());
}

}  // namespace lstore
