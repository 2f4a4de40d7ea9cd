// lstore convert SRC DST: copy a whole store through the model. Unchanged
// records (here: all of them) are written back byte for byte.
#include <fmt/format.h>

#include "commands.hpp"
#include "lstore/backend.hpp"
#include "lstore/error.hpp"
#include "lstore/fileio.hpp"

namespace lstore::cli {
namespace {

struct ConvertOptions {
  std::string src;
  std::string dst;
  bool force = false;
  bool dry_run = false;
};

}  // namespace

CommandSpec add_convert(CLI::App& parent) {
  auto opts = std::make_shared<ConvertOptions>();
  CLI::App* app = parent.add_subcommand("convert", "Copy a whole store to another place (directory to directory for now)");
  app->add_option("src", opts->src, "The source store")->required();
  app->add_option("dst", opts->dst, "The destination store")->required();
  app->add_flag("--force", opts->force, "Replace a non-empty destination");
  app->add_flag("--dry-run", opts->dry_run, "Print what would be written and write nothing");
  return {app, [opts](Output& out) {
            Store store = open_backend(opts->src)->load();
            auto dst = open_backend(opts->dst);
            if (opts->dry_run) {
              for (const FileInfo& f : store.files) {
                if (out.json())
                  out.json_line(JsonObject{{"id", f.name}, {"kind", file_kind_name(f.kind)},
                                           {"bytes", static_cast<std::int64_t>(f.size)}});
                else
                  out.line(fmt::format("would write {} ({} bytes)", f.name, f.size));
              }
              return 0;
            }
            StoreLock lock(opts->dst, std::chrono::milliseconds(0));  // no other writer on the destination
            dst->save(store, SaveOptions{opts->force});
            if (out.json())
              out.json_line(JsonObject{{"source", opts->src}, {"destination", dst->describe()},
                                       {"files", static_cast<std::int64_t>(store.files.size())}});
            return 0;
          }};
}

}  // namespace lstore::cli
