// Locking and --backup for the writing commands (see write_guard.hpp).
#include "write_guard.hpp"

#include <chrono>
#include <filesystem>

namespace lstore::cli {

std::unique_ptr<WriteLock> lock_store(Backend& backend, double wait_seconds) {
  return backend.lock(std::chrono::milliseconds(static_cast<long long>(wait_seconds * 1000)));
}

void backup_store(const std::string& store, Backend& backend, const std::string& target) {
  std::error_code ec;
  if (std::filesystem::is_directory(backend.lock_path(), ec) && target.find(':') == std::string::npos) {
    backup_directory(store, target);
    return;
  }
  Store original = backend.load();
  open_backend(target)->save(original, SaveOptions{});
}

}  // namespace lstore::cli
