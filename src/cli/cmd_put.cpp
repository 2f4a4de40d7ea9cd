// lstore put STORE [FILE]: add or replace nodes (or raw KV entries) the way
// LlamaIndex's insert writes them; locked, all or nothing (spec/CLI.md).
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>

#include <fmt/format.h>

#include "commands.hpp"
#include "progress_bar.hpp"
#include "write_guard.hpp"
#include "write_timing.hpp"
#include "lstore/backend.hpp"
#include "lstore/edit.hpp"
#include "lstore/error.hpp"
#include "core/fileio.hpp"
#include "write_report.hpp"

namespace lstore::cli {
namespace {

struct PutCliOptions {
  std::string store;
  std::string input = "-";
  std::string index;
  std::string ns = "default";
  std::string collection, key, value;
  std::string chat, chat_file;       // chat store: the key, and which file
  std::vector<std::string> messages;
  std::optional<long long> at;
  bool replace = false;
  bool dry_run = false;
  std::string backup;
  double wait = 0;
};

// One JSON value (an object or an array of them), or NDJSON.
std::vector<Json> read_records(const std::string& name) {
  std::string text = read_input(name, "records");
  try {
    Json v = parse(text);
    if (v.is_array()) return v.as_array();
    return {v};
  } catch (const ParseError&) {
  }
  std::vector<Json> out;
  std::size_t line_no = 0, pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + pos, end - pos);
    ++line_no;
    pos = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    try {
      out.push_back(parse(line));
    } catch (const ParseError& e) {
      throw Error(ErrorKind::Data, name == "-" ? "stdin" : name, e.what(),
                  fmt::format("line {}, column {}", line_no, e.offset() + 1));
    }
  }
  return out;
}

}  // namespace

CommandSpec add_put(CLI::App& parent) {
  auto o = std::make_shared<PutCliOptions>();
  CLI::App* app = parent.add_subcommand("put", "Add or replace nodes (or raw KV entries) as LlamaIndex's insert writes them");
  app->add_option("store", o->store, "The store: a persist directory")->required();
  app->add_option("input", o->input, "Nodes as JSON or NDJSON (default '-': stdin)");
  app->add_option("--index", o->index, "The index the nodes join (default: the only vector index)");
  app->add_option("--namespace", o->ns, "The vector namespace for their embeddings (default 'default')");
  auto* c = app->add_option("--collection", o->collection, "Raw entry: the KV collection (e.g. docstore/metadata)");
  auto* k = app->add_option("--key", o->key, "Raw entry: the key");
  auto* v = app->add_option("--value", o->value, "Raw entry: the value, a JSON object");
  c->needs(k)->needs(v);
  k->needs(c);
  v->needs(c);
  auto* chat = app->add_option("--chat", o->chat, "Chat store: the key whose messages change (add_message / set_messages)");
  auto* msg = app->add_option("--message", o->messages,
                              "Chat store: a message, JSON {\"role\", \"content\"} or {\"role\", \"blocks\"} (repeatable)");
  app->add_option("--at", o->at, "Chat store: insert the messages from this position (as Python's list.insert)");
  app->add_flag("--replace", o->replace, "Chat store: replace the key's messages (set_messages)");
  app->add_option("--chat-file", o->chat_file, "Chat store: which chat store file, when the store has several");
  chat->needs(msg);
  msg->needs(chat);
  chat->excludes(c);
  app->add_flag("--dry-run", o->dry_run, "Print what would change and change nothing");
  app->add_option("--backup", o->backup, "Keep a copy of the store as it was (a directory, or any store name)");
  add_wait_option(app, o->wait, "Seconds to wait for another writer's lock (default 0: fail at once)");
  return {app, [o](Output& out) {
            std::optional<Json> raw_value;
            std::vector<Json> records;
            std::vector<Json> messages;
            for (const std::string& m : o->messages) {
              try {
                messages.push_back(parse(m));
              } catch (const ParseError& e) {
                throw Error(ErrorKind::Usage, "--message", std::string("not JSON: ") + e.what(),
                            fmt::format("column {}", e.offset() + 1));
              }
            }
            if (!o->chat.empty()) {
            } else if (!o->collection.empty()) {
              try {
                raw_value = parse(o->value);
              } catch (const ParseError& e) {
                throw Error(ErrorKind::Usage, "--value", std::string("not JSON: ") + e.what(),
                            fmt::format("column {}", e.offset() + 1));
              }
            } else {
              records = read_records(o->input);
              if (records.empty()) throw Error(ErrorKind::Usage, input_name(o->input), "no records to put");
            }
            auto backend = open_backend(o->store);
            std::optional<ProgressBar> bar;
            auto load = [&](Backend& b) { return load_store(out, b, false, true); };
            auto edit = [&](Store& store) {
              try {
                return !o->chat.empty() ? put_chat(store, o->chat, messages, o->at, o->replace, o->chat_file)
                       : raw_value        ? put_raw(store, o->collection, o->key, *raw_value)
                                          : put_records(store, records, PutOptions{o->index, o->ns});
              } catch (const Error& e) {
                // The library names a bad record "input": say which input it is.
                if (e.where() != "input") throw;
                throw Error(e.kind(), input_name(o->input), e.what(), e.place(), e.hint());
              }
            };
            EditOptions options = edit_options(out, {o->dry_run, o->backup, o->wait}, load, bar, "put");
            WriteTiming timing;
            timing.watch(options);
            EditedStore done = edit_store(o->store, *backend, edit, options);
            if (bar) bar->finish();
            timing.note(out, "put");
            const Store& store = done.store;
            const ChangeSet& changes = done.changes;
            print_write_report(out, store, o->store, o->dry_run, changes);
            return 0;
          }};
}

}  // namespace lstore::cli
