// The one place that renders output. A command builds its typed records once
// (records.hpp: fields in order, JSON values) and hands them here; one
// renderer per --format turns them into a table for people, one JSON document,
// NDJSON lines, or CSV / TSV records. Colour only on a terminal (NO_COLOR,
// TERM=dumb and --color honoured), nothing but data on stdout.
#pragma once

#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "lstore/json.hpp"
#include "records.hpp"

namespace lstore::cli {

enum class Format { Table, Json, Ndjson, Csv, Tsv };

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

  Format format() const { return m_format; }
  // A command's own --format (validate's) replaces the global one.
  void set_format(Format f);
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
  // The warn_on_success() lines waiting, and dropping all but the first
  // `keep`: a store read again another way (query's fallback from the
  // streamed read) says its warnings again.
  std::size_t pending_warnings() const { return m_pending.size(); }
  void drop_pending_warnings(std::size_t keep) const {
    if (keep < m_pending.size()) m_pending.resize(keep);
  }
  void flush_warnings() const {
    for (const std::string& w : m_pending) warn(w);
    m_pending.clear();
  }

  // --- Data: what a command reports, rendered in the chosen format. ---

  // Records of a listing. table: the schema's columns; json: elements of the
  // command's one array (several listings, of several stores, share it);
  // ndjson: one line each; csv / tsv: one record each under one header row.
  void listing(const Schema& schema, const std::vector<Record>& records);
  // A summary or a result: one object. table: `human` prints it; json: the
  // object (an element of an array when the command reports on several
  // stores, see several()); ndjson: `rows` one per line, or the object on
  // one line when it has no rows; csv / tsv: `rows` under `rows_schema`'s
  // header, or the object as one record (nested fields dotted, lists as JSON).
  void object(const Schema& schema, const Record& obj, const std::function<void()>& human,
              const Schema* rows_schema = nullptr, const std::vector<Record>* rows = nullptr);
  // One value (get --field): a string as it is in a table, else JSON; in
  // csv / tsv one record under the header "value".
  void value(const Json& v);
  // The command reports on several stores: json's document is an array of
  // its summaries, and every record starts with "location".
  void several(bool on) { m_several = on; }
  void tag_location(std::optional<std::string> location) { m_location = std::move(location); }
  // Closes the JSON document (main calls it once the command is done).
  void finish();

  // --- Human output (tables for people; data formats never call these). ---
  bool human() const { return m_format == Format::Table; }
  // A listing's records as the table its schema's columns show.
  void print_table(const Schema& schema, const std::vector<Record>& records);
  // A table: header row, then rows; on a terminal the widest prose columns
  // are cut (with "…") until the table fits its width.
  void table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);
  // "key   value" lines for summaries: the value made terminal-safe, unless
  // `styled` (it was composed of safe() and bold()/dim()/severity() parts).
  void field(const std::string& key, const std::string& value, bool styled = false);
  // One line as it is: text from a store in it must have gone through
  // safe(), and colour through bold() / dim() / severity(), which escape
  // their argument (so the escapes they add are the only ones written).
  void line(const std::string& text);
  std::string safe(std::string_view s) const;
  std::string bold(const std::string& s) const;
  std::string dim(const std::string& s) const;
  std::string severity(const std::string& s) const;  // coloured severity word

 private:
  void json_element(const Json& value);  // one element of json's array
  void delimited_record(const std::vector<std::string>& names, const Record& r);
  Record tagged(const Record& r) const;

  Format m_format = Format::Table;
  bool m_quiet;
  bool m_verbose;
  bool m_color;
  int m_width;  // 0 = not a terminal
  bool m_several = false;
  std::optional<std::string> m_location;  // tag_location()
  bool m_array_open = false;               // json: "[" written
  bool m_any_element = false;
  bool m_header_written = false;  // csv / tsv: one header row per command
  mutable std::vector<std::string> m_pending;  // warn_on_success()
};

// Everything on stdout goes through here: the first failed write's errno is
// kept for main's one error line (a buffered write fails long before exit).
void write_stdout(std::string_view s);
int stdout_errno();

// Shortens text for a table cell: first line only, at most `max` characters.
std::string preview(const std::string& text, std::size_t max);
std::string human_bytes(std::uint64_t n);
// Whether colour and cursor escapes may be written to a terminal: not when
// NO_COLOR is set (no-color.org: set and not empty) or TERM is "dumb".
bool terminal_takes_escapes();
// "1 warning", "2 warnings".
std::string plural(std::size_t n, std::string_view one, std::string_view many = {});

}  // namespace lstore::cli
