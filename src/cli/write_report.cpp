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

void print_write_report(Output& out, const Store& store, const std::string& location, bool dry_run,
                        const ChangeSet& changes, JsonObject extra) {
  JsonArray files;
  std::vector<std::vector<std::string>> file_rows;
  for (const JsonDoc* d : store.documents()) {
    if (!d->changed()) continue;
    std::uint64_t after = d->serialized_size();
    files.push_back(JsonObject{{"file", d->name()}, {"bytes_before", static_cast<std::int64_t>(d->bytes().size())},
                               {"bytes_after", static_cast<std::int64_t>(after)}});
    file_rows.push_back({d->name(), fmt::format("{} -> {} bytes", d->bytes().size(), after)});
  }
  if (out.json()) {
    JsonObject o{{"store", redact_store_name(location)}, {"dry_run", dry_run}};
    for (auto& kv : extra) o.push_back(std::move(kv));
    o.emplace_back("added", ids_by_part(changes.added));
    o.emplace_back("removed", ids_by_part(changes.removed));
    o.emplace_back("changed", ids_by_part(changes.changed));
    o.emplace_back("files", std::move(files));
    out.json_line(Json(std::move(o)));
    return;
  }
  std::vector<std::vector<std::string>> rows;
  if (out.delimited()) {  // one record per id (file sizes are in --json)
    auto each = [&](const char* done, const char* planned, const std::map<std::string, std::vector<std::string>>& m) {
      for (const auto& [part, ids] : m)
        for (const auto& id : ids) rows.push_back({dry_run ? planned : done, part, id});
    };
    each("added", "would add", changes.added);
    each("removed", "would remove", changes.removed);
    each("rewrote", "would rewrite", changes.changed);
    out.table({"ACTION", "PART", "ID"}, rows);
    return;
  }
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
