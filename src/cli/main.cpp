// lstore's entry point: parse the command line, run one subcommand, and turn
// every error into one stderr line and the exit code spec/CLI.md fixes.
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include <chrono>

#include "commands.hpp"
#include "suggest.hpp"
#include "lstore/backend.hpp"
#include "lstore/error.hpp"
#include "lstore/faiss.hpp"
#include "core/fileio.hpp"
#include "core/mapped_file.hpp"
#include "lstore/version.hpp"

namespace {

// Interrupted: remove what was being staged and exit 130; the store itself
// is only ever replaced by one rename, so it is unchanged. Once the new store
// is in, the command has succeeded: the first interrupt then only lets it
// finish (it reports what it did and exits 0); a second one ends it.
volatile std::sig_atomic_t g_interrupts_after_swap = 0;
extern "C" void on_signal(int) {
  if (lstore::store_swapped() && g_interrupts_after_swap == 0) {
    g_interrupts_after_swap = 1;
    return;
  }
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

// Everything a command printed has reached stdout, or the command fails:
// output lost to a full disk (> /dev/full) must not exit 0. A reader that
// went away (| head) ends the command quietly, as it does for any Unix tool.
int finish_stdout(const std::string& command, int rc) {
  errno = 0;
  bool flushed = std::fflush(stdout) == 0;
  int err = lstore::cli::stdout_errno() ? lstore::cli::stdout_errno() : errno;
  if (flushed && !std::ferror(stdout)) return rc;
  struct stat st {};
  pollfd p{1, POLLOUT, 0};
  if (::fstat(1, &st) == 0 && S_ISFIFO(st.st_mode) && ::poll(&p, 1, 0) == 1 && (p.revents & POLLERR)) return rc;
  if (err == EPIPE) return rc;
  std::fprintf(stderr, "lstore: %s: cannot write to standard output%s%s\n", command.c_str(), err ? ": " : "",
               err ? std::strerror(err) : "");
  return 3;
}

// A store file read through a mapping was cut short by another program
// while the command ran (core/mapped_file.hpp): what it printed may rest on
// zeros, not on the file, so it is said and the exit is 3. (Writes refused
// to commit already.) True when it was said.
bool said_shrunk_file(const std::string& command) {
  std::optional<std::string> name = lstore::sigbus_guard::shrunk_file();
  if (!name) return false;
  std::fprintf(stderr, "lstore: %s: %s: the file shrank while it was read (another program truncated it in place): "
               "what was printed from it is not to be trusted\n", command.c_str(),
               lstore::redact_store_names_in(*name).c_str());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::signal(SIGPIPE, SIG_IGN);
  lstore::free_replaced_files_after_exit(true);  // this process ends after its write

  CLI::App app{"lstore: look inside, check, repair, back up and move LlamaIndex stores", "lstore"};
  app.require_subcommand(1);
  app.fallthrough(true);  // global options may follow the subcommand
  lstore::cli::GlobalOptions global;
  app.add_flag("--json", global.json, "Machine output on stdout: the same as --format json");
  app.add_option("--format", global.format,
                 "Output: table (for people), json (one document: an array for listings, an object for summaries), "
                 "ndjson (one record a line), csv or tsv (records under a header of the JSON field names); see lstore-json(5)")
      ->check(CLI::IsMember(lstore::cli::kOutputFormats));
  app.add_option("--color", global.color, "Colour: auto, always or never (NO_COLOR is honoured)")
      ->check(CLI::IsMember(lstore::cli::kColorModes));
  app.add_flag("-q,--quiet", global.quiet, "Print only data and errors");
  app.add_flag("-v,--verbose", global.verbose, "Say more about what is done");
  std::string backends;
  for (const auto& b : lstore::compiled_backends()) backends += (backends.empty() ? "" : ", ") + b;
  // Which vector indexes this build reads besides SimpleVectorStore JSON.
  const char* vector_indexes = lstore::faiss_compiled_in() ? "faiss (libfaiss)" : "none (built without FAISS)";
  // The stores every command takes, from the backend table (registry.cpp),
  // so that a new backend shows up here without touching the CLI.
  std::string stores = "Stores (every command takes any of these):\n";
  std::vector<lstore::BackendInfo> kinds = lstore::backend_list();
  std::stable_partition(kinds.begin(), kinds.end(), [](const lstore::BackendInfo& b) { return b.name == "dir"; });
  for (const lstore::BackendInfo& b : kinds) {
    std::string what = std::string(b.description) + (b.compiled ? "" : " (not in this build)");
    if (b.syntax.size() < 18)
      stores += fmt::format("  {:<18}{}\n", b.syntax, what);
    else
      stores += fmt::format("  {}\n  {:<18}{}\n", b.syntax, "", what);
  }
  app.footer(stores);
  app.set_version_flag("--version",
                       fmt::format("lstore {}\nbackends: {}\nvector indexes: {}", LSTORE_VERSION, backends, vector_indexes));

  std::vector<lstore::cli::CommandSpec> commands = {
      lstore::cli::add_ls(app),
      lstore::cli::add_get(app),
      lstore::cli::add_convert(app),
      lstore::cli::add_delete(app),
      lstore::cli::add_put(app),
      lstore::cli::add_validate(app),
      lstore::cli::add_diff(app),
      lstore::cli::add_completion(app),
      lstore::cli::add_query(app),
      lstore::cli::add_repair(app),
  };

  std::string command = "lstore";
  // `lstore` alone: the usage, as a usage error. `lstore help [CMD]`: the
  // help of the tool or of one command, as --help prints it.
  if (argc == 1) {
    std::fputs(app.help().c_str(), stderr);
    return 2;
  }
  // `lstore help CMD` is `lstore CMD --help`; `lstore help` is `lstore --help`.
  std::vector<char*> help_args;
  if (std::string_view(argv[1]) == "help") {
    static char help_flag[] = "--help";
    if (argc > 2) {
      bool known = false;
      for (const auto& c : commands) known |= c.app->get_name() == argv[2];
      if (!known) {
        std::vector<std::string> names;
        for (const auto& c : commands) names.push_back(c.app->get_name());
        std::string hint = lstore::cli::did_you_mean(argv[2], names);
        std::fprintf(stderr, "lstore: help: unknown command '%s'\n", lstore::redact_store_names_in(argv[2]).c_str());
        if (!hint.empty()) std::fprintf(stderr, "hint: did you mean '%s'?\n", hint.c_str());
        return 2;
      }
      help_args = {argv[0], argv[2], help_flag};
    } else {
      help_args = {argv[0], help_flag};
    }
    argc = static_cast<int>(help_args.size());
    argv = help_args.data();
  }
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
    const CLI::App* parsed = nullptr;
    for (const auto* s : app.get_subcommands()) {
      sub = s->get_name() + ": ";
      parsed = s;
    }
    std::vector<std::string> names, options;
    std::vector<std::string> valued;  // options whose value is the next word (that word is no positional)
    for (const auto& c : commands) names.push_back(c.app->get_name());
    for (const CLI::App* a : {static_cast<const CLI::App*>(&app), parsed})
      if (a)
        for (const CLI::Option* o : a->get_options())
          for (const std::string& l : o->get_lnames()) {
            options.push_back("--" + l);
            if (o->get_type_size() != 0) valued.push_back("--" + l);
          }
    // No subcommand parsed: say which word was taken for one.
    std::string what = e.what();
    if (!parsed)
      for (int i = 1; i < argc; ++i) {
        if (std::find(valued.begin(), valued.end(), argv[i]) != valued.end()) {
          ++i;
          continue;
        }
        if (argv[i][0] != '-') {
          if (std::find(names.begin(), names.end(), argv[i]) == names.end()) what = fmt::format("unknown command '{}'", argv[i]);
          break;
        }
      }
    // An option nobody knows is named as such, whatever CLI11 tripped over
    // first (with fallthrough it may blame the next word: "what: F not in ...").
    for (int i = 1; i < argc; ++i) {
      std::string_view arg = argv[i];
      if (arg == "--") break;
      if (arg.rfind("--", 0) != 0) continue;
      std::string word(arg.substr(0, arg.find('=')));
      if (std::find(options.begin(), options.end(), word) == options.end() && word != "--help" && word != "--version") {
        what = fmt::format("unknown option '{}'", word);
        break;
      }
      if (arg.find('=') == std::string_view::npos && std::find(valued.begin(), valued.end(), word) != valued.end()) ++i;
    }
    // CLI11 quotes the argument it refused, which may be a URI with a password.
    std::fprintf(stderr, "lstore: %s%s\n", sub.c_str(), lstore::redact_store_names_in(what).c_str());
    // Did you mean: the first word that is neither a subcommand nor an option
    // we know (or, for ls, a WHAT that is not one).
    std::string hint;
    int positionals = 0;  // after the subcommand's name
    bool after_sub = false;
    for (int i = 1; i < argc && hint.empty(); ++i) {
      std::string arg = argv[i];
      std::string word = arg.substr(0, arg.find('='));
      if (arg.find('=') == std::string::npos && std::find(valued.begin(), valued.end(), word) != valued.end()) {
        ++i;
        continue;
      }
      if (parsed && !after_sub && word == parsed->get_name()) {
        after_sub = true;
        continue;
      }
      if (after_sub && !word.empty() && word[0] != '-' && ++positionals == 2 && parsed->get_name() == "ls" &&
          std::find(lstore::cli::kLsWhat.begin(), lstore::cli::kLsWhat.end(), word) == lstore::cli::kLsWhat.end()) {
        hint = lstore::cli::did_you_mean(word, lstore::cli::kLsWhat);
        continue;
      }
      if (word.rfind("--", 0) == 0) {
        if (std::find(options.begin(), options.end(), word) == options.end()) hint = lstore::cli::did_you_mean(word, options);
      } else if (!parsed && word[0] != '-') {
        if (std::find(names.begin(), names.end(), word) == names.end()) hint = lstore::cli::did_you_mean(word, names);
        break;
      }
    }
    if (!hint.empty()) std::fprintf(stderr, "hint: did you mean '%s'?\n", hint.c_str());
    else
      std::fprintf(stderr, "hint: run 'lstore %s--help' for usage\n",
                   sub.empty() ? "" : (sub.substr(0, sub.size() - 2) + " ").c_str());
    return 2;
  }

  lstore::cli::Output out(global);
  for (const auto& c : commands) {
    if (!c.app->parsed()) continue;
    command = c.app->get_name();
    auto start = std::chrono::steady_clock::now();
    try {
      int rc = c.run(out);
      out.finish();
      rc = finish_stdout(command, rc);
      out.flush_warnings();
      if (said_shrunk_file(command)) rc = 3;
      out.note(fmt::format("{}: exit {} after {:.3f} s", command, rc,
                           std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()));
      return rc;
    } catch (const lstore::Error& e) {
      out.finish();  // what was printed stays one JSON document
      std::fflush(stdout);
      lstore::cli::print_error(command, e);
      if (!e.hint().empty()) std::fprintf(stderr, "hint: %s\n", lstore::redact_store_names_in(e.hint()).c_str());
      return said_shrunk_file(command) ? 3 : exit_code(e.kind());
    } catch (const std::bad_alloc&) {
      std::fprintf(stderr, "lstore: %s: out of memory\n", command.c_str());
      return 3;
    } catch (const std::exception& e) {
      std::fprintf(stderr, "lstore: %s: %s\n", command.c_str(), lstore::redact_store_names_in(e.what()).c_str());
      said_shrunk_file(command);  // the cause, when a file was cut short under the read
      return 3;
    }
  }
  return 2;
}
