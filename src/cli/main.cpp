// lstore's entry point: parse the command line, run one subcommand, and turn
// every error into one stderr line and the exit code spec/CLI.md fixes.
#include <csignal>
#include <cstdio>
#include <iostream>
#include <unistd.h>

#include <fmt/format.h>

#include "commands.hpp"
#include "lstore/backend.hpp"
#include "lstore/error.hpp"
#include "lstore/fileio.hpp"
#include "lstore/version.hpp"

namespace {

// Interrupted: remove what was being staged and exit 130; the store itself
// is only ever replaced by one rename, so it is unchanged.
extern "C" void on_signal(int) {
  lstore::remove_pending_staging();
  ::_exit(130);
}

int exit_code(lstore::ErrorKind k) {
  switch (k) {
    case lstore::ErrorKind::Usage: return 2;
    case lstore::ErrorKind::NotFound: return 1;
    case lstore::ErrorKind::Data: return 3;
  }
  return 3;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGPIPE, SIG_IGN);

  CLI::App app{"lstore: look inside, check, repair, back up and move LlamaIndex stores", "lstore"};
  app.require_subcommand(1);
  app.fallthrough(true);  // global options may follow the subcommand
  lstore::cli::GlobalOptions global;
  app.add_flag("--json", global.json, "Machine output on stdout (listings as NDJSON)");
  app.add_option("--color", global.color, "Colour: auto, always or never (NO_COLOR is honoured)")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  app.add_flag("-q,--quiet", global.quiet, "Print only data and errors");
  app.add_flag("-v,--verbose", global.verbose, "Say more about what is done");
  std::string backends;
  for (const auto& b : lstore::compiled_backends()) backends += (backends.empty() ? "" : ", ") + b;
  app.set_version_flag("--version", fmt::format("lstore {}\nbackends: {}", LSTORE_VERSION, backends));

  std::vector<lstore::cli::CommandSpec> commands = {
      lstore::cli::add_ls(app),
      lstore::cli::add_get(app),
      lstore::cli::add_convert(app),
      lstore::cli::add_delete(app),
      lstore::cli::add_put(app),
      lstore::cli::add_validate(app),
      lstore::cli::add_diff(app),
      lstore::cli::add_query(app),
  };

  std::string command = "lstore";
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string sub;
    for (const auto* s : app.get_subcommands()) sub = s->get_name() + ": ";
    std::fprintf(stderr, "lstore: %s%s\nRun 'lstore %s--help' for usage.\n", sub.c_str(), e.what(),
                 sub.empty() ? "" : (sub.substr(0, sub.size() - 2) + " ").c_str());
    return 2;
  }

  lstore::cli::Output out(global);
  for (const auto& c : commands) {
    if (!c.app->parsed()) continue;
    command = c.app->get_name();
    try {
      int rc = c.run(out);
      std::fflush(stdout);
      return rc;
    } catch (const lstore::Error& e) {
      std::fflush(stdout);
      std::string where = e.where().empty() ? "" : e.where() + ": ";
      std::string place = e.place().empty() ? "" : " (" + e.place() + ")";
      std::fprintf(stderr, "lstore: %s: %s%s%s\n", command.c_str(), where.c_str(), e.what(), place.c_str());
      if (!e.hint().empty()) std::fprintf(stderr, "hint: %s\n", e.hint().c_str());
      return exit_code(e.kind());
    } catch (const std::bad_alloc&) {
      std::fprintf(stderr, "lstore: %s: out of memory\n", command.c_str());
      return 3;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "lstore: %s: %s\n", command.c_str(), e.what());
      return 3;
    }
  }
  return 2;
}
