// What PostgreSQL's text and json types accept, checked before a value is
// sent: an entry they would refuse goes to lstore's own table instead.
#pragma once

#include <string_view>

namespace lstore::pg {

// Text PostgreSQL's text type takes: strict UTF-8 (its verifier refuses
// overlongs, surrogates and code points past U+10FFFF), and no NUL.
bool pg_text_ok(std::string_view s);

// Whether PostgreSQL's json (and jsonb) input accepts a JSON text: strict
// RFC 8259 without \u0000 or unpaired surrogate escapes, not nested absurdly
// deep. Errs on the side of "no".
bool pg_json_ok(std::string_view s);

}  // namespace lstore::pg
