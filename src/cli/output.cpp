#include "output.hpp"

#include <cstdio>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstdlib>
#include <set>
#include <iostream>

#include <fmt/format.h>

namespace lstore::cli {
namespace {

// Display width of UTF-8 text, counting each code point as one column.
std::size_t width_of(const std::string& s) {
  std::size_t w = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++w;
  return w;
}

// Cuts UTF-8 text to at most `cols` code points, adding "…" when cut.
std::string cut(const std::string& s, std::size_t cols) {
  if (width_of(s) <= cols) return s;
  if (cols == 0) return "";
  std::string out;
  std::size_t w = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if ((c & 0xC0) != 0x80) {
      if (w + 1 >= cols) break;
      ++w;
    }
    out += s[i];
  }
  return out + "\u2026";
}

}  // namespace

std::string terminal_safe(std::string_view s, bool keep_newlines) {
  std::string out;
  out.reserve(s.size());
  auto hex = [&](unsigned v, int digits) {
    char buf[12];
    std::snprintf(buf, sizeof buf, digits == 2 ? "\\x%02x" : "\\u%04x", v);
    out += buf;
  };
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == '\n' && keep_newlines) out += '\n';
    else if (c == '\n') out += "\\n";
    else if (c == '\t') out += keep_newlines ? "\t" : "\\t";
    else if (c == '\r') out += "\\r";
    else if (c < 0x20 || c == 0x7F) hex(c, 2);
    else if (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) >= 0x80 &&
             static_cast<unsigned char>(s[i + 1]) <= 0x9F) {
      hex(static_cast<unsigned char>(s[i + 1]), 4);  // C1 controls (CSI, OSC as one code point)
      ++i;
    } else out += static_cast<char>(c);
  }
  return out;
}

Output::Output(const GlobalOptions& opts)
    : m_json(opts.json || opts.format == "json" || opts.format == "ndjson"), m_quiet(opts.quiet),
      m_verbose(opts.verbose && !opts.quiet),
      m_separator(opts.format == "csv" ? ',' : opts.format == "tsv" ? '\t' : 0) {
  bool tty = ::isatty(STDOUT_FILENO) != 0;
  if (opts.color == "always") m_color = true;
  else if (opts.color == "never") m_color = false;
  else m_color = tty && !(std::getenv("NO_COLOR") && *std::getenv("NO_COLOR"));  // no-color.org: set and not empty
  if (m_separator) m_color = false;  // CSV / TSV are data
  m_width = 0;
  if (tty) {
    // COLUMNS (set by the user, or exported by the shell) wins over the
    // terminal's own idea, as in ls and git.
    const char* cols = std::getenv("COLUMNS");
    int env = cols ? std::atoi(cols) : 0;
    winsize ws{};
    m_width = env > 0 ? env : (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) ? ws.ws_col : 80;
  }
}

void Output::warn(const std::string& text) const {
  std::fprintf(stderr, "lstore: warning: %s\n", terminal_safe(text, true).c_str());
}

void Output::note(const std::string& text) const {
  if (m_verbose) std::fprintf(stderr, "lstore: %s\n", text.c_str());
}

std::string Output::text_cell(const std::string& text, std::size_t max) const {
  return m_separator ? text : preview(text, max);
}

void Output::json_line(const Json& value) {
  if (m_tag && value.is_object()) {
    JsonObject tagged{{m_tag->first, m_tag->second}};
    for (const auto& [k, v] : value.as_object()) tagged.emplace_back(k, v);
    std::string s = dump(Json(std::move(tagged)), {JsonDialect::Compact});
    s += '\n';
    std::fwrite(s.data(), 1, s.size(), stdout);
    return;
  }
  std::string s = dump(value, {JsonDialect::Compact});
  s += '\n';
  std::fwrite(s.data(), 1, s.size(), stdout);
}

namespace {

// One CSV (RFC 4180: quoted when needed, quotes doubled) or TSV (tabs and
// line breaks inside a cell become spaces) record.
std::string record(const std::vector<std::string>& cells, char sep) {
  std::string line;
  for (std::size_t c = 0; c < cells.size(); ++c) {
    if (c) line += sep;
    const std::string& v = cells[c];
    if (sep == '\t') {
      for (char ch : v) line += (ch == '\t' || ch == '\n' || ch == '\r') ? ' ' : ch;
    } else if (v.find_first_of(",\"\n\r") != std::string::npos) {
      line += '"';
      for (char ch : v) line += ch == '"' ? std::string("\"\"") : std::string(1, ch);
      line += '"';
    } else {
      line += v;
    }
  }
  return line + "\n";
}

}  // namespace

void Output::table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& raw_rows) {
  if (m_separator) {
    std::fputs(record(header, m_separator).c_str(), stdout);
    for (const auto& r : raw_rows) std::fputs(record(r, m_separator).c_str(), stdout);
    return;
  }
  // Ids and texts come from the store: an ESC in one must not reach the terminal.
  std::vector<std::vector<std::string>> rows = raw_rows;
  for (auto& r : rows)
    for (auto& cell : r) cell = terminal_safe(cell, false);
  std::vector<std::size_t> widths(header.size(), 0);
  for (std::size_t c = 0; c < header.size(); ++c) widths[c] = width_of(header[c]);
  for (const auto& r : rows)
    for (std::size_t c = 0; c < r.size() && c < widths.size(); ++c) widths[c] = std::max(widths[c], width_of(r[c]));
  // On a terminal: narrow the widest column, one character at a time, until
  // the table fits. Only prose columns (texts, details, messages) are cut,
  // never below their header or 8 characters: an id, a path or a key is
  // printed whole (a user copies it into the next command), so a very narrow
  // terminal wraps instead.
  if (m_width > 0 && !widths.empty()) {
    auto total = [&] {
      std::size_t t = 0;
      for (std::size_t w : widths) t += w;
      return t + 2 * (widths.size() - 1);
    };
    std::vector<std::size_t> floor(widths.size());
    static const std::set<std::string> prose = {"TEXT", "DETAIL", "MESSAGE", "VALUE", "WHAT IT FINDS", "ROLES", "EXTRA", "FIELDS"};
    for (std::size_t c = 0; c < widths.size(); ++c)
      floor[c] = prose.count(header[c]) ? std::min(widths[c], std::max<std::size_t>(8, width_of(header[c]))) : widths[c];
    while (total() > static_cast<std::size_t>(m_width)) {
      std::size_t widest = widths.size();
      for (std::size_t c = 0; c < widths.size(); ++c)
        if (widths[c] > floor[c] && (widest == widths.size() || widths[c] > widths[widest])) widest = c;
      if (widest == widths.size()) break;
      --widths[widest];
    }
  }
  auto emit = [&](const std::vector<std::string>& r, bool head) {
    std::string line;
    for (std::size_t c = 0; c < r.size(); ++c) {
      bool last = c + 1 == r.size();
      std::string cell = c < widths.size() ? cut(r[c], widths[c]) : r[c];
      std::string padded = cell;
      if (!last && c < widths.size()) padded += std::string(widths[c] - width_of(cell) + 2, ' ');
      line += head ? bold(padded) : padded;
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    std::fputs((line + "\n").c_str(), stdout);
  };
  emit(header, true);
  for (const auto& r : rows) emit(r, false);
}

void Output::field(const std::string& key, const std::string& value) {
  if (m_separator) {  // a summary as key/value records (continuation lines repeat no key)
    std::fputs(record({key, value}, m_separator).c_str(), stdout);
    return;
  }
  std::string k = key;
  if (k.size() < 12) k += std::string(12 - k.size(), ' ');
  std::fputs((bold(k) + terminal_safe(value, true) + "\n").c_str(), stdout);
}

void Output::line(const std::string& text) {
  std::fputs(((m_separator ? text : terminal_safe(text, true)) + "\n").c_str(), stdout);
}

std::string Output::bold(const std::string& s) const { return m_color ? "\033[1m" + s + "\033[0m" : s; }
std::string Output::dim(const std::string& s) const { return m_color ? "\033[2m" + s + "\033[0m" : s; }

std::string Output::severity(const std::string& s) const {
  if (!m_color) return s;
  if (s == "error") return "\033[31m" + s + "\033[0m";
  if (s == "warning") return "\033[33m" + s + "\033[0m";
  return "\033[36m" + s + "\033[0m";
}

std::string preview(const std::string& text, std::size_t max) {
  std::string one;
  for (char c : text) {
    if (c == '\n' || c == '\r' || c == '\t') {
      if (!one.empty() && one.back() != ' ') one += ' ';
    } else if (static_cast<unsigned char>(c) >= 0x20) {
      one += c;
    }
  }
  return cut(one, max);
}

std::string human_bytes(std::uint64_t n) {
  if (n < 1024) return fmt::format("{} B", n);
  if (n < 1024 * 1024) return fmt::format("{:.1f} KiB", static_cast<double>(n) / 1024);
  if (n < 1024ull * 1024 * 1024) return fmt::format("{:.1f} MiB", static_cast<double>(n) / (1024 * 1024));
  return fmt::format("{:.2f} GiB", static_cast<double>(n) / (1024.0 * 1024 * 1024));
}

}  // namespace lstore::cli
