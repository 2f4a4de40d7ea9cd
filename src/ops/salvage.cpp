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

namespace {

// Where the entry that starts after `at` (a ',' or just after the opening
// bracket of a collection) ends: the ',' or closing bracket after it, found
// structurally (through the damage, which breaks no bracket count unless it
// is a stray quote or bracket: then the result does not parse and the file is
// cut instead). nullopt when the file ends first.
std::optional<std::size_t> entry_end(std::string_view text, std::size_t at) {
  std::size_t i = at < text.size() && text[at] == ',' ? at + 1 : at;
  int depth = 0;
  bool in_string = false, escape = false;
  for (; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escape) escape = false;
      else if (c == '\\') escape = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '{' || c == '[') ++depth;
    else if (c == '}' || c == ']') {
      if (depth == 0) return i;
      --depth;
    } else if (c == ',' && depth == 0) {
      return i;
    }
  }
  return std::nullopt;
}

// The key of the entry that starts after `at`, as stored (for the report).
std::string entry_key(std::string_view text, std::size_t at) {
  std::size_t i = text.find('"', at);
  if (i == std::string_view::npos) return {};
  std::size_t j = i + 1;
  while (j < text.size() && text[j] != '"') j += text[j] == '\\' ? 2 : 1;
  std::string key;
  if (j < text.size() && unescape_string(text.substr(i + 1, j - i - 1), key)) return key;
  return std::string(text.substr(i + 1, std::min<std::size_t>(j, text.size()) - i - 1));
}

// One pass: the cut at the first damage (see salvage.hpp).
std::optional<Salvaged> cut_once(std::string_view text) {
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
  out.depth2 = best->closers.size() >= 2;
  // The cut can only be at a place the real parser passed; this is a check.
  if (!accepts_json(out.bytes)) return std::nullopt;
  return out;
}

}  // namespace

std::optional<Salvaged> salvage_json_object(std::string_view original) {
  std::string text(original);
  std::optional<Salvaged> first = cut_once(text);
  if (!first) return std::nullopt;
  std::vector<std::pair<std::string, std::string>> skipped;
  // Damage inside one entry of a collection, with the file going on after
  // it: that entry alone goes and the search goes on in the rest.
  for (std::optional<Salvaged> cut = first; cut;) {
    const std::size_t at = cut->kept;
    const bool entry_starts = at < text.size() && (text[at] == ',' || (at > 0 && (text[at - 1] == '{' || text[at - 1] == '[')));
    std::optional<std::size_t> next = cut->depth2 && entry_starts ? entry_end(text, at) : std::nullopt;
    if (next && *next <= at + (text[at] == ',' ? 1 : 0)) next.reset();  // an empty entry: nothing to drop
    if (!next || skipped.size() >= 10000) {
      cut->skipped = std::move(skipped);
      cut->damage_at = first->damage_at;
      return cut;
    }
    skipped.emplace_back(cut->cut_in, entry_key(text, cut->kept));
    const bool after_entry = text[cut->kept] == ',';
    const bool at_comma = text[*next] == ',';
    if (at_comma && !after_entry) {
      // The first entry goes: the next one takes its place after the opening
      // bracket, with the layout the first one had there.
      auto ws_end = [&](std::size_t i) {
        while (i < text.size() && (text[i] == ' ' || text[i] == '\n' || text[i] == '\r' || text[i] == '\t')) ++i;
        return i;
      };
      text = text.substr(0, ws_end(at)) + text.substr(ws_end(*next + 1));
    } else {
      text = text.substr(0, at) + text.substr(*next);
    }
    std::optional<Salvaged> again = cut_once(text);
    if (!again) {  // what is left parses: nothing more to cut
      Salvaged whole;
      whole.bytes = std::move(text);
      whole.damage_at = first->damage_at;
      whole.kept = whole.bytes.size();
      whole.skipped = std::move(skipped);
      return whole;
    }
    cut = std::move(again);
  }
  return std::nullopt;
}

}  // namespace lstore
