// What backends share by default.
#include "lstore/backend.hpp"
#include "lstore/fileio.hpp"

namespace lstore {
namespace {

class FileWriteLock : public WriteLock {
 public:
  FileWriteLock(const std::string& path, std::chrono::milliseconds wait) : m_lock(path, wait) {}

 private:
  StoreLock m_lock;
};

}  // namespace

std::unique_ptr<WriteLock> Backend::lock(std::chrono::milliseconds wait) {
  std::string path = lock_path();
  if (path.empty()) return nullptr;
  return std::make_unique<FileWriteLock>(path, wait);
}

}  // namespace lstore
