#include "output.hpp"

#include <cstdio>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
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

namespace {

Format format_named(const GlobalOptions& opts) {
  if (opts.format == "json" || (opts.json && opts.format == "table")) return Format::Json;
  if (opts.format == "ndjson") return Format::Ndjson;
  if (opts.format == "csv") return Format::Csv;
  if (opts.format == "tsv") return Format::Tsv;
  return Format::Table;
}

int g_stdout_errno = 0;  // the first failed write's errno (a buffered write fails before the final flush)

void put(std::string_view s) { write_stdout(s); }

// One CSV (RFC 4180: quoted when needed, quotes doubled) or TSV (IANA
// text/tab-separated-values, with the usual escapes: a tab, line break or
// backslash inside a value is written \t, \n, \r, \\) record.
std::string delimited_line(const std::vector<std::string>& cells, char sep) {
  std::string line;
  for (std::size_t c = 0; c < cells.size(); ++c) {
    if (c) line += sep;
    const std::string& v = cells[c];
    if (sep == '\t') {
      for (char ch : v) {
        if (ch == '\t') line += "\\t";
        else if (ch == '\n') line += "\\n";
        else if (ch == '\r') line += "\\r";
        else if (ch == '\\') line += "\\\\";
        else line += ch;
      }
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

void write_stdout(std::string_view s) {
  errno = 0;
  if (std::fwrite(s.data(), 1, s.size(), stdout) != s.size() && g_stdout_errno == 0) g_stdout_errno = errno;
}

int stdout_errno() { return g_stdout_errno; }

bool terminal_takes_escapes() {
  const char* term = std::getenv("TERM");
  return !(term && std::string_view(term) == "dumb");
}

std::string plural(std::size_t n, std::string_view one, std::string_view many) {
  std::string word = n == 1 ? std::string(one) : many.empty() ? std::string(one) + "s" : std::string(many);
  return fmt::format("{} {}", n, word);
}

std::string table_cell(const Json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.as_string();
  return dump(v, {JsonDialect::Compact});
}

std::string data_cell(const Json& v) {
  if (v.is_null()) return "";
  if (v.is_string()) return v.as_string();
  return dump(v, {JsonDialect::Compact});
}

Output::Output(const GlobalOptions& opts)
    : m_format(format_named(opts)), m_quiet(opts.quiet), m_verbose(opts.verbose && !opts.quiet) {
  bool tty = ::isatty(STDOUT_FILENO) != 0;
  if (opts.color == "always") m_color = true;
  else if (opts.color == "never") m_color = false;
  else m_color = tty && !(std::getenv("NO_COLOR") && *std::getenv("NO_COLOR")) && terminal_takes_escapes();
  if (!human()) m_color = false;  // data formats hold data only
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

void Output::set_format(Format f) {
  m_format = f;
  if (!human()) m_color = false;
}

void Output::warn(const std::string& text) const {
  std::fprintf(stderr, "lstore: warning: %s\n", terminal_safe(text, true).c_str());
}

void Output::note(const std::string& text) const {
  if (m_verbose) std::fprintf(stderr, "lstore: %s\n", text.c_str());
}

Record Output::tagged(const Record& r) const {
  if (!m_several || !m_location) return r;
  Record t{{"location", *m_location}};
  for (const auto& kv : r) t.push_back(kv);
  return t;
}

void Output::json_element(const Json& value) {
  put(m_any_element ? ",\n" : "[\n");
  m_array_open = m_any_element = true;
  put(dump(value, {JsonDialect::Compact}));
}

void Output::delimited_record(const std::vector<std::string>& names, const Record& r) {
  char sep = m_format == Format::Csv ? ',' : '\t';
  if (!m_header_written) {
    put(delimited_line(names, sep));
    m_header_written = true;
  }
  std::vector<std::string> cells;
  for (const std::string& n : names) {
    const Json* v = nullptr;
    for (const auto& [k, x] : r)
      if (k == n) v = &x;
    cells.push_back(v ? data_cell(*v) : "");
  }
  put(delimited_line(cells, sep));
}

namespace {

std::vector<std::string> field_names(const Schema& s, bool located) {
  std::vector<std::string> names;
  if (located) names.emplace_back("location");
  for (const Field& f : s.fields) names.push_back(f.name);
  return names;
}

}  // namespace

void Output::listing(const Schema& schema, const std::vector<Record>& records) {
  switch (m_format) {
    case Format::Table:
      print_table(schema, records);
      return;
    case Format::Json:
      m_array_open = true;  // an empty listing is still an array: "[]"
      for (const Record& r : records) json_element(Json(tagged(r)));
      return;
    case Format::Ndjson:
      for (const Record& r : records) put(dump(Json(tagged(r)), {JsonDialect::Compact}) + "\n");
      return;
    case Format::Csv:
    case Format::Tsv: {
      std::vector<std::string> names = field_names(schema, m_several && m_location);
      if (!m_header_written) {
        put(delimited_line(names, m_format == Format::Csv ? ',' : '\t'));
        m_header_written = true;
      }
      for (const Record& r : records) delimited_record(names, tagged(r));
      return;
    }
  }
}

void Output::object(const Schema& schema, const Record& obj, const std::function<void()>& human_view,
                    const Schema* rows_schema, const std::vector<Record>* rows) {
  switch (m_format) {
    case Format::Table:
      human_view();
      return;
    case Format::Json:
      if (m_several) json_element(Json(tagged(obj)));
      else put(dump(Json(obj), {JsonDialect::Compact}) + "\n");
      return;
    case Format::Ndjson:
      if (rows) {
        for (const Record& r : *rows) put(dump(Json(tagged(r)), {JsonDialect::Compact}) + "\n");
      } else {
        put(dump(Json(tagged(obj)), {JsonDialect::Compact}) + "\n");
      }
      return;
    case Format::Csv:
    case Format::Tsv:
      if (rows && rows_schema) listing(*rows_schema, *rows);
      else listing(schema, {obj});
      return;
  }
}

void Output::value(const Json& v) {
  switch (m_format) {
    case Format::Table:
      if (v.is_string()) line(safe(v.as_string()));
      else put(dump(v, {JsonDialect::Compact}) + "\n");
      return;
    case Format::Json:
    case Format::Ndjson:
      put(dump(v, {JsonDialect::Compact}) + "\n");
      return;
    case Format::Csv:
    case Format::Tsv:
      listing(Schema{"value", {{"value"}}}, {Record{{"value", v}}});
      return;
  }
}

void Output::finish() {
  if (m_format != Format::Json) return;
  if (m_any_element) put("\n]\n");
  else if (m_array_open) put("[]\n");
  m_array_open = m_any_element = false;
}

void Output::print_table(const Schema& schema, const std::vector<Record>& records) {
  std::vector<std::string> header;
  std::vector<const Field*> shown;
  for (const Field& f : schema.fields)
    if (!f.header.empty()) {
      header.push_back(f.header);
      shown.push_back(&f);
    }
  std::vector<std::vector<std::string>> rows;
  rows.reserve(records.size());
  static const Json null_value;
  for (const Record& r : records) {
    std::vector<std::string> cells;
    for (const Field* f : shown) {
      const Json* v = &null_value;
      for (const auto& [k, x] : r)
        if (k == f->name) v = &x;
      std::string cell = f->show ? f->show(*v) : table_cell(*v);
      cells.push_back(f->text_max ? preview(cell, f->text_max) : cell);
    }
    rows.push_back(std::move(cells));
  }
  table(header, rows);
}

void Output::table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& raw_rows) {
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
    put(line + "\n");
  };
  emit(header, true);
  for (const auto& r : rows) emit(r, false);
}

void Output::field(const std::string& key, const std::string& value, bool styled) {
  std::string k = key;
  if (k.size() < 12) k += std::string(12 - k.size(), ' ');
  put(bold(k) + (styled ? value : terminal_safe(value, true)) + "\n");
}

void Output::line(const std::string& text) {
  put(text + "\n");
}

std::string Output::safe(std::string_view s) const { return terminal_safe(s, true); }
std::string Output::bold(const std::string& s) const { return m_color ? "\033[1m" + safe(s) + "\033[0m" : safe(s); }
std::string Output::dim(const std::string& s) const { return m_color ? "\033[2m" + safe(s) + "\033[0m" : safe(s); }

std::string Output::severity(const std::string& s) const {
  if (!m_color) return safe(s);
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
