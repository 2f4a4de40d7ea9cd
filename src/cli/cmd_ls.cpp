// lstore ls STORE... [WHAT]: the summary, or one listing (spec/CLI.md), of each store.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "commands.hpp"
#include "streamed_reader.hpp"
#include "suggest.hpp"
#include "lstore/backend.hpp"
#include "lstore/side_files.hpp"
#include "lstore/error.hpp"
#include "core/outline.hpp"
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

const Schema kSummary{"summary",
                      {{"dialect"}, {"era"}, {"docstore"}, {"indexes"}, {"vector_stores"}, {"graph"}, {"property_graph"},
                       {"problems"}, {"chat_stores"}, {"kv_files"}}};

void print_human_summary(Output& out, const Store& store, const Summary& s, const Json& side);

void print_summary(Output& out, const Store& store, const Summary& s) {
  Json side = side_files_json(store);
  Json j = summary_json(s);
  for (const auto& [k, v] : side.as_object()) j.set(k, v);
  out.object(kSummary, j.as_object(), [&] { print_human_summary(out, store, s, side); });
}

void print_human_summary(Output& out, const Store& store, const Summary& s, const Json& side) {
  out.field("store", fmt::format("{} ({} dialect, LlamaIndex {})", store.location,
                                 s.dialect == "ts" ? "TypeScript" : "Python", s.era));
  bool side_only = !store.docstore && !store.index_store && store.vector_stores.empty() &&
                   (!chats_empty(side) || !side.find("kv_files")->as_array().empty());
  if (store.docstore)
    out.field("docstore", fmt::format("{}, {}, {}", plural(s.nodes, "node"), plural(s.ref_docs, "ref doc"),
                                      plural(s.metadata, "metadata entry", "metadata entries")));
  else if (!side_only)
    out.field("docstore", "none");
  if (s.indexes.empty() && !side_only) out.field("indexes", "none");
  for (std::size_t i = 0; i < s.indexes.size(); ++i)
    out.field(i ? "" : "indexes", fmt::format("{}  {}  {}", s.indexes[i].id, s.indexes[i].type, plural(s.indexes[i].nodes, "node")));
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
  if (store.graph_store) out.field("graph", fmt::format("{}, {}", plural(s.graph.subjects, "subject"), plural(s.graph.triplets, "triplet")));
  if (s.property_graph)
    out.field("prop. graph", fmt::format("{}, {}, {}", plural(s.property_graph->nodes, "node"),
                                         plural(s.property_graph->relations, "relation"),
                                         plural(s.property_graph->triplets, "triplet")));
  const JsonArray& chats = side.find("chat_stores")->as_array();
  for (std::size_t i = 0; i < chats.size(); ++i) {
    const Json& c = chats[i];
    std::map<std::string, std::size_t> roles;
    for (const ChatKey& k : chat_keys(store))
      if (k.file == c.find("file")->as_string())
        for (const auto& [r, n] : k.roles) roles[r] += n;
    out.field(i ? "" : "chat", fmt::format("{} ({}): {}, {} ({})", c.find("file")->as_string(),
                                           c.find("era")->as_string(), plural(c.find("keys")->as_int(), "key"),
                                           plural(c.find("messages")->as_int(), "message"), roles_text(roles)));
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
    out.field(i ? "" : "problems", out.severity(severity_name(p.severity)) + "  " + out.safe(p.message + "  [" + p.rule + "]"),
              true);
  }
}

const Schema kNode{"node",
                   {{"id", "ID"},
                    {"type"},
                    {"class", "CLASS"},
                    {"ref_doc_id", "REF DOC"},
                    {"hash"},
                    {"text_chars"},
                    {"text", "TEXT", {}, 60}}};

void list_nodes(Output& out, const Store& store) {
  const Section* data = store.doc_collection(coll::kDocData);
  std::vector<Record> records;
  if (data)
    for (const Entry& e : data->entries) {
      Node n = decode_node(*store.docstore, e);
      records.push_back({{"id", e.key}, {"type", n.type_code}, {"class", n.class_name},
                         {"ref_doc_id", n.ref_doc_id ? Json(*n.ref_doc_id) : Json()},
                         {"hash", n.hash ? Json(*n.hash) : Json()}, {"text_chars", count(n.text.size())},
                         {"text", n.text}});
    }
  out.listing(kNode, records);
}

const Schema kRefDoc{"ref_doc", {{"id", "REF DOC"}, {"nodes", "NODES"}, {"node_ids"}}};

void list_docs(Output& out, const Store& store) {
  const Section* info = store.doc_collection(coll::kRefDocInfo);
  std::vector<Record> records;
  if (info)
    for (const Entry& e : info->entries) {
      Json v = store.docstore->decode(e.raw);
      const Json* ids = ref_doc_node_ids(v);
      JsonArray node_ids = ids && ids->is_array() ? ids->as_array() : JsonArray{};
      std::size_t n = node_ids.size();
      records.push_back({{"id", e.key}, {"nodes", count(n)}, {"node_ids", std::move(node_ids)}});
    }
  out.listing(kRefDoc, records);
}

const Schema kIndex{"index", {{"id", "INDEX"}, {"type", "TYPE"}, {"nodes", "NODES"}, {"summary"}}};

void list_indexes(Output& out, const Store& store) {
  std::vector<Record> records;
  for (const IndexStruct& i : read_index_structs(store)) {
    const Json* summary = i.data.find("summary");
    records.push_back({{"id", i.id}, {"type", i.type}, {"nodes", count(index_node_count(i))},
                       {"summary", summary ? *summary : Json()}});
  }
  out.listing(kIndex, records);
}

const Schema kVector{"vector",
                     {{"namespace", "NAMESPACE"}, {"id", "ID"}, {"dim", "DIM"}, {"ref_doc_id", "REF DOC"}, {"metadata"}}};

void list_vectors(Output& out, const Store& store) {
  std::vector<Record> records;
  for (const auto& v : store.vector_stores) {
    VectorSections s = vector_sections(v.doc);
    if (!s.embeddings || !s.embeddings->outlined) continue;
    for (const Entry& e : s.embeddings->entries) {
      Json ref;
      if (s.ref_doc_ids)
        if (const Entry* r = s.ref_doc_ids->find(e.key)) {
          Json rv = v.doc.decode(r->raw);
          if (rv.is_string()) ref = rv;
        }
      // Counted by the outline while the file was scanned; touching the
      // embeddings again would read the whole vector file a second time.
      std::size_t dim = e.elements;
      if (dim == Member::kNotCounted) {  // not a flat list: count its top-level commas here
        std::size_t begin = static_cast<std::size_t>(e.raw.data() - v.doc.bytes().data());
        dim = count_array_elements(v.doc.bytes(), {begin, begin + e.raw.size()});
      }
      records.push_back({{"namespace", v.ns}, {"id", e.key}, {"dim", count(dim)}, {"ref_doc_id", std::move(ref)},
                         {"metadata", s.metadata && s.metadata->find(e.key) != nullptr}});
    }
  }
  out.listing(kVector, records);
}

const Schema kTriplet{"triplet",
                      {{"id"}, {"store", "STORE"}, {"subject", "SUBJECT"}, {"relation", "RELATION"}, {"object", "OBJECT"}}};

void list_graph(Output& out, const Store& store) {
  std::vector<Record> records;
  auto emit = [&](const char* source, const std::string& s, const std::string& r, const std::string& o) {
    records.push_back({{"id", s + "|" + r + "|" + o}, {"store", source}, {"subject", s}, {"relation", r}, {"object", o}});
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
  out.listing(kTriplet, records);
}

// An unoutlined section's entries are not counted: null ("-" in the table).
const Schema kCollection{"collection", {{"file", "FILE"}, {"id", "COLLECTION"}, {"entries", "ENTRIES"}}};

void list_collections(Output& out, const Store& store) {
  std::vector<Record> records;
  for (const JsonDoc* d : store.documents())
    for (const Section& s : d->sections())
      records.push_back({{"file", d->name()}, {"id", s.name}, {"entries", s.outlined ? count(s.entries.size()) : Json()}});
  for (const FileInfo* f : side_files(store, FileKind::KvStore))
    for (const auto& [c, n] : kv_file_collections(*f)) records.push_back({{"file", f->name}, {"id", c}, {"entries", count(n)}});
  out.listing(kCollection, records);
}

std::string roles_cell(const Json& roles) {
  std::string out;
  for (const auto& [r, n] : roles.as_object()) out += (out.empty() ? "" : ", ") + fmt::format("{} {}", r, n.as_int());
  return out;
}

const Schema kChatKey{"chat_key", {{"id", "KEY"}, {"messages", "MESSAGES"}, {"roles", "ROLES", roles_cell}, {"file", "FILE"}}};

void list_chat(Output& out, const Store& store) {
  std::vector<Record> records;
  for (const ChatKey& k : chat_keys(store)) {
    JsonObject roles;
    for (const auto& [r, n] : k.roles) roles.emplace_back(r, count(n));
    records.push_back({{"id", k.key}, {"messages", count(k.messages)}, {"roles", Json(std::move(roles))}, {"file", k.file}});
  }
  out.listing(kChatKey, records);
}

const Schema kFile{"file",
                   {{"id", "FILE"},
                    {"kind", "KIND"},
                    {"bytes", "SIZE", [](const Json& v) { return human_bytes(static_cast<std::uint64_t>(v.as_int())); }},
                    {"detail", "DETAIL"}}};

void list_files(Output& out, const Store& store) {
  std::vector<Record> records;
  for (const FileInfo& f : store.files)
    records.push_back({{"id", f.name}, {"kind", file_kind_name(f.kind)}, {"bytes", count(f.size)}, {"detail", f.detail}});
  out.listing(kFile, records);
}

// The summary needs counts, not entries: a directory store is streamed
// (Backend::load_streamed), in memory bounded by its largest entry plus 8
// bytes a key.
Store load_for(Output& out, const std::string& name, const std::string& w) {
  if (!w.empty()) return load_store(out, name);
  StreamedReader reader(open_backend(name), std::nullopt);
  return load_store(out, reader);
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
            out.several(several);
            int rc = 0;
            for (std::size_t i = 0; i < stores.size(); ++i) {
              // Several stores: each is listed in turn (a blank line between
              // tables; in JSON every record names its "location"). One that
              // cannot be read is its error line; the others are still listed.
              if (several) out.tag_location(redact_store_name(stores[i]));
              try {
                Store store = load_for(out, stores[i], w);
                if (several && i > 0 && out.human()) out.line("");
                if (several && !w.empty() && out.human()) out.line(out.bold("==> " + redact_store_name(stores[i]) + " <=="));
                list(out, store, w);
              } catch (const Error& e) {
                if (!several || e.kind() == ErrorKind::Usage) throw;
                std::fflush(stdout);
                print_error("ls", e);
                rc = 3;
              }
            }
            out.tag_location(std::nullopt);
            return rc;
          }};
}

}  // namespace lstore::cli
