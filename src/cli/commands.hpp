// Subcommands. Each src/cli/cmd_<name>.cpp defines one add_<name>() that
// declares its options on `app` and returns the function that runs it; the
// list in main.cpp is the only registration.
#pragma once

#include <chrono>
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <functional>

#include "lstore/backend.hpp"
#include "lstore/error.hpp"
#include "output.hpp"

namespace lstore::cli {

using Runner = std::function<int(Output&)>;

// Values that both an option's check and the shell completions use.
inline const std::vector<std::string> kLsWhat = {"nodes", "docs", "indexes", "vectors", "graph", "collections", "chat", "files"};
inline const std::vector<std::string> kOutputFormats = {"table", "json", "ndjson", "csv", "tsv"};
// validate's report: the global formats (text = table), and the CI formats of findings.
inline const std::vector<std::string> kValidateFormats = {"text", "table", "json", "ndjson", "csv", "tsv", "github", "junit", "sarif"};
inline const std::vector<std::string> kColorModes = {"auto", "always", "never"};
inline const std::vector<std::string> kShells = {"bash", "zsh", "fish"};

struct CommandSpec {
  CLI::App* app;
  Runner run;
};

// Reads a store for a command (tolerant: broken files kept, for validate);
// with --verbose says what was read and how long it took.
// "lstore: COMMAND: WHERE: WHAT (PLACE)" on stderr, store names redacted
// (main's error line, and the line of one store among several).
void print_error(const std::string& command, const Error& e);

// Fails (exit 3) on a place holding no LlamaIndex file, unless `tolerant`
// (validate reports it as a finding) or `may_be_empty` and it is empty.
// What the backend could not bring back (Backend::read_notes: a PGVectorStore
// table rebuilt as a folder store) is said as warnings, or handed to the
// caller through `notes` (convert, whose --strict refuses on them).
Store load_store(Output& out, Backend& backend, bool tolerant = false, bool may_be_empty = false,
                 std::vector<std::string>* notes = nullptr);
// --verbose's line about a store just read (files, bytes, dialect, era, time).
void note_read(Output& out, Backend& backend, const Store& store, std::chrono::steady_clock::time_point start);
Store load_store(Output& out, const std::string& name, bool tolerant = false, bool may_be_empty = false);

// A command's input as text: the file `path`, or standard input for "-";
// `what` names it in errors ("records", "vector file"). input_name() is how
// messages name it.
std::string read_input(const std::string& path, const char* what);
std::string input_name(const std::string& path);

// --wait SECONDS of the writing commands: a plain non-negative number of
// seconds up to a week ("inf", "nan", "-5" or 1e300 would not wait as asked).
inline CLI::Option* add_wait_option(CLI::App* app, double& wait, const std::string& what) {
  return app->add_option("--wait", wait, what)->check(CLI::Validator(
      [](const std::string& v) -> std::string {
        char* end = nullptr;
        double d = std::strtod(v.c_str(), &end);
        bool plain = !v.empty() && v.find_first_not_of("0123456789.") == std::string::npos;
        if (!plain || *end != '\0' || !(d >= 0 && d <= 604800)) return "must be a number of seconds from 0 to 604800 (a week)";
        return {};
      },
      "SECONDS", "seconds"));
}

// A count option (--top-k, --max): a whole number from 0 to 999999999,
// refused in those words (not as a 300-digit range, not wrapped around).
inline CLI::Validator count_validator() {
  return CLI::Validator(
      [](const std::string& v) -> std::string {
        if (v.empty() || v.size() > 9 || v.find_first_not_of("0123456789") != std::string::npos)
          return "must be a whole number from 0 to 999999999";
        return {};
      },
      "N", "count");
}

CommandSpec add_ls(CLI::App& parent);
CommandSpec add_get(CLI::App& parent);
CommandSpec add_convert(CLI::App& parent);
CommandSpec add_delete(CLI::App& parent);
CommandSpec add_put(CLI::App& parent);
CommandSpec add_validate(CLI::App& parent);
CommandSpec add_diff(CLI::App& parent);
CommandSpec add_completion(CLI::App& parent);
CommandSpec add_query(CLI::App& parent);
CommandSpec add_repair(CLI::App& parent);

}  // namespace lstore::cli
