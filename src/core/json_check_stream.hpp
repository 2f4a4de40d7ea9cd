// A JSON text checked as it goes by, in pieces of any size, in no memory (an
// entry too large to hold: a VectorStoreIndex struct of 840 MB, handed over
// in pieces by outline.hpp's stream_file).
//
// Conservative on purpose: it accepts strict JSON (RFC 8259) in valid UTF-8,
// nested at most 200 deep, with no lone surrogate escape, which accepts_json
// (json.hpp) accepts too. It may refuse what accepts_json accepts (NaN,
// Infinity, a lone "\ud800"); a caller then takes the loaded path, which
// decides as it always has.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lstore {

class JsonPieceChecker {
 public:
  // The next bytes of the text; false once it can no longer be accepted.
  bool feed(std::string_view piece);
  // The whole text was fed: is it one complete JSON value?
  bool finish();
  bool ok() const { return !m_failed; }

 private:
  enum class State : std::uint8_t {
    Value, ArrayFirst, ObjectFirst, ObjectKey, Colon, After,  // between tokens
    String, Escape, Hex,                                      // inside a string
    Minus, Zero, Int, Dot, Frac, Exp, ExpSign, ExpDigits,     // a number
    Literal,                                                  // true, false, null
  };
  bool step(char c);  // one byte outside a string's plain run; false: refused
  bool end_value();   // a value ended: what may follow it
  bool feed_utf8(std::string_view piece);

  State m_state = State::Value;
  bool m_key = false;          // the string being read is an object's key
  bool m_failed = false;
  bool m_high = false;         // a \uD800-\uDBFF escape awaits its low half
  int m_hex_left = 0;
  std::uint32_t m_hex = 0;
  const char* m_literal = nullptr;  // the rest of the literal being read
  std::vector<char> m_stack;   // '{' or '[' per open container
  std::string m_utf8_carry;    // a UTF-8 sequence cut by the piece's end
};

}  // namespace lstore
