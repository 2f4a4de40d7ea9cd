// Salvage of a damaged JSON object file (salvage.hpp). A store file is an
// object of collections of entries (FORMAT.md §2): the safe places to cut
// are between root members and between the entries of a collection, where
// closing the open brackets gives a file json.load accepts and every entry
// kept is whole. An entry is only kept once the ',' or bracket after it has
// been read: a number cut short ("0.12" of "0.1234") looks complete on its own.
#include "salvage.hpp"

#include <vector>

#include "lstore/json.hpp"

namespace lstore {

std::optional<Salvaged> salvage_json_object(std::string_view text) {
  std::optional<ParseError> error = locate_json_error(text);
  if (!error) return std::nullopt;
  const std::size_t end = std::min(error->offset(), text.size());

  struct Cut {
    std::size_t at;
    std::string closers;
    std::string in;
    std::size_t entries;
  };
  std::optional<Cut> best;
  std::vector<char> open;  // the closing bracket of every open container, outermost first
  std::string member;      // the root member being read (its key)
  std::size_t entries = 0; // complete entries of that member's value so far
  bool nonempty = false;   // that value holds something after its last ','
  std::size_t string_at = 0;
  std::string_view last_string;
  bool in_string = false, escape = false;
  auto closers = [&] { return std::string(open.rbegin(), open.rend()); };
  for (std::size_t i = 0; i < end; ++i) {
    const char c = text[i];
    if (in_string) {
      if (escape) escape = false;
      else if (c == '\\') escape = true;
      else if (c == '"') {
        in_string = false;
        last_string = text.substr(string_at, i + 1 - string_at);
      }
      continue;
    }
    const bool space = c == ' ' || c == '\t' || c == '\r' || c == '\n';
    const bool own_punctuation = open.size() == 2 && (c == ',' || c == '}' || c == ']');
    if (open.size() >= 2 && !space && !own_punctuation) nonempty = true;
    switch (c) {
      case '"':
        in_string = true;
        string_at = i;
        break;
      case ':':
        if (open.size() == 1) {
          std::string key;
          if (last_string.size() >= 2 && unescape_string(last_string.substr(1, last_string.size() - 2), key)) member = key;
          else member = std::string(last_string);
        }
        break;
      case '{':
      case '[':
        open.push_back(c == '{' ? '}' : ']');
        if (open.size() == 1) {
          best = Cut{i + 1, closers(), "", 0};
        } else if (open.size() == 2) {
          entries = 0;
          nonempty = false;
          best = Cut{i + 1, closers(), member, 0};
        }
        break;
      case '}':
      case ']':
        if (open.empty()) return std::nullopt;
        if (open.size() == 2) best = Cut{i, closers(), member, entries + (nonempty ? 1 : 0)};  // its last entry is whole
        open.pop_back();
        if (open.empty()) best = Cut{i + 1, "", "", 0};  // the whole root: only what follows it is wrong
        break;
      case ',':
        if (open.size() == 1) {
          best = Cut{i, closers(), "", 0};
        } else if (open.size() == 2) {
          ++entries;
          nonempty = false;
          best = Cut{i, closers(), member, entries};
        }
        break;
      default: break;
    }
  }
  if (!best) return std::nullopt;
  Salvaged out;
  out.damage_at = end;
  out.kept = best->at;
  out.bytes = std::string(text.substr(0, best->at)) + best->closers;
  out.cut_in = best->closers.size() >= 2 ? best->in : "";
  out.entries_kept = best->entries;
  // The cut can only be at a place the real parser passed; this is a check.
  if (!accepts_json(out.bytes)) return std::nullopt;
  return out;
}

}  // namespace lstore
