// Pieces of store URIs shared by the server backends (redis://, postgresql://).
#pragma once

#include <cctype>
#include <string>
#include <string_view>

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

}  // namespace lstore
