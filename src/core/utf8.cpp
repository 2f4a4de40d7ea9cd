// utf8::valid through simdjson's validator (see lstore/utf8.hpp): one
// UTF-8 check for the whole library instead of a hand-written one per backend.
#include "core/utf8.hpp"

#include <simdjson.h>

namespace lstore::utf8 {

bool valid(std::string_view s) { return simdjson::validate_utf8(s.data(), s.size()); }

}  // namespace lstore::utf8
