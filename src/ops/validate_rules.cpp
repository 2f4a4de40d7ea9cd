// The public view of the rule table (src/ops/rule_table.hpp).
#include "rule_table.hpp"

namespace lstore {

const std::vector<Rule>& validation_rules() {
  static const std::vector<Rule> rules(std::begin(kRules), std::end(kRules));
  return rules;
}

const Rule* find_rule(std::string_view id) {
  for (const Rule& r : kRules)
    if (id == r.id) return &r;
  return nullptr;
}

}  // namespace lstore
