// lstore repair STORE [--dry-run] [--only RULE...] [--backup DIR]: fixes what
// validate finds and can fix safely (spec/CLI.md), written as lstore delete
// writes: locked, all or nothing, unchanged entries byte for byte.
#include <fmt/format.h>

#include "commands.hpp"
#include "progress_bar.hpp"
#include "write_guard.hpp"
#include "write_report.hpp"
#include "lstore/backend.hpp"
#include "ops/diagnose.hpp"
#include "lstore/error.hpp"
#include "lstore/repair.hpp"

namespace lstore::cli {
namespace {

struct RepairCli {
  std::string store;
  std::vector<std::string> only;
  bool dry_run = false;
  std::string backup;
  double wait = 0;
};

constexpr std::size_t kIdsShown = 5;  // a plan names a few ids per rule; --json names all

// "remove" -> "removed" / "would remove".
std::string said(const RepairStep& s, bool dry_run) {
  if (s.verb.empty()) return s.action;
  return (dry_run ? "would " + s.verb : s.verb + (s.verb.back() == 'e' ? "d" : "ed")) + " " + s.action;
}

Json step_json(const RepairStep& s, bool dry_run) {
  JsonArray ids;
  for (const auto& id : s.ids) ids.emplace_back(id);
  return JsonObject{{"rule", s.rule},          {"action", said(s, dry_run)},
                    {"count", static_cast<std::int64_t>(s.count)}, {"ids", std::move(ids)},
                    {"left", static_cast<std::int64_t>(s.left)},   {"left_why", s.left_why}};
}

void print_steps(Output& out, const RepairResult& r, bool dry_run) {
  for (const RepairStep& s : r.steps) {
    std::string ids;
    for (std::size_t i = 0; i < s.ids.size() && i < kIdsShown; ++i) ids += (i ? ", " : ": ") + s.ids[i];
    if (s.ids.size() > kIdsShown) ids += fmt::format(" (and {} more; --json lists all)", s.ids.size() - kIdsShown);
    out.line(out.safe(fmt::format("{}: {}{}", s.rule, said(s, dry_run), ids)));
    if (s.left) out.line(out.safe(fmt::format("  {} left: {}", plural(s.left, "finding"), s.left_why)));
  }
}

}  // namespace

CommandSpec add_repair(CLI::App& parent) {
  auto o = std::make_shared<RepairCli>();
  CLI::App* app = parent.add_subcommand("repair", "Fix what validate finds and can fix safely (its fixable findings)");
  app->add_option("store", o->store, "The store: a persist directory or any store name")->required();
  app->add_option("--only", o->only, "Only these repairs, by validate rule id (repeatable)");
  app->add_flag("--dry-run", o->dry_run, "Print the plan and change nothing");
  app->add_option("--backup", o->backup, "Keep a copy of the store as it was (a directory, or any store name)");
  add_wait_option(app, o->wait, "Seconds to wait for another writer's lock (default 0: fail at once)");
  return {app, [o](Output& out) {
            auto backend = open_backend(o->store);
            std::optional<ProgressBar> bar;
            auto load = [&](Backend& b) {
              // Tolerant: a store file json.load refuses is what parse-error's salvage repairs.
              Store store = load_store(out, b, true);
              std::string found;
              if (!holds_llamaindex_files(store, &found))
                throw Error(ErrorKind::Data, b.describe(), "not a LlamaIndex store (" + found + ")");
              return store;
            };
            RepairResult result;
            auto edit = [&](Store& store) {
              result = repair(store, RepairOptions{{o->only.begin(), o->only.end()}});
              return result.changes;
            };
            EditedStore done = edit_store(o->store, *backend, edit,
                                          edit_options(out, {o->dry_run, o->backup, o->wait}, load, bar, "repair"));
            if (bar) bar->finish();
            const Store& store = done.store;
            std::size_t left = 0;
            for (const RepairStep& s : result.steps) left += s.left;
            JsonArray steps;
            for (const RepairStep& s : result.steps) steps.push_back(step_json(s, o->dry_run));
            print_write_report(out, store, o->store, o->dry_run, result.changes,
                               JsonObject{{"repairs", std::move(steps)}, {"left", count(left)}}, [&] {
                                 if (result.empty()) {
                                   out.line("nothing to repair");
                                   return;
                                 }
                                 print_steps(out, result, o->dry_run);
                                 // The files rewritten (a rename alone rewrites none: its line says it).
                                 bool rewritten = false;
                                 for (const JsonDoc* d : store.documents()) rewritten |= d->changed();
                                 if (rewritten) {
                                   out.line("");
                                   print_change_tables(out, store, o->dry_run, result.changes);
                                 }
                               });
            return left ? 1 : 0;  // findings a repair could not fix are findings (exit 1)
          }};
}

}  // namespace lstore::cli
