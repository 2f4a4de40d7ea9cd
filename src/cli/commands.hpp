// Subcommands. Each src/cli/cmd_<name>.cpp defines one add_<name>() that
// declares its options on `app` and returns the function that runs it; the
// list in main.cpp is the only registration.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

#include "output.hpp"

namespace lstore::cli {

using Runner = std::function<int(Output&)>;

struct CommandSpec {
  CLI::App* app;
  Runner run;
};

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
