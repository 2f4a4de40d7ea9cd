// Errors the library throws. The CLI turns each into one stderr line and an
// exit code in exactly one place (src/cli/main.cpp), as spec/CLI.md fixes them.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

namespace lstore {

enum class ErrorKind {
  Usage,     // exit 2: bad arguments, nothing read
  Data,      // exit 3: unreadable or corrupt input, refused write
  NotFound,  // exit 1: the command ran and found nothing (get ID)
};

class Error : public std::runtime_error {
 public:
  // `where` names the file or store; `place` the key path and/or line:column.
  Error(ErrorKind kind, std::string where, std::string what, std::string place = {},
        std::string hint = {})
      : std::runtime_error(what), m_kind(kind), m_where(std::move(where)),
        m_place(std::move(place)), m_hint(std::move(hint)) {}

  ErrorKind kind() const { return m_kind; }
  const std::string& where() const { return m_where; }
  const std::string& place() const { return m_place; }
  const std::string& hint() const { return m_hint; }

 private:
  ErrorKind m_kind;
  std::string m_where;
  std::string m_place;
  std::string m_hint;
};

// A JSON syntax error at a byte offset of the text that was being parsed.
class ParseError : public std::runtime_error {
 public:
  ParseError(std::size_t offset, const std::string& what)
      : std::runtime_error(what), m_offset(offset) {}
  std::size_t offset() const { return m_offset; }

 private:
  std::size_t m_offset;
};

// "line L, column C" (1-based, columns in bytes) of a byte offset in text.
std::string line_column(const char* text, std::size_t size, std::size_t offset);

}  // namespace lstore
