// The write sequence of put, delete and repair (see lstore/edit_store.hpp).
#include "lstore/edit_store.hpp"

#include <filesystem>

#include "core/fileio.hpp"

namespace lstore {

void backup_store(const std::string& name, Backend& backend, const std::string& target) {
  std::error_code ec;
  if (std::filesystem::is_directory(backend.lock_path(), ec) && target.find(':') == std::string::npos) {
    backup_directory(name, target);
    return;
  }
  Store original = backend.load();
  open_backend(target)->save(original, SaveOptions{});
}

EditedStore edit_store(const std::string& name, Backend& backend, const std::function<ChangeSet(Store&)>& edit,
                       const EditOptions& options) {
  std::unique_ptr<WriteLock> lock;
  if (!options.dry_run) lock = backend.lock(options.wait);
  EditedStore out{options.load ? options.load(backend) : backend.load(), {}};
  // The check every write makes of the values it carries starts now, on the
  // cores the edit leaves idle, instead of after it.
  if (!options.dry_run) out.store.start_precheck();
  out.changes = edit(out.store);
  if (options.dry_run || out.changes.empty()) return out;
  if (!options.backup.empty()) backup_store(name, backend, options.backup);
  backend.save(out.store, options.save_options ? options.save_options() : SaveOptions{true, {}, {}});
  return out;
}

}  // namespace lstore
