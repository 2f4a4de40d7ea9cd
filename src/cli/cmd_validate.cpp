// lstore validate STORE...: the CI gate (spec/CLI.md). Findings are printed in
// the format CI systems read; the exit code says whether any reached --fail-on.
#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <new>
#include <optional>

#include "commands.hpp"
#include "progress_bar.hpp"
#include "lstore/backend.hpp"
#include "lstore/error.hpp"
#include "lstore/repair.hpp"
#include "lstore/validate.hpp"
#include "lstore/version.hpp"

namespace lstore::cli {
namespace {

struct ValidateCli {
  std::vector<std::string> stores;
  std::string format;  // empty: the global --format
  std::string fail_on = "error";
  std::vector<std::string> rules, skips;
  bool all = false;
  std::size_t max = 10;
  bool list_rules = false;
};

struct StoreFindings {
  std::string store;
  std::vector<Finding> findings;
};

int rank(Severity s) { return s == Severity::Error ? 2 : s == Severity::Warning ? 1 : 0; }

std::string xml_escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t') out += ' ';  // not allowed in XML 1.0
        else out += c;
    }
  }
  return out;
}

// GitHub workflow commands: % CR LF are escaped in the message; , and : too in properties.
std::string gh_escape(std::string_view s, bool property) {
  std::string out;
  for (char c : s) {
    if (c == '%') out += "%25";
    else if (c == '\r') out += "%0D";
    else if (c == '\n') out += "%0A";
    else if (property && c == ':') out += "%3A";
    else if (property && c == ',') out += "%2C";
    else out += c;
  }
  return out;
}

// Findings lstore repair fixes: said in every format, so that a CI log or a
// code-scanning alert tells the reader there is a command for it.
bool fixable(const std::string& rule) { return repairable_rules().count(rule) > 0; }
constexpr const char* kFixableNote = "fixable: lstore repair";

std::string where(const StoreFindings& s, const Finding& f) {
  return f.file.empty() ? s.store : s.store + "/" + f.file;
}

void print_text(Output& out, const std::vector<StoreFindings>& all, const ValidateCli& o) {
  for (const auto& s : all) {
    std::size_t counts[3] = {0, 0, 0};
    for (const auto& f : s.findings) ++counts[rank(f.severity)];
    out.line(out.bold(fmt::format("{}: {}, {}, {}", s.store, plural(counts[2], "error"), plural(counts[1], "warning"),
                                  plural(counts[0], "note"))));
    // Grouped per file, then per rule, first N of each rule.
    std::map<std::string, std::map<std::string, std::vector<const Finding*>>> by_file;
    for (const auto& f : s.findings) by_file[f.file][f.rule].push_back(&f);
    for (const auto& [file, rules] : by_file) {
      out.line(out.safe("  " + (file.empty() ? std::string("(store)") : file)));
      for (const auto& [rule, fs] : rules) {
        const char* sev = severity_name(fs.front()->severity);
        out.line(fmt::format("    {} {} ({}){}", out.severity(sev), out.safe(rule), fs.size(),
                             fixable(rule) ? out.dim(std::string(", ") + kFixableNote) : ""));
        std::size_t shown = o.all ? fs.size() : std::min(fs.size(), o.max);
        for (std::size_t i = 0; i < shown; ++i)
          out.line(fmt::format("      {}{}", out.safe(fs[i]->message), fs[i]->path.empty() ? "" : out.dim("  [" + fs[i]->path + "]")));
        if (shown < fs.size()) out.line(out.dim(fmt::format("      ... and {} more (--all shows them)", fs.size() - shown)));
        if (const Rule* r = find_rule(rule)) out.line(out.dim(std::string("      hint: ") + r->hint));
      }
    }
  }
}

const Schema kFinding{"finding",
                      {{"rule"}, {"severity"}, {"store"}, {"file"}, {"path"}, {"message"}, {"fixable"}}};
const Schema kReport{"validate_report", {{"findings"}, {"summary"}}};

std::vector<Record> finding_records(const std::vector<StoreFindings>& all) {
  std::vector<Record> out;
  for (const auto& s : all)
    for (const auto& f : s.findings)
      out.push_back({{"rule", f.rule}, {"severity", severity_name(f.severity)}, {"store", s.store}, {"file", f.file},
                     {"path", f.path}, {"message", f.message}, {"fixable", fixable(f.rule)}});
  return out;
}

// The report: every finding, and the counts (spec/CLI.md's validate object).
void print_report(Output& out, const std::vector<StoreFindings>& all, const ValidateCli& o) {
  std::vector<Record> findings = finding_records(all);
  std::size_t counts[3] = {0, 0, 0};
  std::map<std::string, std::int64_t> by_rule;
  for (const auto& s : all)
    for (const auto& f : s.findings) {
      ++counts[rank(f.severity)];
      ++by_rule[f.rule];
    }
  JsonObject rules;
  for (const auto& [r, n] : by_rule) rules.emplace_back(r, n);
  JsonArray list;
  for (const Record& r : findings) list.emplace_back(r);
  Record report{{"findings", std::move(list)},
                {"summary", JsonObject{{"stores", count(all.size())},
                                       {"errors", count(counts[2])},
                                       {"warnings", count(counts[1])},
                                       {"infos", count(counts[0])},
                                       {"by_rule", std::move(rules)}}}};
  out.object(kReport, report, [&] { print_text(out, all, o); }, &kFinding, &findings);
}

void print_github(const std::vector<StoreFindings>& all) {
  for (const auto& s : all)
    for (const auto& f : s.findings) {
      const char* cmd = f.severity == Severity::Error ? "error" : f.severity == Severity::Warning ? "warning" : "notice";
      std::string msg = f.message + (f.path.empty() ? "" : " (" + f.path + ")") + (fixable(f.rule) ? std::string(" [") + kFixableNote + "]" : "");
      write_stdout(fmt::format("::{} file={},title={}::{}\n", cmd, gh_escape(where(s, f), true), gh_escape(f.rule, true),
                               gh_escape(msg, false)));
    }
}

void print_junit(const std::vector<StoreFindings>& all, Severity fail_on) {
  std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  std::size_t tests = 0, failures = 0;
  std::string suites;
  for (const auto& s : all) {
    std::size_t suite_fail = 0;
    std::string cases;
    for (const Rule& r : validation_rules()) {
      std::vector<const Finding*> fs;
      for (const auto& f : s.findings)
        if (f.rule == r.id) fs.push_back(&f);
      bool failed = false;
      std::string body;
      for (const Finding* f : fs) {
        body += f->file + (f->path.empty() ? "" : " [" + f->path + "]") + ": " + f->message + "\n";
        failed |= rank(f->severity) >= rank(fail_on);
      }
      cases += fmt::format("    <testcase classname=\"{}\" name=\"{}\"", xml_escape(s.store), r.id);
      if (fs.empty()) {
        cases += "/>\n";
      } else if (failed) {
        cases += fmt::format(">\n      <failure type=\"{}\" message=\"{}\">{}</failure>\n    </testcase>\n", r.id,
                             xml_escape(fmt::format("{}: {}{}", plural(fs.size(), "finding"), r.summary,
                                                    fixable(r.id) ? std::string(" (") + kFixableNote + ")" : "")),
                             xml_escape(body));
        ++suite_fail;
      } else {
        cases += fmt::format(">\n      <system-out>{}</system-out>\n    </testcase>\n", xml_escape(body));
      }
    }
    tests += validation_rules().size();
    failures += suite_fail;
    suites += fmt::format("  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"0\">\n{}  </testsuite>\n",
                          xml_escape(s.store), validation_rules().size(), suite_fail, cases);
  }
  x += fmt::format("<testsuites name=\"lstore validate\" tests=\"{}\" failures=\"{}\" errors=\"0\">\n{}</testsuites>\n", tests,
                   failures, suites);
  write_stdout(x);
}

void print_sarif(const std::vector<StoreFindings>& all) {
  auto level = [](Severity s) { return s == Severity::Error ? "error" : s == Severity::Warning ? "warning" : "note"; };
  JsonArray rules;
  for (const Rule& r : validation_rules())
    rules.push_back(JsonObject{{"id", r.id},
                               {"name", r.id},
                               {"shortDescription", JsonObject{{"text", r.summary}}},
                               {"help", JsonObject{{"text", r.hint}}},
                               {"defaultConfiguration", JsonObject{{"level", level(r.severity)}}},
                               {"properties", JsonObject{{"group", r.group}, {"fixable", fixable(r.id)}}}});
  JsonArray results;
  for (const auto& s : all)
    for (const auto& f : s.findings) {
      JsonObject loc{{"physicalLocation", JsonObject{{"artifactLocation", JsonObject{{"uri", where(s, f)}}}}}};
      if (!f.path.empty()) loc.emplace_back("logicalLocations", JsonArray{JsonObject{{"fullyQualifiedName", f.path}}});
      results.push_back(JsonObject{{"ruleId", f.rule},
                                   {"level", level(f.severity)},
                                   {"message", JsonObject{{"text", f.message}}},
                                   {"locations", JsonArray{Json(std::move(loc))}},
                                   {"properties", JsonObject{{"fixable", fixable(f.rule)}}}});
    }
  Json sarif(JsonObject{
      {"$schema", "https://json.schemastore.org/sarif-2.1.0.json"},
      {"version", "2.1.0"},
      {"runs", JsonArray{JsonObject{{"tool", JsonObject{{"driver", JsonObject{{"name", "lstore"},
                                                                            {"version", LSTORE_VERSION},
                                                                            {"rules", std::move(rules)}}}}},
                                    {"results", std::move(results)}}}}});
  std::string text = dump(sarif, {JsonDialect::Compact}) + "\n";
  write_stdout(text);
}

// A directory store validated as it streams by (validate_streamed: compact
// per-node state instead of the store model), when that path is sure of its
// answer; nullopt otherwise, and the store is loaded whole as always.
// LSTORE_NO_STREAM=1 forces the loaded path (tests/test_validate_stream.py
// compares the two). --verbose says which path answered.
std::optional<std::vector<Finding>> validate_streaming(Output& out, const std::string& name,
                                                       const std::string& shown, ValidateOptions vo) {
  const char* off = std::getenv("LSTORE_NO_STREAM");
  if (off && *off && std::string_view(off) != "0") return std::nullopt;
  std::error_code ec;
  if (!std::filesystem::is_directory(name, ec)) return std::nullopt;
  Store store;
  try {
    const auto start = std::chrono::steady_clock::now();
    std::unique_ptr<Backend> backend = open_backend(name);
    store = backend->load_streamed(nullptr);
    if (!backend->read_notes().empty()) return std::nullopt;  // load_store would print them
    note_read(out, *backend, store, start);
  } catch (const std::bad_alloc&) {
    throw;  // never retried on the loaded path, which needs far more memory
  } catch (const std::exception&) {
    return std::nullopt;  // the loaded path reports it
  }
  ProgressBar bar("validate " + shown, out.quiet());
  vo.progress = bar.callback();
  std::optional<std::vector<Finding>> found = validate_streamed(store, vo);
  if (found) bar.finish();  // (else erased: the loaded path draws its own)
  if (out.verbose())
    out.note(found ? "validate: checked as the files streamed by (compact per-node state)"
                   : "validate: the streamed check is not sure of its answer; validating the store loaded whole");
  return found;
}

}  // namespace

CommandSpec add_validate(CLI::App& parent) {
  auto o = std::make_shared<ValidateCli>();
  CLI::App* app = parent.add_subcommand("validate", "Check stores: structure, loadability, cross-store integrity, data quality");
  app->add_option("stores", o->stores, "One or more stores");
  app->add_option("--format", o->format,
                  "The report: text (= table), json, ndjson, csv, tsv, or for CI github, junit, sarif (default: the global --format)")
      ->check(CLI::IsMember(kValidateFormats));
  app->add_option("--fail-on", o->fail_on, "Exit 1 on findings of this severity or worse: error (default) or warning")
      ->check(CLI::IsMember({"error", "warning"}));
  app->add_option("--rule", o->rules, "Check only these rules (repeatable)");
  app->add_option("--skip", o->skips, "Do not check these rules (repeatable)");
  app->add_flag("--all", o->all, "Text format: print every finding, not the first few per rule");
  app->add_option("--max", o->max, "Text format: findings printed per rule (default 10)")->check(count_validator());
  app->add_flag("--list-rules", o->list_rules, "Print the rules and exit");
  return {app, [o](Output& out) {
            // validate's own --format (after the command) wins over the global one.
            std::string fmt_name = o->format == "text" ? "table" : o->format;
            if (fmt_name == "table") out.set_format(Format::Table);
            else if (fmt_name == "json") out.set_format(Format::Json);
            else if (fmt_name == "ndjson") out.set_format(Format::Ndjson);
            else if (fmt_name == "csv") out.set_format(Format::Csv);
            else if (fmt_name == "tsv") out.set_format(Format::Tsv);
            if (o->list_rules) {
              static const Schema rule_schema{
                  "rule", {{"id", "RULE"}, {"severity", "SEVERITY"}, {"group", "GROUP"}, {"summary", "WHAT IT FINDS"}, {"hint"}}};
              std::vector<Record> records;
              for (const Rule& r : validation_rules())
                records.push_back({{"id", r.id}, {"severity", severity_name(r.severity)}, {"group", r.group},
                                   {"summary", r.summary}, {"hint", r.hint}});
              out.listing(rule_schema, records);
              return 0;
            }
            if (o->stores.empty()) throw Error(ErrorKind::Usage, "", "no store given");
            ValidateOptions vo{{o->rules.begin(), o->rules.end()}, {o->skips.begin(), o->skips.end()}, {}};
            std::vector<StoreFindings> all;
            bool unreadable = false;
            for (const std::string& s : o->stores) {
              // As the user named it (a directory as given, not sqlite:...), but never a password.
              std::string shown = redact_store_name(s);
              // A store that cannot be opened is that store's finding; the
              // report still covers every store given (CI reads all of it).
              std::optional<std::vector<Finding>> streamed = validate_streaming(out, s, shown, vo);
              // Seen by the tests, which require the stream to answer where it should.
              if (const char* trace = std::getenv("LSTORE_TRACE_STREAM"); trace && *trace)
                std::fprintf(stderr, "lstore: validate: %s\n", streamed ? "streamed" : "loaded");
              if (streamed) {
                all.push_back({shown, std::move(*streamed)});
                continue;
              }
              Store store;
              try {
                store = load_store(out, s, true);
              } catch (const Error& e) {
                if (e.kind() == ErrorKind::Usage) throw;
                unreadable = true;
                // The report has it as a finding; stderr says why the exit is 3.
                print_error("validate", e);
                std::string where = e.where() == s ? "" : redact_store_names_in(e.where());
                all.push_back({shown, {{"unreadable-store", Severity::Error, where, e.place(),
                                        redact_store_names_in(e.what())}}});
                continue;
              }
              ProgressBar bar("validate " + shown, out.quiet());
              vo.progress = bar.callback();
              all.push_back({shown, validate(store, vo)});
              bar.finish();
            }
            if (fmt_name == "github") print_github(all);
            else if (fmt_name == "junit") print_junit(all, o->fail_on == "warning" ? Severity::Warning : Severity::Error);
            else if (fmt_name == "sarif") print_sarif(all);
            else print_report(out, all, *o);
            if (unreadable) return 3;  // the report is out; the exit says a store could not be read
            Severity fail_on = o->fail_on == "warning" ? Severity::Warning : Severity::Error;
            for (const auto& s : all)
              for (const auto& f : s.findings)
                if (rank(f.severity) >= rank(fail_on)) return 1;
            return 0;
          }};
}

}  // namespace lstore::cli
