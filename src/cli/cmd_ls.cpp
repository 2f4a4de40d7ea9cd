// lstore ls STORE... [WHAT]: the summary, or one listing (spec/CLI.md), of each store.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "commands.hpp"
#include "suggest.hpp"
#include "lstore/backend.hpp"
#include "lstore/side_files.hpp"
#include "lstore/error.hpp"
#include "lstore/outline.hpp"
#include "lstore/summary.hpp"

namespace lstore::cli {
namespace {

struct LsOptions {
  std::vector<std::string> args;  // STORE... [WHAT]
};

Json summary_json(const Summary& s) {
  JsonObject doc{{"dialect", s.dialect}, {"era", s.era}};
  doc.emplace_back("docstore", JsonObject{{"nodes", static_cast<std::int64_t>(s.nodes)},
                                          {"ref_docs", static_cast<std::int64_t>(s.ref_docs)},
                                          {"metadata", static_cast<std::int64_t>(s.metadata)}});
  JsonArray indexes;
  for (const auto& i : s.indexes)
    indexes.push_back(JsonObject{{"id", i.id}, {"type", i.type}, {"nodes", static_cast<std::int64_t>(i.nodes)}});
  doc.emplace_back("indexes", std::move(indexes));
  JsonArray vectors;
  for (const auto& v : s.vector_stores) {
    JsonObject o{{"namespace", v.ns},
                 {"file", v.file},
                 {"vectors", static_cast<std::int64_t>(v.vectors)},
                 {"dim", v.dim ? Json(static_cast<std::int64_t>(*v.dim)) : Json()},
                 {"metadata", v.has_metadata}};
    if (!v.faiss_type.empty()) {  // a FaissVectorStore namespace
      o.emplace_back("faiss_type", v.faiss_type);
      o.emplace_back("metric", v.metric);
    }
    vectors.push_back(std::move(o));
  }
  doc.emplace_back("vector_stores", std::move(vectors));
  doc.emplace_back("graph", JsonObject{{"subjects", static_cast<std::int64_t>(s.graph.subjects)},
                                       {"triplets", static_cast<std::int64_t>(s.graph.triplets)}});
  if (s.property_graph)
    doc.emplace_back("property_graph",
                     JsonObject{{"nodes", static_cast<std::int64_t>(s.property_graph->nodes)},
                                {"relations", static_cast<std::int64_t>(s.property_graph->relations)},
                                {"triplets", static_cast<std::int64_t>(s.property_graph->triplets)}});
  else
    doc.emplace_back("property_graph", nullptr);
  JsonArray problems;
  for (const auto& p : s.problems)
    problems.push_back(JsonObject{{"rule", p.rule}, {"severity", severity_name(p.severity)}, {"file", p.file},
                                  {"path", p.path}, {"message", p.message}});
  doc.emplace_back("problems", std::move(problems));
  return Json(std::move(doc));
}

// Per chat key: messages and roles.
struct ChatKey {
  std::string file, key;
  std::size_t messages = 0;
  std::map<std::string, std::size_t> roles;
};

std::vector<ChatKey> chat_keys(const Store& store) {
  std::vector<ChatKey> out;
  for (const FileInfo* f : side_files(store, FileKind::ChatStore)) {
    ChatStore chat = read_chat_file(*f);
    for (const std::string& k : chat.keys()) {
      ChatKey c{f->name, k, 0, {}};
      for (const Json& m : *chat.messages(k)) {
        ++c.messages;
        const Json* role = m.find("role");
        ++c.roles[role && role->is_string() ? role->as_string() : "?"];
      }
      out.push_back(std::move(c));
    }
  }
  return out;
}

std::string roles_text(const std::map<std::string, std::size_t>& roles) {
  std::string out;
  for (const auto& [r, n] : roles) out += (out.empty() ? "" : ", ") + fmt::format("{} {}", r, n);
  return out;
}

bool chats_empty(const Json& side) { return side.find("chat_stores")->as_array().empty(); }

// Chat stores and KV files of the store, for the summary.
Json side_files_json(const Store& store) {
  JsonArray chats, kvs;
  for (const FileInfo* f : side_files(store, FileKind::ChatStore)) {
    ChatStore chat = read_chat_file(*f);
    std::int64_t messages = 0;
    for (const std::string& k : chat.keys()) messages += static_cast<std::int64_t>(chat.messages(k)->size());
    chats.push_back(JsonObject{{"file", f->name}, {"era", chat.era() == ChatStore::Era::V010 ? "0.10" : "0.12"},
                               {"keys", static_cast<std::int64_t>(chat.keys().size())}, {"messages", messages}});
  }
  for (const FileInfo* f : side_files(store, FileKind::KvStore)) {
    if (f->detail.find("IngestionPipeline") != std::string::npos) continue;
    JsonObject colls;
    for (const auto& [c, n] : kv_file_collections(*f)) colls.emplace_back(c, static_cast<std::int64_t>(n));
    kvs.push_back(JsonObject{{"file", f->name}, {"collections", Json(std::move(colls))}});
  }
  return Json(JsonObject{{"chat_stores", Json(std::move(chats))}, {"kv_files", Json(std::move(kvs))}});
}

void print_summary(Output& out, const Store& store, const Summary& s) {
  Json side = side_files_json(store);
  if (out.json()) {
    Json j = summary_json(s);
    for (const auto& [k, v] : side.as_object()) j.set(k, v);
    out.json_line(j);
    return;
  }
  out.field("store", fmt::format("{} ({} dialect, LlamaIndex {})", store.location,
                                 s.dialect == "ts" ? "TypeScript" : "Python", s.era));
  bool side_only = !store.docstore && !store.index_store && store.vector_stores.empty() &&
                   (!chats_empty(side) || !side.find("kv_files")->as_array().empty());
  if (store.docstore)
    out.field("docstore", fmt::format("{} nodes, {} ref docs, {} metadata entries", s.nodes, s.ref_docs, s.metadata));
  else if (!side_only)
    out.field("docstore", "none");
  if (s.indexes.empty() && !side_only) out.field("indexes", "none");
  for (std::size_t i = 0; i < s.indexes.size(); ++i)
    out.field(i ? "" : "indexes", fmt::format("{}  {}  {} nodes", s.indexes[i].id, s.indexes[i].type, s.indexes[i].nodes));
  if (s.vector_stores.empty() && !side_only) out.field("vectors", "none");
  for (std::size_t i = 0; i < s.vector_stores.size(); ++i) {
    const auto& v = s.vector_stores[i];
    std::string shape = v.vectors == 0 ? "empty" : fmt::format("{} x {}", v.vectors, v.dim ? std::to_string(*v.dim) : "?");
    if (!v.faiss_type.empty())  // FAISS: the dimension is the index's even when it is empty
      shape = fmt::format("{} x {}, FAISS {}, {}", v.vectors, v.dim ? std::to_string(*v.dim) : "?", v.faiss_type,
                          v.metric == "l2" ? "squared L2" : v.metric == "ip" ? "inner product" : "other metric");
    out.field(i ? "" : "vectors", fmt::format("{}  {}{}  ({})", v.ns, shape,
                                              v.vectors && v.has_metadata ? ", with metadata" : "", v.file));
  }
  if (store.graph_store) out.field("graph", fmt::format("{} subjects, {} triplets", s.graph.subjects, s.graph.triplets));
  if (s.property_graph)
    out.field("prop. graph", fmt::format("{} nodes, {} relations, {} triplets", s.property_graph->nodes,
                                         s.property_graph->relations, s.property_graph->triplets));
  const JsonArray& chats = side.find("chat_stores")->as_array();
  for (std::size_t i = 0; i < chats.size(); ++i) {
    const Json& c = chats[i];
    std::map<std::string, std::size_t> roles;
    for (const ChatKey& k : chat_keys(store))
      if (k.file == c.find("file")->as_string())
        for (const auto& [r, n] : k.roles) roles[r] += n;
    out.field(i ? "" : "chat", fmt::format("{} ({}): {} keys, {} messages ({})", c.find("file")->as_string(),
                                           c.find("era")->as_string(), c.find("keys")->as_int(),
                                           c.find("messages")->as_int(), roles_text(roles)));
  }
  const JsonArray& kvs = side.find("kv_files")->as_array();
  for (std::size_t i = 0; i < kvs.size(); ++i) {
    std::string colls;
    for (const auto& [c, n] : kvs[i].find("collections")->as_object())
      colls += (colls.empty() ? "" : ", ") + fmt::format("{} ({})", c, n.as_int());
    out.field(i ? "" : "kv files", fmt::format("{}: {}", kvs[i].find("file")->as_string(), colls));
  }
  for (std::size_t i = 0; i < s.problems.size(); ++i) {
    const auto& p = s.problems[i];
    out.field(i ? "" : "problems", out.severity(severity_name(p.severity)) + "  " + p.message + "  [" + p.rule + "]");
  }
}

void list_nodes(Output& out, const Store& store) {
  const Section* data = store.doc_collection(coll::kDocData);
  std::vector<std::vector<std::string>> rows;
  if (data) {
    for (const Entry& e : data->entries) {
      Node n = decode_node(*store.docstore, e);
      if (out.json()) {
        JsonObject o{{"id", e.key}, {"type", n.type_code}, {"class", n.class_name},
                     {"ref_doc_id", n.ref_doc_id ? Json(*n.ref_doc_id) : Json()},
                     {"hash", n.hash ? Json(*n.hash) : Json()}, {"text_chars", static_cast<std::int64_t>(n.text.size())}};
        out.json_line(Json(std::move(o)));
      } else {
        rows.push_back({std::string(e.key), n.class_name, n.ref_doc_id.value_or("-"), out.text_cell(n.text, 60)});
      }
    }
  }
  if (!out.json()) out.table({"ID", "CLASS", "REF DOC", "TEXT"}, rows);
}

void list_docs(Output& out, const Store& store) {
  const Section* info = store.doc_collection(coll::kRefDocInfo);
  std::vector<std::vector<std::string>> rows;
  if (info) {
    for (const Entry& e : info->entries) {
      Json v = store.docstore->decode(e.raw);
      const Json* ids = ref_doc_node_ids(v);
      JsonArray node_ids = ids && ids->is_array() ? ids->as_array() : JsonArray{};
      if (out.json()) {
        std::int64_t n = static_cast<std::int64_t>(node_ids.size());
        out.json_line(JsonObject{{"id", e.key}, {"nodes", n}, {"node_ids", std::move(node_ids)}});
      } else {
        rows.push_back({std::string(e.key), std::to_string(node_ids.size())});
      }
    }
  }
  if (!out.json()) out.table({"REF DOC", "NODES"}, rows);
}

void list_indexes(Output& out, const Store& store) {
  std::vector<std::vector<std::string>> rows;
  for (const IndexStruct& i : read_index_structs(store)) {
    std::size_t n = index_node_count(i);
    const Json* summary = i.data.find("summary");
    if (out.json())
      out.json_line(JsonObject{{"id", i.id}, {"type", i.type}, {"nodes", static_cast<std::int64_t>(n)},
                               {"summary", summary ? *summary : Json()}});
    else
      rows.push_back({i.id, i.type, std::to_string(n)});
  }
  if (!out.json()) out.table({"INDEX", "TYPE", "NODES"}, rows);
}

void list_vectors(Output& out, const Store& store) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& v : store.vector_stores) {
    VectorSections s = vector_sections(v.doc);
    if (!s.embeddings || !s.embeddings->outlined) continue;
    for (const Entry& e : s.embeddings->entries) {
      std::string ref = "-";
      if (s.ref_doc_ids)
        if (const Entry* r = s.ref_doc_ids->find(e.key)) {
          Json rv = v.doc.decode(r->raw);
          if (rv.is_string()) ref = rv.as_string();
        }
      // Counted by the outline while the file was scanned; touching the
      // embeddings again would read the whole vector file a second time.
      std::size_t dim = e.elements;
      if (dim == Member::kNotCounted) {  // not a flat list: count its top-level commas here
        std::size_t begin = static_cast<std::size_t>(e.raw.data() - v.doc.bytes().data());
        dim = count_array_elements(v.doc.bytes(), {begin, begin + e.raw.size()});
      }
      if (out.json())
        out.json_line(JsonObject{{"id", e.key}, {"namespace", v.ns}, {"dim", static_cast<std::int64_t>(dim)},
                                 {"ref_doc_id", ref == "-" ? Json() : Json(ref)},
                                 {"metadata", s.metadata && s.metadata->find(e.key) != nullptr}});
      else
        rows.push_back({v.ns, std::string(e.key), std::to_string(dim), ref});
    }
  }
  if (!out.json()) out.table({"NAMESPACE", "ID", "DIM", "REF DOC"}, rows);
}

void list_graph(Output& out, const Store& store) {
  std::vector<std::vector<std::string>> rows;
  auto emit = [&](const char* source, const std::string& s, const std::string& r, const std::string& o) {
    if (out.json())
      out.json_line(JsonObject{{"id", s + "|" + r + "|" + o}, {"store", source}, {"subject", s}, {"relation", r}, {"object", o}});
    else
      rows.push_back({source, s, r, o});
  };
  if (store.graph_store)
    if (const Section* gd = store.graph_store->section("graph_dict"); gd && gd->outlined)
      for (const Entry& e : gd->entries) {
        Json rels = store.graph_store->decode(e.raw);
        if (!rels.is_array()) continue;
        for (const Json& pair : rels.as_array())
          if (pair.is_array() && pair.as_array().size() == 2 && pair.as_array()[0].is_string() &&
              pair.as_array()[1].is_string())
            emit("graph", std::string(e.key), pair.as_array()[0].as_string(), pair.as_array()[1].as_string());
      }
  if (store.property_graph)
    if (const Section* t = store.property_graph->section("triplets"); t && t->outlined)
      for (const Entry& e : t->entries) {
        Json tr = store.property_graph->decode(e.raw);
        if (tr.is_array() && tr.as_array().size() == 3) {
          const auto& a = tr.as_array();
          if (a[0].is_string() && a[1].is_string() && a[2].is_string())
            emit("property_graph", a[0].as_string(), a[1].as_string(), a[2].as_string());
        }
      }
  if (!out.json()) out.table({"STORE", "SUBJECT", "RELATION", "OBJECT"}, rows);
}

void list_collections(Output& out, const Store& store) {
  std::vector<std::vector<std::string>> rows;
  auto emit_doc = [&](const JsonDoc& d) {
    for (const Section& s : d.sections()) {
      std::int64_t n = s.outlined ? static_cast<std::int64_t>(s.entries.size()) : -1;
      if (out.json())
        out.json_line(JsonObject{{"id", s.name}, {"file", d.name()}, {"entries", n >= 0 ? Json(n) : Json()}});
      else
        rows.push_back({d.name(), s.name, n >= 0 ? std::to_string(n) : "-"});
    }
  };
  for (const JsonDoc* d : store.documents()) emit_doc(*d);
  for (const FileInfo* f : side_files(store, FileKind::KvStore))
    for (const auto& [c, n] : kv_file_collections(*f)) {
      if (out.json()) out.json_line(JsonObject{{"id", c}, {"file", f->name}, {"entries", static_cast<std::int64_t>(n)}});
      else rows.push_back({f->name, c, std::to_string(n)});
    }
  if (!out.json()) out.table({"FILE", "COLLECTION", "ENTRIES"}, rows);
}

void list_chat(Output& out, const Store& store) {
  std::vector<std::vector<std::string>> rows;
  for (const ChatKey& k : chat_keys(store)) {
    if (out.json()) {
      JsonObject roles;
      for (const auto& [r, n] : k.roles) roles.emplace_back(r, static_cast<std::int64_t>(n));
      out.json_line(JsonObject{{"id", k.key}, {"file", k.file}, {"messages", static_cast<std::int64_t>(k.messages)},
                               {"roles", Json(std::move(roles))}});
    } else {
      rows.push_back({k.key, std::to_string(k.messages), roles_text(k.roles), k.file});
    }
  }
  if (!out.json()) out.table({"KEY", "MESSAGES", "ROLES", "FILE"}, rows);
}

void list_files(Output& out, const Store& store) {
  std::vector<std::vector<std::string>> rows;
  for (const FileInfo& f : store.files) {
    if (out.json())
      out.json_line(JsonObject{{"id", f.name}, {"kind", file_kind_name(f.kind)},
                               {"bytes", static_cast<std::int64_t>(f.size)}, {"detail", f.detail}});
    else
      rows.push_back({f.name, file_kind_name(f.kind), human_bytes(f.size), f.detail});
  }
  if (!out.json()) out.table({"FILE", "KIND", "SIZE", "DETAIL"}, rows);
}

void list(Output& out, const Store& store, const std::string& w) {
  if (w.empty()) print_summary(out, store, summarize(store));
  else if (w == "nodes") list_nodes(out, store);
  else if (w == "docs") list_docs(out, store);
  else if (w == "indexes") list_indexes(out, store);
  else if (w == "vectors") list_vectors(out, store);
  else if (w == "graph") list_graph(out, store);
  else if (w == "collections") list_collections(out, store);
  else if (w == "chat") list_chat(out, store);
  else if (w == "files") list_files(out, store);
}

}  // namespace

CommandSpec add_ls(CLI::App& parent) {
  auto opts = std::make_shared<LsOptions>();
  CLI::App* app = parent.add_subcommand("ls", "Summarise a store, or list its nodes, docs, indexes, vectors, graph, collections, chat keys or files");
  app->add_option("args", opts->args,
                  "STORE... [WHAT]: one or more stores (a persist directory, sqlite:FILE, redis://, postgresql://), "
                  "then what to list: nodes, docs, indexes, vectors, graph, collections, chat, files "
                  "(no STORE: ./storage, LlamaIndex's default persist dir)");
  return {app, [opts](Output& out) {
            // The last word is WHAT when it names a listing (./nodes is a store named "nodes").
            std::vector<std::string> stores = opts->args;
            // No store named, or only WHAT: LlamaIndex's default persist dir.
            bool only_what = stores.size() == 1 && std::find(kLsWhat.begin(), kLsWhat.end(), stores[0]) != kLsWhat.end() &&
                             !std::filesystem::exists(stores[0]);
            if (stores.empty() || only_what) {
              std::error_code ec;
              if (!std::filesystem::is_directory("storage", ec))
                throw Error(ErrorKind::Usage, "", "no store given, and no ./storage (LlamaIndex's default persist dir) here");
              stores.insert(stores.begin(), "storage");
            }
            std::string w;
            if (stores.size() > 1 && std::find(kLsWhat.begin(), kLsWhat.end(), stores.back()) != kLsWhat.end()) {
              w = stores.back();
              stores.pop_back();
            }
            // A last word that is no store but nearly a WHAT is a typo of one.
            if (w.empty() && stores.size() > 1) {
              const std::string& last = stores.back();
              std::error_code ec;
              std::string hint = did_you_mean(last, kLsWhat);
              if (!hint.empty() && last.find(':') == std::string::npos && !std::filesystem::exists(last, ec))
                throw Error(ErrorKind::Usage, "", fmt::format("'{}' is neither a store nor one of {}", last, fmt::join(kLsWhat, ", ")),
                            "", fmt::format("did you mean '{}'?", hint));
            }
            const bool several = stores.size() > 1;
            int rc = 0;
            for (std::size_t i = 0; i < stores.size(); ++i) {
              // Several stores: each is listed in turn (a blank line between
              // tables; in JSON every record names its "location"). One that
              // cannot be read is its error line; the others are still listed.
              if (several) out.tag_records(std::make_pair(std::string("location"), redact_store_name(stores[i])));
              try {
                Store store = load_store(out, stores[i]);
                if (several && i > 0 && !out.json() && !out.delimited()) out.line("");
                if (several && !w.empty() && !out.json() && !out.delimited()) out.line(out.bold("==> " + redact_store_name(stores[i]) + " <=="));
                list(out, store, w);
              } catch (const Error& e) {
                if (!several || e.kind() == ErrorKind::Usage) throw;
                std::fflush(stdout);
                print_error("ls", e);
                rc = 3;
              }
            }
            out.tag_records(std::nullopt);
            return rc;
          }};
}

}  // namespace lstore::cli
