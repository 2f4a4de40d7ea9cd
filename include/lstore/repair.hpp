// lstore repair: fixes what validate finds and can fix without guessing
// (spec/CLI.md). Each repair is named by the validate rule it answers; it
// edits the store model in memory as LlamaIndex would have left the store,
// and the caller writes it back through Backend::save (unchanged entries
// keep their bytes).
#pragma once

#include <set>
#include <string>
#include <vector>

#include "lstore/edit.hpp"
#include "lstore/store.hpp"

namespace lstore {

// The validate rule ids lstore repair has a repair for (validate --json
// marks these findings "fixable").
const std::set<std::string>& repairable_rules();

// What one rule's repair did (or, for a dry run, would do).
struct RepairStep {
  std::string rule;
  std::string verb;                // "remove", "rename", "re-attach": printed "removed" or "would remove"
  std::string action;              // the rest: "3 node ids the docstore lacks from ref_doc_info ..."
  std::size_t count = 0;           // how many things went or changed
  std::vector<std::string> ids;    // which (all of them; printers shorten)
  std::size_t left = 0;            // findings of the rule the repair could not fix
  std::string left_why;            // why they were left
};

struct RepairOptions {
  std::set<std::string> only;  // --only: just these rules (empty: every repairable one)
};

struct RepairResult {
  std::vector<RepairStep> steps;  // in the order repairs run
  ChangeSet changes;              // per part, as lstore delete reports them
  bool empty() const { return steps.empty(); }
};

// Finds (with validate) what the store needs and repairs it in `store`.
// Throws Error(Usage) for an --only rule without a repair.
RepairResult repair(Store& store, const RepairOptions& options);

}  // namespace lstore
