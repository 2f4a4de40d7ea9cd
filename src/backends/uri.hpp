// Pieces of store URIs shared by the server backends (redis://, postgresql://).
#pragma once

#include <cctype>
#include <string>
#include <string_view>
#include <vector>

namespace lstore {

// %XX escapes of a URI part decoded (an incomplete escape stays as it is).
inline std::string percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// Where the user info of a URI's part after "scheme://" ends: at the last
// '@' before the query. A raw '@', ':' or '/' in a password (which should be
// %-escaped, but often is not) is thus the password's, never the host's, and
// everything printed hides it (redact_store_name); npos when there is no
// user info.
inline std::size_t userinfo_end(std::string_view rest) { return rest.substr(0, rest.find('?')).rfind('@'); }

// `text` with each secret replaced by ***: for messages of libpq, hiredis
// and the servers, which may quote what they were given.
inline std::string scrub_secrets(std::string text, const std::vector<std::string>& secrets) {
  for (const std::string& s : secrets) {
    if (s.empty()) continue;
    for (std::size_t at = 0; (at = text.find(s, at)) != std::string::npos; at += 3) text.replace(at, s.size(), "***");
  }
  return text;
}

}  // namespace lstore
