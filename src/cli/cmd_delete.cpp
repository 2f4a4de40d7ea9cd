// lstore delete STORE --ref-doc ID... | --node ID...: LlamaIndex's deletes,
// locked, all or nothing (spec/CLI.md).
#include <fmt/format.h>

#include <algorithm>

#include <optional>

#include "commands.hpp"
#include "progress_bar.hpp"
#include "write_guard.hpp"
#include "write_timing.hpp"
#include "lstore/backend.hpp"
#include "lstore/edit.hpp"
#include "lstore/error.hpp"
#include "core/fileio.hpp"
#include "lstore/query.hpp"
#include "write_report.hpp"

namespace lstore::cli {
namespace {

struct DeleteOptions {
  std::string store;
  std::vector<std::string> ref_docs;
  std::vector<std::string> nodes;
  std::vector<std::string> where;
  bool any = false;
  std::string chat, chat_file;  // chat store key
  std::optional<long long> message;
  bool last = false;
  std::string collection, key;  // a raw KV entry
  bool dry_run = false;
  std::string backup;
  double wait = 0;
};

// --where: the ref docs whose ref_doc_info metadata passes the filters (the
// metadata LlamaIndex keeps for the document), added to `ids`.
void select_ref_docs(const Store& store, const MetadataFilters& filters, std::vector<std::string>& ids) {
  const Section* info = store.doc_collection(coll::kRefDocInfo);
  std::size_t before = ids.size();
  if (info)
    for (const Entry& e : info->entries) {
      Json v = store.docstore->decode(e.raw);
      const Json* md = v.find("metadata");
      if (!md) md = v.find("extraInfo");
      if (!md) md = v.find("extra_info");
      if (metadata_matches(filters, md && md->is_object() ? *md : Json(JsonObject{}), filter_semantics_for_era(store.era)) &&
          std::find(ids.begin(), ids.end(), e.key) == ids.end())
        ids.emplace_back(e.key);
    }
  if (ids.size() == before && before == 0)
    throw Error(ErrorKind::NotFound, store.location, "no ref doc matches --where");
}

}  // namespace

CommandSpec add_delete(CLI::App& parent) {
  auto o = std::make_shared<DeleteOptions>();
  CLI::App* app = parent.add_subcommand("delete", "Delete documents or nodes the way LlamaIndex does, across every index and vector namespace");
  app->add_option("store", o->store, "The store: a persist directory")->required();
  auto* ref = app->add_option("--ref-doc", o->ref_docs, "Source document ids: index.delete_ref_doc(ID, delete_from_docstore=True)");
  auto* node = app->add_option("--node", o->nodes, "Node ids: docstore.delete_document(ID), plus index structs and vectors");
  auto* where = app->add_option("--where", o->where, "Select ref docs by metadata: 'KEY OP VALUE' (repeatable; as in lstore query)");
  app->add_flag("--or", o->any, "--where expressions combined with OR instead of AND");
  ref->excludes(node);
  where->excludes(node);
  auto* chat = app->add_option("--chat", o->chat, "Chat store: delete this key (delete_messages), or one of its messages");
  auto* msg = app->add_option("--message", o->message, "Chat store: delete the key's message at this position (delete_message)");
  auto* last = app->add_flag("--last", o->last, "Chat store: delete the key's last message (delete_last_message)");
  app->add_option("--chat-file", o->chat_file, "Chat store: which chat store file, when the store has several");
  auto* coll = app->add_option("--collection", o->collection, "Raw KV entry: its collection (with --key)");
  auto* key = app->add_option("--key", o->key, "Raw KV entry: its key");
  coll->needs(key);
  key->needs(coll);
  msg->needs(chat);
  last->needs(chat);
  msg->excludes(last);
  for (auto* x : {ref, node, where}) {
    chat->excludes(x);
    coll->excludes(x);
  }
  chat->excludes(coll);
  app->add_flag("--dry-run", o->dry_run, "Print what would change and change nothing");
  app->add_option("--backup", o->backup, "Keep a copy of the store as it was (a directory, or any store name)");
  add_wait_option(app, o->wait, "Seconds to wait for another writer's lock (default 0: fail at once)");
  return {app, [o](Output& out) {
            if (o->ref_docs.empty() && o->nodes.empty() && o->where.empty() && o->chat.empty() && o->collection.empty())
              throw Error(ErrorKind::Usage, "",
                          "nothing to delete: give --ref-doc ID..., --node ID..., --where EXPR, --chat KEY or --collection C --key K");
            MetadataFilters filters;
            for (const std::string& w : o->where) filters.filters.push_back({parse_filter_expression(w), nullptr});
            filters.condition = o->any ? FilterCondition::Or : FilterCondition::And;
            auto backend = open_backend(o->store);
            std::optional<ProgressBar> bar;
            auto load = [&](Backend& b) {
              Store store = load_store(out, b);
              if (!o->where.empty()) select_ref_docs(store, filters, o->ref_docs);
              return store;
            };
            auto edit = [&](Store& store) {
              return !o->chat.empty()       ? delete_chat(store, o->chat, o->message, o->last, o->chat_file)
                     : !o->collection.empty() ? delete_raw(store, o->collection, o->key)
                     : o->ref_docs.empty()    ? delete_nodes(store, o->nodes)
                                              : delete_ref_docs(store, o->ref_docs);
            };
            EditOptions options = edit_options(out, {o->dry_run, o->backup, o->wait}, load, bar, "delete");
            WriteTiming timing;
            timing.watch(options);
            EditedStore done = edit_store(o->store, *backend, edit, options);
            if (bar) bar->finish();
            timing.note(out, "delete");
            const Store& store = done.store;
            const ChangeSet& changes = done.changes;
            JsonArray refs, nodes;
            for (const auto& r : o->ref_docs) refs.emplace_back(r);
            for (const auto& n : o->nodes) nodes.emplace_back(n);
            print_write_report(out, store, o->store, o->dry_run, changes,
                               JsonObject{{"ref_docs", std::move(refs)}, {"nodes", std::move(nodes)}});
            return 0;
          }};
}

}  // namespace lstore::cli
