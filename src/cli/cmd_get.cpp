// lstore get STORE ID: everything the store holds under one id (spec/CLI.md).
#include <fmt/format.h>

#include "commands.hpp"
#include "streamed_reader.hpp"
#include "ops/diagnose.hpp"
#include "lstore/backend.hpp"
#include "lstore/error.hpp"
#include "lstore/faiss.hpp"
#include "lstore/model.hpp"
#include "lstore/side_files.hpp"

namespace lstore::cli {
namespace {

struct GetOptions {
  std::string store;
  std::string id;
  std::string field;
  bool raw = false;
};

struct Part {
  std::string name;  // "node", "metadata", "ref_doc_info", "index", "vector:<ns>", ...
  std::string file;
  std::string_view raw;
  Json value;
};

std::vector<Part> find_parts(const Store& store, const std::string& id) {
  std::vector<Part> parts;
  auto from = [&](const JsonDoc& doc, const char* section, const char* name) {
    if (const Section* s = doc.section(section); s && s->outlined)
      if (const Entry* e = s->find(id)) parts.push_back({name, doc.name(), e->raw, doc.decode(e->raw)});
  };
  if (store.docstore) {
    if (const Section* s = store.doc_collection(coll::kDocData); s)
      if (const Entry* e = s->find(id)) {
        Node n = decode_node(*store.docstore, *e);
        parts.push_back({"node", store.docstore->name(), e->raw,
                         JsonObject{{"__type__", n.type_code}, {"__data__", n.data}}});
      }
    from(*store.docstore, coll::kDocMetadata, "metadata");
    from(*store.docstore, coll::kRefDocInfo, "ref_doc_info");
  }
  if (const Section* idx = store.index_collection())
    if (const Entry* e = idx->find(id)) {
      IndexStruct s = decode_index_struct(*store.index_store, *e);
      parts.push_back({"index", store.index_store->name(), e->raw, JsonObject{{"type", s.type}, {"data", s.data}}});
    }
  for (const auto& v : store.vector_stores) {
    VectorSections s = vector_sections(v.doc);
    const Entry* emb = s.embeddings ? s.embeddings->find(id) : nullptr;
    if (!emb) continue;
    JsonObject o{{"namespace", v.ns}, {"embedding", v.doc.decode(emb->raw)}};
    if (s.ref_doc_ids)
      if (const Entry* r = s.ref_doc_ids->find(id)) o.emplace_back("ref_doc_id", v.doc.decode(r->raw));
    if (s.metadata)
      if (const Entry* m = s.metadata->find(id)) o.emplace_back("metadata", v.doc.decode(m->raw));
    parts.push_back({"vector:" + v.ns, v.doc.name(), emb->raw, Json(std::move(o))});
  }
  // A FAISS namespace: the node's row, found through nodes_dict (float32 values).
  for (const std::string& ns : faiss_namespaces(store)) {
    FaissNamespace f = open_faiss_namespace(store, ns);
    if (f.label_of(id) < 0) continue;
    JsonArray values;
    for (double x : faiss_stored_embedding(f, id)) values.emplace_back(x);
    parts.push_back({"vector:" + ns, f.file->name, {},
                     JsonObject{{"namespace", ns}, {"faiss_row", f.label_of(id)}, {"embedding", std::move(values)}}});
  }
  if (store.graph_store) from(*store.graph_store, "graph_dict", "graph");
  if (store.property_graph) from(*store.property_graph, "nodes", "property_graph_node");
  // A chat key: its messages as LlamaIndex reads them. A KV file's entry.
  for (const FileInfo* f : side_files(store, FileKind::ChatStore)) {
    ChatStore chat = read_chat_file(*f);
    if (const JsonArray* msgs = chat.messages(id)) {
      JsonArray read;
      for (const Json& m : *msgs) read.push_back(chat_message_as_read(m));
      parts.push_back({"chat", f->name, {}, Json(std::move(read))});
    }
  }
  for (const FileInfo* f : side_files(store, FileKind::KvStore))
    for (KvHit& hit : kv_file_find(*f, id)) parts.push_back({"kv:" + hit.collection, f->name, {}, std::move(hit.value)});
  return parts;
}

// A chat key's messages as a table: role, text, extra kwargs.
void print_chat(Output& out, const Json& messages) {
  std::vector<std::vector<std::string>> rows;
  for (const Json& m : messages.as_array()) {
    const Json* c = m.find("content");
    const Json* kw = m.find("additional_kwargs");
    rows.push_back({m.find("role")->is_string() ? m.find("role")->as_string() : "?",
                    c && c->is_string() ? preview(c->as_string(), 70) : "-",
                    kw && kw->is_object() && !kw->as_object().empty() ? dump(*kw, WriteStyle{JsonDialect::Compact}) : ""});
  }
  out.table({"ROLE", "TEXT", "EXTRA"}, rows);
}

// One field of the node (or of the vector entry, for `embedding`).
// A top-level field of the node (or its vector or metadata entry), with the
// names --help promises whatever the era wrote.
std::optional<Json> pick_top(const std::vector<Part>& parts, const std::string& field) {
  for (const Part& p : parts) {
    if (p.name == "node") {
      const Json& data = *p.value.find("__data__");
      if (field == "metadata" && !data.find("metadata") && data.find("extra_info")) return *data.find("extra_info");
      if (field == "text" && !data.find("text"))
        if (const Json* r = data.find("text_resource"); r && r->find("text")) return *r->find("text");
      if (const Json* v = data.find(field); v && !(field == "embedding" && v->is_null())) return *v;
    }
    if (p.name.rfind("vector:", 0) == 0)
      if (const Json* v = p.value.find(field)) return *v;
  }
  // 0.12 nodes do not store their hash: the docstore's metadata entry does.
  for (const Part& p : parts)
    if (p.name == "metadata" && (field == "doc_hash" || field == "hash"))
      if (const Json* v = p.value.find("doc_hash")) return *v;
  return std::nullopt;
}

// --field PATH: a top-level field, then object keys and list indexes joined
// by dots (metadata.author, relationships.1.node_id). A key that itself
// holds dots ("file.name") is found whole before it is split.
std::optional<Json> pick_field(const std::vector<Part>& parts, const std::string& field) {
  if (auto whole = pick_top(parts, field)) return whole;
  std::size_t dot = field.find('.');
  if (dot == std::string::npos) return std::nullopt;
  std::optional<Json> cur = pick_top(parts, field.substr(0, dot));
  std::string rest = field.substr(dot + 1);
  while (cur && !rest.empty()) {
    if (cur->is_object()) {
      if (const Json* v = cur->find(rest)) return *v;
      dot = rest.find('.');
      const Json* v = cur->find(rest.substr(0, dot));
      if (!v) return std::nullopt;
      cur = *v;
    } else if (cur->is_array()) {
      dot = rest.find('.');
      std::string index = rest.substr(0, dot);
      if (index.empty() || index.find_first_not_of("0123456789") != std::string::npos || index.size() > 9) return std::nullopt;
      std::size_t i = std::stoul(index);
      if (i >= cur->as_array().size()) return std::nullopt;
      cur = Json(cur->as_array()[i]);
    } else {
      return std::nullopt;
    }
    rest = dot == std::string::npos ? "" : rest.substr(dot + 1);
  }
  return cur;
}

// The leaves of a part as (part, path, value) records, for NDJSON, CSV and
// TSV: scalars and number arrays (embeddings) whole, typed.
const Schema kEntry{"entry", {{"id"}, {"node"}, {"metadata"}, {"ref_doc_info"}, {"index"}, {"vectors"}}};
const Schema kLeaf{"leaf", {{"part"}, {"path"}, {"value"}}};

void flatten(const std::string& part, const Json& v, const std::string& path, std::vector<Record>& rows) {
  bool numbers = v.is_array() && !v.as_array().empty();
  if (v.is_array())
    for (const Json& x : v.as_array()) numbers &= x.is_number();
  if (v.is_object() && !v.as_object().empty()) {
    for (const auto& [k, x] : v.as_object()) flatten(part, x, path.empty() ? k : path + "." + k, rows);
  } else if (v.is_array() && !numbers && !v.as_array().empty()) {
    for (std::size_t i = 0; i < v.as_array().size(); ++i) flatten(part, v.as_array()[i], fmt::format("{}[{}]", path, i), rows);
  } else {
    rows.push_back({{"part", part}, {"path", path}, {"value", v}});
  }
}

// The parts for people: each under its name and file, as indented JSON.
void print_parts(Output& out, const std::vector<Part>& parts) {
  for (const Part& p : parts) {
    out.line(out.bold(fmt::format("{} ({})", p.name, p.file)));
    if (p.name == "chat") print_chat(out, p.value);
    else out.line(out.safe(dump(p.value, {JsonDialect::Compact, 2, 0})));
  }
}

}  // namespace

CommandSpec add_get(CLI::App& parent) {
  auto opts = std::make_shared<GetOptions>();
  CLI::App* app = parent.add_subcommand("get", "Print everything a store holds under one id");
  app->add_option("store", opts->store, "The store: a persist directory")->required();
  app->add_option("id", opts->id, "A node, document, index or vector id, a chat key, or a KV file's key")->required();
  app->add_option("--field", opts->field,
                  "Print one part: text, metadata, relationships, embedding, hash, ...; a dotted path goes inside "
                  "(metadata.author, relationships.1.node_id)");
  app->add_flag("--raw", opts->raw, "Print the stored JSON bytes unchanged");
  return {app, [opts](Output& out) {
            // Only this id's entries are kept (a directory store is streamed).
            StreamedReader reader(open_backend(opts->store), opts->id);
            Store store = load_store(out, reader);
            std::vector<Part> parts = find_parts(store, opts->id);
            // "Not found" only when every place the id could be was read.
            if (auto damaged = damaged_store_files(store); parts.empty() && !damaged.empty())
              throw Error(ErrorKind::Data, redact_store_name(opts->store),
                          fmt::format("cannot tell whether '{}' is there: {} {}", opts->id, damaged.front().file->name,
                                      damaged.front().why));
            if (parts.empty())
              throw Error(ErrorKind::NotFound, redact_store_name(opts->store), fmt::format("no entry with id '{}'", opts->id));
            if (!opts->field.empty()) {
              auto v = pick_field(parts, opts->field);
              if (!v)
                throw Error(ErrorKind::NotFound, redact_store_name(opts->store),
                            fmt::format("'{}' has no field '{}'", opts->id, opts->field));
              out.value(*v);
              return 0;
            }
            if (opts->raw) {
              for (const Part& p : parts) {
                std::string line(p.raw);
                line += '\n';
                write_stdout(line);
              }
              return 0;
            }
            std::vector<Record> leaves;
            for (const Part& p : parts) flatten(p.name, p.value, "", leaves);
            Record entry{{"id", opts->id}};
            JsonArray vectors;
            for (const Part& p : parts) {
              if (p.name.rfind("vector:", 0) == 0) vectors.push_back(p.value);
              else entry.emplace_back(p.name, p.value);
            }
            if (!vectors.empty()) entry.emplace_back("vectors", std::move(vectors));
            out.object(kEntry, entry, [&] { print_parts(out, parts); }, &kLeaf, &leaves);
            return 0;
          }};
}

}  // namespace lstore::cli
