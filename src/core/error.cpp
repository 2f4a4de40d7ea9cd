#include <algorithm>
#include <string>

#include "lstore/error.hpp"

namespace lstore {

std::string line_column(const char* text, std::size_t size, std::size_t offset) {
  offset = std::min(offset, size);
  std::size_t line = 1 + static_cast<std::size_t>(std::count(text, text + offset, '\n'));
  std::size_t col = offset + 1;
  for (std::size_t i = offset; i > 0; --i) {
    if (text[i - 1] == '\n') {
      col = offset - i + 1;
      break;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(col) + ", byte " + std::to_string(offset);
}

}  // namespace lstore
