// lstore delete STORE --ref-doc ID... | --node ID...: LlamaIndex's deletes,
// locked, all or nothing (spec/CLI.md).
#include <filesystem>

#include <fmt/format.h>

#include "commands.hpp"
#include "lstore/backend.hpp"
#include "lstore/edit.hpp"
#include "lstore/error.hpp"
#include "lstore/fileio.hpp"

namespace lstore::cli {
namespace {

struct DeleteOptions {
  std::string store;
  std::vector<std::string> ref_docs;
  std::vector<std::string> nodes;
  bool dry_run = false;
  std::string backup;
  double wait = 0;
};

Json changes_json(const std::map<std::string, std::vector<std::string>>& m) {
  JsonObject o;
  for (const auto& [k, ids] : m) {
    JsonArray a;
    for (const auto& id : ids) a.emplace_back(id);
    o.emplace_back(k, std::move(a));
  }
  return Json(std::move(o));
}

void print_changes(Output& out, const DeleteOptions& o, const ChangeSet& c) {
  if (out.json()) {
    JsonArray refs, nodes;
    for (const auto& r : o.ref_docs) refs.emplace_back(r);
    for (const auto& n : o.nodes) nodes.emplace_back(n);
    out.json_line(JsonObject{{"store", o.store},           {"dry_run", o.dry_run},
                             {"ref_docs", std::move(refs)}, {"nodes", std::move(nodes)},
                             {"removed", changes_json(c.removed)}, {"changed", changes_json(c.changed)}});
    return;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& [p, ids] : c.removed) rows.push_back({o.dry_run ? "would remove" : "removed", p, std::to_string(ids.size())});
  for (const auto& [p, ids] : c.changed) rows.push_back({o.dry_run ? "would rewrite" : "rewrote", p, std::to_string(ids.size())});
  out.table({"ACTION", "PART", "ENTRIES"}, rows);
}

// --backup DIR: the store's files as they were, written (atomically) before the change.
void write_backup(const std::string& store, const std::string& dir) {
  namespace fs = std::filesystem;
  StagedDirectory staged(fs::absolute(dir).lexically_normal());
  for (const auto& e : fs::recursive_directory_iterator(store)) {
    if (!e.is_regular_file()) continue;
    auto bytes = Buffer::map_file(e.path().string());
    staged.write_with(e.path().lexically_relative(store).string(), [&](FileSink& s) { s.copy(*bytes, bytes->view()); });
  }
  staged.commit();
}

}  // namespace

CommandSpec add_delete(CLI::App& parent) {
  auto o = std::make_shared<DeleteOptions>();
  CLI::App* app = parent.add_subcommand("delete", "Delete documents or nodes the way LlamaIndex does, across every index and vector namespace");
  app->add_option("store", o->store, "The store: a persist directory")->required();
  auto* ref = app->add_option("--ref-doc", o->ref_docs, "Source document ids: index.delete_ref_doc(ID, delete_from_docstore=True)");
  auto* node = app->add_option("--node", o->nodes, "Node ids: docstore.delete_document(ID), plus index structs and vectors");
  ref->excludes(node);
  app->add_flag("--dry-run", o->dry_run, "Print what would change and change nothing");
  app->add_option("--backup", o->backup, "Keep a copy of the store as it was in this directory");
  app->add_option("--wait", o->wait, "Seconds to wait for another writer's lock (default 0: fail at once)");
  return {app, [o](Output& out) {
            if (o->ref_docs.empty() && o->nodes.empty())
              throw Error(ErrorKind::Usage, "delete", "nothing to delete: give --ref-doc ID... or --node ID...");
            std::optional<StoreLock> lock;
            if (!o->dry_run)
              lock.emplace(o->store, std::chrono::milliseconds(static_cast<long long>(o->wait * 1000)));
            auto backend = open_backend(o->store);
            Store store = backend->load();
            ChangeSet changes = o->ref_docs.empty() ? delete_nodes(store, o->nodes) : delete_ref_docs(store, o->ref_docs);
            if (!o->dry_run && !changes.empty()) {
              if (!o->backup.empty()) write_backup(o->store, o->backup);
              backend->save(store, SaveOptions{true});
            }
            print_changes(out, *o, changes);
            return 0;
          }};
}

}  // namespace lstore::cli
