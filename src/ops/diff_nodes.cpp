// lstore diff of the docstore: nodes, their metadata entries (hashes) and
// ref docs. Every field of an entry is compared: those two stores name alike
// are compared as they are; across dialects the TS names are read as the
// Python names they convert to (FORMAT.md §9, the mapping dialect.cpp
// converts with), and a field one side leaves out stands for its default
// (FORMAT.md §3.3), so only what differs in meaning is reported.
#include <map>
#include <optional>

#include "diff_internal.hpp"
#include "lstore/model.hpp"

namespace lstore::diffing {
namespace {

const char* const kDefaultTextTemplate = "{metadata_str}\n\n{content}";

// ---------------------------------------------------------------- names

// A TS type word as Python's __type__ code; Python codes stay as they are.
std::string python_type_code(const std::string& t) {
  if (t == "TEXT") return "1";
  if (t == "IMAGE") return "2";
  if (t == "INDEX") return "3";
  if (t == "DOCUMENT" || t == "IMAGE_DOCUMENT") return "4";
  return t;
}

// A TS relationship word as Python's code.
std::string python_relationship(const std::string& k) {
  static const std::map<std::string, std::string, std::less<>> codes = {
      {"SOURCE", "1"}, {"PREVIOUS", "2"}, {"NEXT", "3"}, {"PARENT", "4"}, {"CHILD", "5"}};
  auto it = codes.find(k);
  return it == codes.end() ? k : it->second;
}

// ---------------------------------------------------------------- relationships

// One RelatedNodeInfo (or a CHILD list of them) in Python's names. Across
// dialects its hash is left out (each dialect hashes with its own formula),
// and so are Python's constant class_name and its node_type (LlamaIndex.TS
// persists no nodeType: corpus/llamaindex-ts); absent fields are defaults.
Json related_info(const Json& r, const Vocabulary& v) {
  if (r.is_array()) {
    JsonArray a;
    for (const Json& x : r.as_array()) a.push_back(related_info(x, v));
    return Json(std::move(a));
  }
  if (!v.python) return r;
  if (r.is_string()) return related_info(Json(JsonObject{{"node_id", r}}), v);  // <= 0.6.33: the id alone
  if (!r.is_object()) return r;
  JsonObject o;
  for (const auto& [k, x] : r.as_object()) {
    std::string name = python_name(k);
    if (v.across && (name == "hash" || name == "class_name" || name == "node_type")) continue;
    o.emplace_back(name, name == "node_type" && x.is_string() ? Json(python_type_code(x.as_string())) : x);
  }
  Json info(std::move(o));
  if (!v.across && !info.find("node_type")) info.set("node_type", nullptr);
  if (!info.find("metadata")) info.set("metadata", JsonObject{});
  if (!v.across && !info.find("hash")) info.set("hash", nullptr);
  if (!v.across && !info.find("class_name")) info.set("class_name", "RelatedNodeInfo");
  return info;
}

Json relationships(const Json& rels, const Vocabulary& v) {
  if (!rels.is_object() || !v.python) return rels;
  JsonObject o;
  for (const auto& [k, r] : rels.as_object()) o.emplace_back(python_relationship(k), related_info(r, v));
  return Json(std::move(o));
}

// ---------------------------------------------------------------- nodes

// What LlamaIndex reads for a node field the entry leaves out (FORMAT.md §3.3).
std::optional<Json> node_default(std::string_view field, const Json& node) {
  static const std::map<std::string, Json, std::less<>> fixed = {
      {"embedding", nullptr},
      {"metadata", JsonObject{}},
      {"excluded_embed_metadata_keys", JsonArray{}},
      {"excluded_llm_metadata_keys", JsonArray{}},
      {"relationships", JsonObject{}},
      {"text", ""},
      {"mimetype", "text/plain"},
      {"start_char_idx", nullptr},
      {"end_char_idx", nullptr},
      {"text_template", kDefaultTextTemplate},
      {"metadata_template", "{key}: {value}"},
      {"metadata_separator", "\n"},
      {"metadata_seperator", "\n"},
      {"image", nullptr},
      {"image_path", nullptr},
      {"image_url", nullptr},
      {"image_mimetype", nullptr},
      {"text_embedding", nullptr},
      {"obj", nullptr},
      {"image_resource", nullptr},
      {"audio_resource", nullptr},
      {"video_resource", nullptr},
  };
  if (auto it = fixed.find(field); it != fixed.end()) return it->second;
  if (field == "class_name") {
    const Json* t = node.find("__type__");
    return Json(class_for_type_code(t && t->is_string() ? t->as_string() : ""));
  }
  if (field == "text_resource") {
    // A Document given only `text` builds its text resource from it (an
    // empty text builds none).
    const Json* t = node.find("text");
    if (!t || !t->is_string() || t->as_string().empty()) return Json(nullptr);
    return Json(JsonObject{{"embeddings", nullptr}, {"text", *t}, {"path", nullptr}, {"url", nullptr}, {"mimetype", nullptr}});
  }
  return std::nullopt;
}

// The separator fields a Python node carries (0.10 TextNode: metadata_seperator;
// 0.12 TextNode: both; Document: metadata_separator): TS's one separator
// stands for each of them.
std::vector<std::string> separator_fields(const Json& python_node) {
  std::vector<std::string> names;
  for (const char* n : {"metadata_separator", "metadata_seperator"})
    if (python_node.find(n)) names.emplace_back(n);
  if (names.empty()) names = {"metadata_separator", "metadata_seperator"};
  return names;
}

// A TS node in Python's names, beside the Python node it is compared with.
Json ts_node_as_python(Node ts, const Json& python_node) {
  std::string type = ts.type_code;
  if (type.empty())
    if (const Json* t = ts.data.find("type"); t && t->is_string()) type = t->as_string();
  JsonObject o;
  for (auto& [k, v] : ts.data.as_object()) {
    if (k == "type" || k == "hash") continue;  // the envelope's type again; a hash of TS's own formula
    if (k == "metadataSeparator") {
      for (const std::string& name : separator_fields(python_node)) o.emplace_back(name, v);
    } else if (k == "relationships") {
      o.emplace_back(k, relationships(v, {true, true}));
    } else if (k == "textTemplate" && v.is_string() && v.as_string().empty()) {
      // TS lays out content as Python's default template does and writes "".
      o.emplace_back("text_template", kDefaultTextTemplate);
    } else {
      o.emplace_back(python_name(k), std::move(v));
    }
  }
  o.emplace_back("__type__", python_type_code(type));
  o.emplace_back("class_name", class_for_type_code(type));
  return Json(std::move(o));
}

// A node as LlamaIndex <= 0.6.33 wrote it, in the names readers convert its
// fields to (FORMAT.md §3.2, §3.3; as dialect.cpp reads them): doc_id is the
// id, extra_info the metadata (null: none), node_info holds the char indexes.
void modern_names(Json& node) {
  auto rename = [&](const char* from, const char* to) {
    const Json* v = node.find(from);
    if (!v || node.find(to)) return;
    Json value = v->is_null() && std::string_view(to) == "metadata" ? Json(JsonObject{}) : *v;
    node.erase(from);
    node.set(to, std::move(value));
  };
  rename("doc_id", "id_");
  rename("extra_info", "metadata");
  // node_info's start and end are the char indexes; what else it holds
  // (0.6's _node_type) stays there, compared as it is.
  Json* info = node.find("node_info");
  if (!info || node.find("start_char_idx") || node.find("end_char_idx")) return;
  if (!info->is_null() && !info->is_object()) return;
  Json start, end;
  if (info->is_object()) {
    if (const Json* s = info->find("start")) start = *s;
    if (const Json* e = info->find("end")) end = *e;
    info->erase("start");
    info->erase("end");
  }
  if (info->is_null() || info->as_object().empty()) node.erase("node_info");
  node.set("start_char_idx", std::move(start));
  node.set("end_char_idx", std::move(end));
}

// A node as compared: its fields with the envelope's __type__ beside them.
// In Python's vocabulary, old names read as today's; across dialects
// without the hash an older Python kept in the node (TS hashes with its own
// formula).
Json node_view(Node n, const Vocabulary& v) {
  Json view = std::move(n.data);
  if (!n.type_code.empty()) view.set("__type__", n.type_code);
  if (!v.python) return view;
  modern_names(view);
  if (v.across) {
    view.erase("hash");
    view.erase("doc_hash");
  }
  if (Json* r = view.find("relationships")) *r = relationships(*r, v);
  return view;
}

void compare_nodes(const Json& x, const Json& y, const Vocabulary& v, const DiffOptions& o, const Meaning& m,
                   ChangedEntry& c) {
  each_field(x, y, v, node_default, [&](std::string_view k, const Json* a, const Json* b) {
    std::string key(k);
    if (key == "metadata") compare_metadata(a, b, key, o, m, c.fields);
    else if (key == "relationships") changed_paths(a, b, key, m, 2, c.fields);  // relationships.<code>.<field>
    else if (key == "embedding" || key == "text_embedding") {
      if (!a || !b || !same_embedding(*a, *b, o.tolerance, m)) c.fields.push_back(key);
    } else changed_paths(a, b, key, m, -1, c.fields);
  });
}

void diff_nodes(const Store& a, const Store& b, const DiffOptions& o, const Meaning& m, PartDiff& nodes) {
  Vocabulary v = vocabulary_of(a, b);
  auto on_changed = [&](const std::string& id, const Entry& x, const Entry& y) {
    Node p = decode_node(*a.docstore, x), q = decode_node(*b.docstore, y);
    std::string old_text = p.text, new_text = q.text;
    Json px, qy;
    if (!v.across) {
      px = node_view(std::move(p), v);
      qy = node_view(std::move(q), v);
    } else if (a.dialect == Dialect::TypeScript) {
      qy = node_view(std::move(q), v);
      px = ts_node_as_python(std::move(p), qy);
    } else {
      px = node_view(std::move(p), v);
      qy = ts_node_as_python(std::move(q), px);
    }
    ChangedEntry c{id, {}, {}, {}, {}, {}, {}, {}};
    compare_nodes(px, qy, v, o, m, c);
    if (c.fields.empty()) return;
    for (const std::string& f : c.fields)
      if (f == "text" || f.starts_with("text_resource")) {
        c.old_text = std::move(old_text);
        c.new_text = std::move(new_text);
        break;
      }
    nodes.changed.push_back(std::move(c));
  };
  compare(keyed(a.doc_collection(coll::kDocData)), keyed(b.doc_collection(coll::kDocData)), nodes, on_changed,
          a.docstore ? &*a.docstore : nullptr, b.docstore ? &*b.docstore : nullptr);
}

// ---------------------------------------------------------------- metadata entries

std::optional<Json> metadata_entry_default(std::string_view field, const Json&) {
  if (field == "ref_doc_id") return Json(nullptr);  // set_document_hash writes the hash alone
  return std::nullopt;
}

Json metadata_entry_view(Json e, const Vocabulary& v) {
  if (v.python) e = in_python_names(e);
  if (v.across) e.erase("doc_hash");  // each dialect hashes with its own formula
  return e;
}

// Hashes live in docstore/metadata: a node whose hash changed is reported on
// its entry there and as "hash" on the node.
void diff_metadata_entries(const Store& a, const Store& b, const Meaning& m, PartDiff& meta, PartDiff& nodes) {
  Vocabulary v = vocabulary_of(a, b);
  ChangedById changed_nodes(nodes);
  const Section* b_nodes = b.doc_collection(coll::kDocData);
  auto on_changed = [&](const std::string& id, const Entry& x, const Entry& y) {
    Json p = metadata_entry_view(a.docstore->decode(x.raw), v), q = metadata_entry_view(b.docstore->decode(y.raw), v);
    ChangedEntry c{id, {}, {}, {}, {}, {}, {}, {}};
    each_field(p, q, v, metadata_entry_default,
               [&](std::string_view k, const Json* s, const Json* t) { changed_paths(s, t, std::string(k), m, -1, c.fields); });
    if (c.fields.empty()) return;
    bool hash = std::find_if(c.fields.begin(), c.fields.end(),
                             [](const std::string& f) { return f == "doc_hash" || f == "docHash"; }) != c.fields.end();
    if (hash && b_nodes && b_nodes->find(id)) add_field(changed_nodes[id], "hash");
    meta.changed.push_back(std::move(c));
  };
  compare(keyed(a.doc_collection(coll::kDocMetadata)), keyed(b.doc_collection(coll::kDocMetadata)), meta, on_changed,
          a.docstore ? &*a.docstore : nullptr, b.docstore ? &*b.docstore : nullptr);
}

// ---------------------------------------------------------------- ref docs

std::optional<Json> ref_doc_default(std::string_view field, const Json&) {
  if (field == "node_ids") return Json(JsonArray{});
  if (field == "metadata") return Json(JsonObject{});
  return std::nullopt;
}

std::vector<std::string> string_ids(const Json* list) {
  std::vector<std::string> ids;
  if (list && list->is_array())
    for (const Json& i : list->as_array())
      if (i.is_string()) ids.push_back(i.as_string());
  return ids;
}

// "+node ID" / "-node ID" for the ids one list has and the other has not.
void node_id_changes(const Json* a, const Json* b, std::vector<std::string>& out) {
  std::vector<std::string> x = string_ids(a), y = string_ids(b);
  std::set<std::string> in_x(x.begin(), x.end()), in_y(y.begin(), y.end());
  for (const auto& n : in_y)
    if (!in_x.count(n)) out.push_back("+node " + n);
  for (const auto& n : in_x)
    if (!in_y.count(n)) out.push_back("-node " + n);
}

void diff_ref_docs(const Store& a, const Store& b, const DiffOptions& o, const Meaning& m, PartDiff& refs) {
  Vocabulary v = vocabulary_of(a, b);
  auto on_changed = [&](const std::string& id, const Entry& x, const Entry& y) {
    Json p = a.docstore->decode(x.raw), q = b.docstore->decode(y.raw);
    if (v.python) {
      p = in_python_names(p);
      q = in_python_names(q);
    }
    // LlamaIndex.TS keeps no ref-doc metadata (it always writes extraInfo
    // {}): across dialects an empty one says nothing to compare.
    const Json* ts_metadata = (a.dialect == Dialect::TypeScript ? p : q).find("metadata");
    if (v.across && ts_metadata && ts_metadata->is_object() && ts_metadata->as_object().empty()) {
      p.erase("metadata");
      q.erase("metadata");
    }
    ChangedEntry c{id, {}, {}, {}, {}, {}, {}, {}};
    each_field(p, q, v, ref_doc_default, [&](std::string_view k, const Json* s, const Json* t) {
      std::string key(k);
      if (key == "metadata" || key == "extraInfo") return compare_metadata(s, t, key, o, m, c.fields);
      std::size_t before = c.fields.size();
      changed_paths(s, t, key, m, -1, c.fields);
      if (c.fields.size() > before && (key == "node_ids" || key == "nodeIds")) node_id_changes(s, t, c.fields);
    });
    if (!c.fields.empty()) refs.changed.push_back(std::move(c));
  };
  compare(keyed(a.doc_collection(coll::kRefDocInfo)), keyed(b.doc_collection(coll::kRefDocInfo)), refs, on_changed,
          a.docstore ? &*a.docstore : nullptr, b.docstore ? &*b.docstore : nullptr);
}

}  // namespace

void diff_docstore(const Store& a, const Store& b, const DiffOptions& o, const Meaning& m, StoreDiff& out) {
  if (!a.docstore && !b.docstore) return;
  PartDiff& nodes = out.parts["nodes"];
  diff_nodes(a, b, o, m, nodes);
  diff_metadata_entries(a, b, m, out.parts["metadata"], nodes);
  diff_ref_docs(a, b, o, m, out.parts["ref_docs"]);
}

}  // namespace lstore::diffing
