// What the writing commands (delete, put) print: the ids touched per part
// and, for --dry-run, the files that would be rewritten with their sizes.
#pragma once

#include "lstore/edit.hpp"
#include "output.hpp"

namespace lstore::cli {

void print_write_report(Output& out, const Store& store, const std::string& location, bool dry_run,
                        const ChangeSet& changes, JsonObject extra = {});

}  // namespace lstore::cli
