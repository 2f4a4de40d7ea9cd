// lstore validate: the rules a store is checked against (structure, whether
// LlamaIndex will load it, cross-store integrity, data quality). Every rule
// has a stable id; man/lstore-validate.1 lists them all.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "lstore/progress.hpp"
#include "lstore/store.hpp"

namespace lstore {

struct Rule {
  const char* id;
  Severity severity;  // the default
  const char* group;  // structure | loading | integrity | quality
  const char* summary;
  const char* hint;
};

// Every rule, in the order reports list them.
const std::vector<Rule>& validation_rules();
const Rule* find_rule(std::string_view id);

struct Finding {
  std::string rule;
  Severity severity;
  std::string file;     // relative to the store
  std::string path;     // key path inside the file ("docstore/data.<id>"), or line:column
  std::string message;
};

struct ValidateOptions {
  std::set<std::string> only;  // --rule: just these
  std::set<std::string> skip;  // --skip
  Progress progress;           // bytes of nodes and embeddings checked; may be empty
};

// Checks a store loaded with Backend::load_tolerant() (files that do not
// parse are in store.files as Broken, and become findings).
std::vector<Finding> validate(const Store& store, const ValidateOptions& options);

// validate() on a directory store read by Backend::load_streamed(), in memory
// of about 100 bytes a node: the same findings when it can be sure of them
// (the store's entries break no rule), else nullopt, and the caller loads
// the store with load_tolerant() and calls validate() (validate_stream.cpp).
std::optional<std::vector<Finding>> validate_streamed(const Store& store, const ValidateOptions& options);

}  // namespace lstore
