// "Did you mean ...?" for mistyped subcommands and options.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace lstore::cli {

// The candidate closest to `word` by edit distance, or "" when none is close
// enough to be a plausible typo.
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace lstore::cli
