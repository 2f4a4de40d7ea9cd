// The public view of the rule table (src/ops/rule_table.hpp).
#include "rule_table.hpp"

namespace lstore {

const std::vector<Rule>& validation_rules() {
  static const std::vector<Rule> rules = [] {
    std::vector<Rule> out;
    for (const RuleRow& r : kRules) out.push_back(r.rule);
    return out;
  }();
  return rules;
}

const Rule* find_rule(std::string_view id) {
  for (const RuleRow& r : kRules)
    if (id == r.rule.id) return &r.rule;
  return nullptr;
}

}  // namespace lstore
