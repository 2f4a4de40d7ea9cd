#include "write_report.hpp"

#include <fmt/format.h>

#include "lstore/backend.hpp"

namespace lstore::cli {
namespace {

Json ids_by_part(const std::map<std::string, std::vector<std::string>>& m) {
  JsonObject o;
  for (const auto& [part, ids] : m) {
    JsonArray a;
    for (const auto& id : ids) a.emplace_back(id);
    o.emplace_back(part, std::move(a));
  }
  return Json(std::move(o));
}

}  // namespace

const Schema kWriteReport{"write_report",
                          {{"store"}, {"dry_run"}, {"added"}, {"removed"}, {"changed"}, {"files"}}};
const Schema kChange{"change", {{"action"}, {"part"}, {"id"}}};

void print_write_report(Output& out, const Store& store, const std::string& location, bool dry_run,
                        const ChangeSet& changes, JsonObject extra, const std::function<void()>& human) {
  JsonArray files;
  for (const JsonDoc* d : store.documents()) {
    if (!d->changed()) continue;
    files.push_back(JsonObject{{"file", d->name()}, {"bytes_before", count(d->bytes().size())},
                               {"bytes_after", count(d->serialized_size())}});
  }
  Record report{{"store", redact_store_name(location)}, {"dry_run", dry_run}};
  for (auto& kv : extra) report.push_back(std::move(kv));
  report.emplace_back("added", ids_by_part(changes.added));
  report.emplace_back("removed", ids_by_part(changes.removed));
  report.emplace_back("changed", ids_by_part(changes.changed));
  report.emplace_back("files", std::move(files));
  std::vector<Record> rows;
  auto each = [&](const char* done, const char* planned, const std::map<std::string, std::vector<std::string>>& m) {
    for (const auto& [part, ids] : m)
      for (const auto& id : ids) rows.push_back({{"action", dry_run ? planned : done}, {"part", part}, {"id", id}});
  };
  each("added", "would add", changes.added);
  each("removed", "would remove", changes.removed);
  each("rewrote", "would rewrite", changes.changed);
  out.object(kWriteReport, report, human ? human : [&] { print_change_tables(out, store, dry_run, changes); }, &kChange,
             &rows);
}

void print_change_tables(Output& out, const Store& store, bool dry_run, const ChangeSet& changes) {
  std::vector<std::vector<std::string>> rows, file_rows;
  for (const JsonDoc* d : store.documents())
    if (d->changed()) file_rows.push_back({d->name(), fmt::format("{} -> {}", d->bytes().size(), plural(d->serialized_size(), "byte"))});
  auto add = [&](const char* done, const char* planned, const std::map<std::string, std::vector<std::string>>& m) {
    for (const auto& [part, ids] : m) rows.push_back({dry_run ? planned : done, part, std::to_string(ids.size())});
  };
  add("added", "would add", changes.added);
  add("removed", "would remove", changes.removed);
  add("rewrote", "would rewrite", changes.changed);
  if (rows.empty()) {
    out.line("nothing to change");
    return;
  }
  out.table({"ACTION", "PART", "ENTRIES"}, rows);
  if (dry_run) {
    out.line("");
    out.table({"FILE", "SIZE"}, file_rows);
  }
}

}  // namespace lstore::cli
