// Reading a store for a command, and what --verbose says about it.
#include <fmt/format.h>

#include <chrono>

#include "commands.hpp"

namespace lstore::cli {

Store load_store(Output& out, Backend& backend, bool tolerant) {
  auto start = std::chrono::steady_clock::now();
  Store store = tolerant ? backend.load_tolerant() : backend.load();
  if (out.verbose()) {
    std::uint64_t bytes = 0;
    for (const FileInfo& f : store.files) bytes += f.size;
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    out.note(fmt::format("read {}: {} files, {}, {} dialect, LlamaIndex {}, in {:.3f} s", backend.describe(),
                         store.files.size(), human_bytes(bytes),
                         store.dialect == Dialect::TypeScript ? "TS" : "Python", store.era.empty() ? "unknown" : store.era,
                         seconds));
  }
  return store;
}

Store load_store(Output& out, const std::string& name, bool tolerant) {
  return load_store(out, *open_backend(name), tolerant);
}

}  // namespace lstore::cli
