// Test support: an outline written out as text (every container's span, and
// each member's name, key, value and element count), so two outlines compare
// with one ==.
#pragma once

#include <string>

#include "core/outline.hpp"

namespace test_support {

inline std::string describe(const lstore::Outline& o) {
  std::string s;
  auto members = [&](const lstore::Container& c) {
    s += std::to_string(c.span.begin) + "-" + std::to_string(c.span.end) + ":";
    for (const lstore::Member& m : c.members)
      s += m.name + "@" + std::to_string(m.key.begin) + "-" + std::to_string(m.value.begin) + ":" +
           std::to_string(m.value.end) + "#" + std::to_string(m.elements) + ";";
  };
  members(o.root);
  for (const auto& c : o.children) {
    s += "|";
    if (c) members(*c);
  }
  return s;
}

}  // namespace test_support
