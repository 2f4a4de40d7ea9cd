// What the writing commands (delete, put, repair) print: the ids touched per
// part and, for --dry-run, the files that would be rewritten with their sizes.
#pragma once

#include <functional>

#include "lstore/edit.hpp"
#include "output.hpp"

namespace lstore::cli {

// The report as one object (`extra` fields after store and dry_run); its
// records (NDJSON, CSV, TSV) are one change each: action, part, id. `human`
// replaces the tables people see (repair prints its steps first).
void print_write_report(Output& out, const Store& store, const std::string& location, bool dry_run,
                        const ChangeSet& changes, JsonObject extra = {}, const std::function<void()>& human = {});
// The tables people see: entries per action and part; with --dry-run the
// files and their sizes.
void print_change_tables(Output& out, const Store& store, bool dry_run, const ChangeSet& changes);

}  // namespace lstore::cli
