// The one place that renders output: tables for people, JSON / NDJSON or
// CSV / TSV for scripts (--format), colour only on a terminal (NO_COLOR and
// --color honoured), nothing but data on stdout.
#pragma once

#include <cstdio>
#include <string>
#include <optional>
#include <utility>
#include <vector>

#include "lstore/json.hpp"

namespace lstore::cli {

struct GlobalOptions {
  bool json = false;
  std::string format = "table";  // table | json | ndjson | csv | tsv
  std::string color = "auto";  // auto | always | never
  bool quiet = false;
  bool verbose = false;
};

// Text from a store made safe for a terminal: control characters (ESC, C1
// controls such as CSI and OSC, DEL, and line breaks unless kept) shown as
// \xNN / \uNNNN escapes. Data formats (JSON, CSV, TSV) are never escaped.
std::string terminal_safe(std::string_view s, bool keep_newlines);

class Output {
 public:
  explicit Output(const GlobalOptions& opts);

  bool json() const { return m_json; }
  bool color() const { return m_color; }
  bool quiet() const { return m_quiet; }
  bool verbose() const { return m_verbose; }
  // With --verbose: "lstore: TEXT" on stderr (what was read, how long it took).
  void note(const std::string& text) const;
  // "lstore: warning: TEXT" on stderr, even with --quiet: something the user
  // must know although the command succeeded.
  void warn(const std::string& text) const;
  // A warning said only if the command then succeeds: one that fails names
  // the cause in its error line, which must be the only line.
  void warn_on_success(std::string text) const { m_pending.push_back(std::move(text)); }
  void flush_warnings() const {
    for (const std::string& w : m_pending) warn(w);
    m_pending.clear();
  }
  // CSV or TSV: tables are data records, nothing else belongs on stdout.
  bool delimited() const { return m_separator != 0; }

  // One JSON value on its own line (NDJSON when called repeatedly).
  void json_line(const Json& value);
  // While set, every JSON object json_line() prints carries this first
  // member ("location": the store it is about, when a command reads several).
  void tag_records(std::optional<std::pair<std::string, std::string>> tag) { m_tag = std::move(tag); }
  // A table: header row, then rows; on a terminal the widest columns are cut
  // (with "…") until the table fits its width.
  void table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);
  // "key   value" lines for summaries.
  void field(const std::string& key, const std::string& value);
  void line(const std::string& text);
  // A long text for a table cell: whole in CSV / TSV (they are data), else
  // its first line cut to `max` characters.
  std::string text_cell(const std::string& text, std::size_t max) const;
  std::string bold(const std::string& s) const;
  std::string dim(const std::string& s) const;
  std::string severity(const std::string& s) const;  // coloured severity word

 private:
  bool m_json;
  bool m_quiet;
  bool m_verbose;
  char m_separator = 0;  // ',' or '\t' for csv / tsv tables, 0 for aligned columns
  bool m_color;
  int m_width;  // 0 = not a terminal
  mutable std::vector<std::string> m_pending;  // warn_on_success()
  std::optional<std::pair<std::string, std::string>> m_tag;  // tag_records()
};

// Shortens text for a table cell: first line only, at most `max` characters.
std::string preview(const std::string& text, std::size_t max);
std::string human_bytes(std::uint64_t n);

}  // namespace lstore::cli
