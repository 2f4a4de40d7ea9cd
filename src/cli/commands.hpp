// Subcommands. Each src/cli/cmd_<name>.cpp defines one add_<name>() that
// declares its options on `app` and returns the function that runs it; the
// list in main.cpp is the only registration.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

#include "lstore/backend.hpp"
#include "output.hpp"

namespace lstore::cli {

using Runner = std::function<int(Output&)>;

// Values that both an option's check and the shell completions use.
inline const std::vector<std::string> kLsWhat = {"nodes", "docs", "indexes", "vectors", "graph", "collections", "chat", "files"};
inline const std::vector<std::string> kOutputFormats = {"table", "json", "ndjson", "csv", "tsv"};
inline const std::vector<std::string> kColorModes = {"auto", "always", "never"};
inline const std::vector<std::string> kShells = {"bash", "zsh", "fish"};

struct CommandSpec {
  CLI::App* app;
  Runner run;
};

// Reads a store for a command (tolerant: broken files kept, for validate);
// with --verbose says what was read and how long it took.
Store load_store(Output& out, Backend& backend, bool tolerant = false);
Store load_store(Output& out, const std::string& name, bool tolerant = false);

CommandSpec add_ls(CLI::App& parent);
CommandSpec add_get(CLI::App& parent);
CommandSpec add_convert(CLI::App& parent);
CommandSpec add_delete(CLI::App& parent);
CommandSpec add_put(CLI::App& parent);
CommandSpec add_validate(CLI::App& parent);
CommandSpec add_diff(CLI::App& parent);
CommandSpec add_completion(CLI::App& parent);
CommandSpec add_query(CLI::App& parent);

}  // namespace lstore::cli
