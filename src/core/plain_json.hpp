// Cheap, sound checks that a raw value is JSON json.load accepts, for the
// two shapes that make up almost all of a large store: an embedding (an
// array of plain numbers) and a plain ASCII string (an id). JsonDoc::verify
// asks these first and falls back to accepts_json (simdjson, then the strict
// reader) when they say no: "no" means "not sure", never "invalid", so the
// errors and the values accepted are exactly accepts_json's.
//
// Why: before a write, every carried entry is checked (a corrupt entry is
// never carried), and simdjson's DOM parse of a 1 GB vector file converts
// 100 million floats it does not need; checking the number grammar with
// 64-byte bit masks is several times cheaper.
#pragma once

#include <string_view>

namespace lstore {

// true only when `raw` is `[`, then zero or more numbers in JSON's grammar
// (-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][-+]?[0-9]+)?) separated by commas, with
// JSON whitespace (space, tab, newline, return) anywhere between tokens, then
// `]`. Digit runs of 64 or more are left to the full check (json.load refuses
// integers of over 4300 digits).
bool plain_number_array(std::string_view raw);
// The same without the AVX-512 build (for the tests: both must agree).
bool plain_number_array_baseline(std::string_view raw);

// true only when `raw` is a quoted run of printable ASCII with no quote or
// backslash inside (a string that needs no unescaping and no UTF-8 check).
bool plain_ascii_string(std::string_view raw);

}  // namespace lstore
