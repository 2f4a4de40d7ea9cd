// What backends share by default, and printing store names.
#include <algorithm>
#include <cctype>

#include "lstore/backend.hpp"
#include "core/fileio.hpp"
#include "store_uri.hpp"

namespace lstore {
namespace {

class FileWriteLock : public WriteLock {
 public:
  FileWriteLock(const std::string& path, std::chrono::milliseconds wait) : m_lock(path, wait) {}

 private:
  StoreLock m_lock;
};

bool scheme_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.'; }

}  // namespace

std::unique_ptr<WriteLock> Backend::lock(std::chrono::milliseconds wait) {
  std::string path = lock_path();
  if (path.empty()) return nullptr;
  return std::make_unique<FileWriteLock>(path, wait);
}

std::string redact_store_name(std::string_view name) { return StoreUri::parse(name).printable(); }

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
