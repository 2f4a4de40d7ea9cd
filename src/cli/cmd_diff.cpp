// lstore diff STORE_A STORE_B: what changed, part by part (spec/CLI.md).
#include <fmt/format.h>

#include <cstdlib>
#include <string_view>

#include "commands.hpp"
#include "streamed_reader.hpp"
#include "lstore/backend.hpp"
#include "lstore/diff.hpp"
#include "lstore/error.hpp"

namespace lstore::cli {
namespace {

struct DiffCli {
  std::string a, b;
  bool stat = false, text = false, all = false, brief = false, quiet = false;
  double tolerance = 0;
  std::vector<std::string> ignore;
  std::size_t max = 10;
};

Json changed_json(const ChangedEntry& c) {
  JsonArray fields;
  for (const auto& f : c.fields) fields.emplace_back(f);
  JsonObject o{{"id", c.id}, {"fields", std::move(fields)}};
  if (c.max_abs_diff) o.emplace_back("max_abs_diff", *c.max_abs_diff);
  if (c.cosine) o.emplace_back("cosine", *c.cosine);
  if (c.old_dim) o.emplace_back("old_dim", static_cast<std::int64_t>(*c.old_dim));
  if (c.new_dim) o.emplace_back("new_dim", static_cast<std::int64_t>(*c.new_dim));
  return Json(std::move(o));
}

const Schema kDiff{"diff", {{"equal"}, {"added"}, {"removed"}, {"changed"}, {"differences"}}};
// diff --brief: the answer only.
const Schema kDiffBrief{"diff_brief", {{"equal"}, {"a"}, {"b"}}};
// One difference: an id added, removed or changed in a part.
const Schema kDifference{"difference",
                         {{"part"}, {"change"}, {"id"}, {"fields"}, {"max_abs_diff"}, {"cosine"}, {"old_dim"}, {"new_dim"}}};

std::vector<Record> difference_records(const StoreDiff& d) {
  std::vector<Record> out;
  for (const auto& [part, p] : d.parts) {
    for (const auto& id : p.added) out.push_back({{"part", part}, {"change", "added"}, {"id", id}, {"fields", JsonArray{}}});
    for (const auto& id : p.removed) out.push_back({{"part", part}, {"change", "removed"}, {"id", id}, {"fields", JsonArray{}}});
    for (const auto& c : p.changed) {
      Record r{{"part", part}, {"change", "changed"}};
      Json fields = changed_json(c);  // kept alive: the loop below reads its members
      for (const auto& kv : fields.as_object()) r.push_back(kv);
      out.push_back(std::move(r));
    }
  }
  return out;
}

Record diff_record(const StoreDiff& d, const std::vector<Record>& differences) {
  JsonObject added, removed, changed;
  for (const auto& [part, p] : d.parts) {
    JsonArray c;
    for (const auto& e : p.changed) c.push_back(changed_json(e));
    added.emplace_back(part, string_list(p.added));
    removed.emplace_back(part, string_list(p.removed));
    changed.emplace_back(part, std::move(c));
  }
  JsonArray list;
  for (const Record& r : differences) list.emplace_back(r);
  return {{"equal", d.equal()}, {"added", std::move(added)}, {"removed", std::move(removed)},
          {"changed", std::move(changed)}, {"differences", std::move(list)}};
}

void print_text(Output& out, const StoreDiff& d, const DiffCli& o) {
  // Equal stores: one word, not a table of zeros (the JSON keeps its fields).
  if (d.equal()) {
    out.line("equal");
    return;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& [part, p] : d.parts)
    rows.push_back({part, fmt::format("+{}", p.added.size()), fmt::format("-{}", p.removed.size()),
                    fmt::format("~{}", p.changed.size())});
  out.table({"PART", "ADDED", "REMOVED", "CHANGED"}, rows);
  if (o.stat) return;
  auto list = [&](const char* sign, const std::vector<std::string>& ids) {
    std::size_t shown = o.all ? ids.size() : std::min(ids.size(), o.max);
    for (std::size_t i = 0; i < shown; ++i) out.line(out.safe(fmt::format("  {} {}", sign, ids[i])));
    if (shown < ids.size()) out.line(out.dim(fmt::format("  ... and {} more (--all)", ids.size() - shown)));
  };
  for (const auto& [part, p] : d.parts) {
    if (p.empty()) continue;
    out.line("");
    out.line(out.bold(part));
    list("+", p.added);
    list("-", p.removed);
    std::size_t shown = o.all ? p.changed.size() : std::min(p.changed.size(), o.max);
    for (std::size_t i = 0; i < shown; ++i) {
      const ChangedEntry& c = p.changed[i];
      std::string what;
      for (const auto& f : c.fields) what += (what.empty() ? "" : ", ") + f;
      if (c.max_abs_diff) what += fmt::format(" (max |diff| {:.3g}, cosine {:.6f})", *c.max_abs_diff, c.cosine.value_or(0));
      if (c.old_dim) what += fmt::format(" ({} -> {})", *c.old_dim, c.new_dim.value_or(0));
      out.line(out.safe(fmt::format("  ~ {}: {}", c.id, what)));
      if (o.text && !c.old_text.empty() + !c.new_text.empty())
        for (const auto& line : {unified_diff(c.old_text, c.new_text, "a/" + c.id, "b/" + c.id)}) out.line(out.safe(line));
    }
    if (shown < p.changed.size()) out.line(out.dim(fmt::format("  ... and {} more changed (--all)", p.changed.size() - shown)));
  }
}

// The two stores as diff_stores compares them. Read for their summary and
// narrowed (narrow_for_diff: a few words an entry, then only the entries
// that may differ), unless LSTORE_NO_STREAM=1; when the narrowed stores
// cannot give the answer the whole ones give (a duplicate key, an entry that
// does not decode, whose error names a place in the whole file), the
// stores are read whole, which answers or fails as it always has; the
// warnings of the first read are dropped, as the second says them again.
StoreDiff compared(Output& out, const DiffCli& o, const DiffOptions& options) {
  const char* off = std::getenv("LSTORE_NO_STREAM");
  if (!(off && *off && std::string_view(off) != "0")) {
    const std::size_t pending = out.pending_warnings();
    try {
      StreamedReader ra(open_backend(o.a), std::nullopt);
      Store a = load_store(out, ra);
      StreamedReader rb(open_backend(o.b), std::nullopt);
      Store b = load_store(out, rb);
      if (narrow_for_diff(a, b)) return diff_stores(a, b, options);
      if (out.verbose()) out.note("diff: a store cannot be narrowed exactly; comparing the stores read whole");
    } catch (const Error&) {
      if (out.verbose()) out.note("diff: the narrowed read failed; the stores read whole say why");
    } catch (const ParseError&) {
      if (out.verbose()) out.note("diff: the narrowed read failed; the stores read whole say why");
    }
    out.drop_pending_warnings(pending);
  }
  Store a = load_store(out, o.a);
  Store b = load_store(out, o.b);
  return diff_stores(a, b, options);
}

}  // namespace

CommandSpec add_diff(CLI::App& parent) {
  auto o = std::make_shared<DiffCli>();
  CLI::App* app = parent.add_subcommand("diff", "What changed between two stores, part by part");
  app->add_option("store_a", o->a, "The old store")->required();
  app->add_option("store_b", o->b, "The new store")->required();
  app->add_flag("-q,--quiet", o->quiet, "Print nothing: the exit status alone says whether they differ (1) or not (0)");
  app->add_flag("--brief", o->brief, "Only whether they differ, as GNU diff's --brief: one line when they do, nothing when not");
  app->add_flag("--stat", o->stat, "One line per part with counts");
  app->add_flag("--text", o->text, "A unified diff of the texts of changed nodes");
  app->add_flag("--all", o->all, "List every id, not the first few per group");
  app->add_option("--max", o->max, "Ids listed per group (default 10)")->check(count_validator());
  app->add_option("--tolerance", o->tolerance, "Embeddings within this absolute difference count as equal (default: exact)");
  app->add_option("--ignore", o->ignore, "A metadata key to ignore (repeatable), e.g. last_modified_date");
  return {app, [o](Output& out) {
            StoreDiff d = compared(out, *o, DiffOptions{o->tolerance, {o->ignore.begin(), o->ignore.end()}});
            // -q: the exit status only, as a scripted `if` wants it (cmp -s, git diff --quiet).
            if (o->quiet) return d.equal() ? 0 : 1;
            if (o->brief) {
              std::string a = redact_store_name(o->a), b = redact_store_name(o->b);
              out.object(kDiffBrief, {{"equal", d.equal()}, {"a", a}, {"b", b}}, [&] {
                if (!d.equal()) out.line(out.safe(fmt::format("{} and {} differ", a, b)));
              });
            } else {
              std::vector<Record> differences = difference_records(d);
              out.object(kDiff, diff_record(d, differences), [&] { print_text(out, d, *o); }, &kDifference, &differences);
            }
            return d.equal() ? 0 : 1;
          }};
}

}  // namespace lstore::cli
