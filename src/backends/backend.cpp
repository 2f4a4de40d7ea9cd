// What backends share by default, and printing store names.
#include <algorithm>
#include <cctype>

#include "lstore/backend.hpp"
#include "lstore/fileio.hpp"
#include "uri.hpp"

namespace lstore {
namespace {

class FileWriteLock : public WriteLock {
 public:
  FileWriteLock(const std::string& path, std::chrono::milliseconds wait) : m_lock(path, wait) {}

 private:
  StoreLock m_lock;
};

// A query parameter that holds a password, or says where one is
// (password, sslpassword, passfile): its value is not for printing.
bool secret_parameter(std::string_view name) {
  std::string lower;
  for (char c : name) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower.find("pass") != std::string::npos;
}

// NAME=VALUE&... with the values of secret parameters replaced by ***.
std::string redact_query(std::string_view query) {
  std::string out;
  for (std::size_t p = 0; p <= query.size();) {
    std::size_t amp = std::min(query.find('&', p), query.size());
    std::string_view kv = query.substr(p, amp - p);
    std::size_t eq = kv.find('=');
    if (p > 0) out += '&';
    out += eq != std::string_view::npos && secret_parameter(kv.substr(0, eq)) ? std::string(kv.substr(0, eq)) + "=***"
                                                                               : std::string(kv);
    p = amp + 1;
  }
  return out;
}

bool scheme_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.'; }

}  // namespace

std::unique_ptr<WriteLock> Backend::lock(std::chrono::milliseconds wait) {
  std::string path = lock_path();
  if (path.empty()) return nullptr;
  return std::make_unique<FileWriteLock>(path, wait);
}

std::string redact_store_name(std::string_view name) {
  std::size_t sep = name.find("://");
  if (sep == std::string_view::npos) return std::string(name);  // a path: nothing secret in it
  std::string out(name.substr(0, sep + 3));
  std::string_view rest = name.substr(sep + 3);
  if (std::size_t at = userinfo_end(rest); at != std::string_view::npos) {
    std::string_view cred = rest.substr(0, at);
    std::size_t colon = cred.find(':');
    out += colon == std::string_view::npos ? std::string(cred) : std::string(cred.substr(0, colon)) + ":***";
    rest.remove_prefix(at);  // from the '@' on
  }
  std::size_t q = rest.find('?');
  out += rest.substr(0, q);
  if (q != std::string_view::npos) out += "?" + redact_query(rest.substr(q + 1));
  return out;
}

std::string redact_store_names_in(std::string_view text) {
  std::string out;
  std::size_t done = 0;
  for (std::size_t sep = text.find("://"); sep != std::string_view::npos; sep = text.find("://", sep + 3)) {
    if (sep < done) continue;
    std::size_t start = sep;
    while (start > done && scheme_char(text[start - 1])) --start;
    std::size_t end = text.find_first_of(" \t\n'\"", sep);
    if (end == std::string_view::npos) end = text.size();
    out += text.substr(done, start - done);
    out += redact_store_name(text.substr(start, end - start));
    done = end;
  }
  out += text.substr(done);
  return out;
}

}  // namespace lstore
