// Comparing two stores part by part (see diff.hpp). Entries are matched by
// id; equal bytes short-circuit every comparison, so two large stores that
// differ in 1% of their records are compared at the speed of reading them.
// The others are decoded and every field compared by meaning
// (diff_meaning.cpp); the docstore's parts are in diff_nodes.cpp.
#include "lstore/diff.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "diff_internal.hpp"
#include "lstore/faiss.hpp"
#include "lstore/model.hpp"
#include "lstore/side_files.hpp"

namespace lstore {
namespace diffing {

std::string namespace_key(const Store& s, const std::string& ns, const Vocabulary& v) {
  return v.across && s.dialect == Dialect::TypeScript && ns == "images" ? "image" : ns;
}

const VectorStoreDoc* find_namespace(const Store& s, const std::string& key, const Vocabulary& v) {
  for (const VectorStoreDoc& d : s.vector_stores)
    if (namespace_key(s, d.ns, v) == key) return &d;
  return nullptr;
}

}  // namespace diffing
namespace {

// What convert --dialect ts keeps aside for the way back ("lstore/python:..."
// collections, dialect_carry.cpp) is lstore's, not the store's content: the
// entries it restores are compared where they are restored.
bool is_lstore_carry(std::string_view section) { return section.rfind("lstore/", 0) == 0; }

using namespace diffing;

// ---------------------------------------------------------------- index structs

// The node references of an index struct: views of its own strings (valid
// while it is), sorted and without repeats. (A set of string copies was two
// more copies of 400k ids at once.)
std::vector<std::string_view> struct_refs(const IndexStruct& s) {
  std::vector<std::string_view> out;
  std::function<void(const Json&)> collect = [&](const Json& v) {
    if (v.is_string()) out.push_back(v.as_string());
    else if (v.is_array()) for (const Json& e : v.as_array()) collect(e);
  };
  for (const char* f : {"nodes_dict", "nodesDict", "nodes", "all_nodes", "table", "node_id_to_summary_id"}) {
    const Json* v = s.data.find(f);
    if (!v) continue;
    if (v->is_object()) {
      for (const auto& [k, x] : v->as_object()) {
        if (std::string_view(f) == "nodesDict" || std::string_view(f) == "node_id_to_summary_id") out.push_back(k);
        else collect(x);
      }
    } else {
      collect(*v);
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// How many of the sorted `x` are not in the sorted `y`.
std::size_t missing_from(const std::vector<std::string_view>& x, const std::vector<std::string_view>& y) {
  std::size_t n = 0;
  auto j = y.begin();
  for (std::string_view id : x) {
    while (j != y.end() && *j < id) ++j;
    n += j == y.end() || *j != id;
  }
  return n;
}

// A TS nodesDict (vector id -> the whole node) as Python's nodes_dict holds
// it (vector id -> node id); the nodes themselves are the docstore's part.
Json node_ids_of(const Json& nodes_dict) {
  if (!nodes_dict.is_object()) return nodes_dict;
  JsonObject o;
  for (const auto& [vid, node] : nodes_dict.as_object()) {
    const Json* id = node.find("id_");
    o.emplace_back(vid, id && id->is_string() ? *id : node.is_string() ? node : Json(vid));
  }
  return Json(std::move(o));
}

// A keyword table whose values LlamaIndex keeps as sets (FORMAT.md §2.3):
// each value sorted and without repeats, so that their order does not count.
Json table_as_sets(const Json& table) {
  if (!table.is_object()) return table;
  auto before = [](const Json& x, const Json& y) {
    if (x.is_string() && y.is_string()) return x.as_string() < y.as_string();
    return dump(x) < dump(y);
  };
  JsonObject o;
  for (const auto& [k, v] : table.as_object()) {
    if (!v.is_array()) {
      o.emplace_back(k, v);
      continue;
    }
    JsonArray items = v.as_array();
    std::sort(items.begin(), items.end(), before);
    items.erase(std::unique(items.begin(), items.end()), items.end());
    o.emplace_back(k, Json(std::move(items)));
  }
  return Json(std::move(o));
}

// An index struct's fields as compared (its type apart): across dialects a
// TS struct's in Python's names.
Json struct_view(IndexStruct s, const Store& store, const Vocabulary& v) {
  Json d = std::move(s.data);
  if (!d.is_object()) return d;
  d.erase("type");  // TS keeps its type inside: compared on its own
  if (v.across && store.dialect == Dialect::TypeScript) {
    JsonObject o;
    for (auto& [k, x] : d.as_object()) {
      if (k == "nodesDict") o.emplace_back("nodes_dict", node_ids_of(x));
      else o.emplace_back(python_name(k), std::move(x));
    }
    d = Json(std::move(o));
  }
  if (Json* t = d.find("table")) *t = table_as_sets(*t);
  return d;
}

std::optional<Json> struct_default(std::string_view field, const Json&) {
  if (field == "summary") return Json(nullptr);
  if (field == "doc_id_dict" || field == "embeddings_dict") return Json(JsonObject{});  // deprecated, always {}
  return std::nullopt;
}

// TS's vector index type is Python's vector_store.
std::string struct_type(const std::string& t, const Vocabulary& v) {
  return v.across && t == "simple_dict" ? "vector_store" : t;
}

void diff_indexes(const Store& a, const Store& b, const Meaning& m, StoreDiff& out) {
  const Section* sa = a.index_collection();
  const Section* sb = b.index_collection();
  if (!sa && !sb) return;
  Vocabulary v = vocabulary_of(a, b);
  PartDiff& idx = out.parts["indexes"];
  compare(keyed(sa), keyed(sb), idx, [&](const std::string& id, const Entry& x, const Entry& y) {
    IndexStruct p = decode_index_struct(*a.index_store, x), q = decode_index_struct(*b.index_store, y);
    ChangedEntry c{id, {}, {}, {}, {}, {}, {}, {}};
    if (struct_type(p.type, v) != struct_type(q.type, v)) c.fields.push_back("type " + p.type + " -> " + q.type);
    std::size_t plus = 0, minus = 0;
    {
      // (counted before the structs move: the views are of their strings)
      std::vector<std::string_view> pr = struct_refs(p), qr = struct_refs(q);
      plus = missing_from(qr, pr);
      minus = missing_from(pr, qr);
    }
    Json pv = struct_view(std::move(p), a, v), qv = struct_view(std::move(q), b, v);
    each_field(pv, qv, v, struct_default,
               [&](std::string_view k, const Json* s, const Json* t) { changed_paths(s, t, std::string(k), m, 0, c.fields); });
    if (plus) c.fields.push_back(fmt::format("+{} node{}", plus, plus == 1 ? "" : "s"));
    if (minus) c.fields.push_back(fmt::format("-{} node{}", minus, minus == 1 ? "" : "s"));
    if (!c.fields.empty()) idx.changed.push_back(std::move(c));
  });
}

// ---------------------------------------------------------------- vectors

// Embeddings: the largest absolute difference and the cosine similarity of
// those that changed, or the change of dimension.
void diff_embeddings(const Keyed& ka, const Keyed& kb, const JsonDoc* da, const JsonDoc* db, double tolerance,
                     PartDiff& part) {
  auto on_changed = [&](const std::string& id, const Entry& x, const Entry& y) {
    std::vector<double> p = embedding_values(x.raw), q = embedding_values(y.raw);
    ChangedEntry c{id, {}, {}, {}, {}, {}, {}, {}};
    if (p.size() != q.size()) {
      c.fields.push_back("dimension");
      c.old_dim = p.size();
      c.new_dim = q.size();
      part.changed.push_back(std::move(c));
      return;
    }
    double maxd = 0, dot = 0, np = 0, nq = 0;
    bool differs = false;
    for (std::size_t i = 0; i < p.size(); ++i) {
      double d = close(p[i], q[i], 0) ? 0 : std::fabs(p[i] - q[i]);
      if (d > maxd || std::isnan(d)) maxd = d;
      differs |= !close(p[i], q[i], tolerance);
      dot += p[i] * q[i];
      np += p[i] * p[i];
      nq += q[i] * q[i];
    }
    if (!differs) return;
    c.fields.push_back("embedding");
    c.max_abs_diff = maxd;
    c.cosine = dot / (std::sqrt(np) * std::sqrt(nq));
    part.changed.push_back(std::move(c));
  };
  compare(ka, kb, part, on_changed, da, db);
}

// Calls fn(id, a_entry, b_entry) (nullptr: absent) for every id of either
// section whose entry is on one side only or differs in bytes; fn decodes
// what it needs.
// The pages behind the pass are released as compare() does.
template <class F>
void each_differing(const Section* sa, const Section* sb, const JsonDoc* da, const JsonDoc* db, F&& fn) {
  Keyed ka = keyed(sa), kb = keyed(sb);
  std::size_t since = 0;
  for (const Entry* e : ka.order) {
    const Entry* x = ka.by_id.at(e->key);
    auto it = kb.by_id.find(e->key);
    if (it == kb.by_id.end()) fn(e->key, x, nullptr);
    else if (it->second->raw != x->raw) fn(e->key, x, it->second);
    if (da && (since += e->raw.size()) > (std::size_t{32} << 20)) {
      since = 0;
      da->release_before(e->raw.data());
      if (db && it != kb.by_id.end()) db->release_before(it->second->raw.data());
    }
  }
  for (const Entry* e : kb.order)
    if (!ka.by_id.count(e->key)) fn(e->key, nullptr, kb.by_id.at(e->key));
}

// One side of a vector namespace: its file (nullptr: the namespace is not
// there) and the sections of it that the parts read.
struct VectorSide {
  const JsonDoc* doc = nullptr;
  VectorSections sections;
  Keyed embeddings;  // by vector id
  explicit VectorSide(const VectorStoreDoc* v)
      : doc(v ? &v->doc : nullptr), sections(v ? vector_sections(v->doc) : VectorSections{}),
        embeddings(keyed(sections.embeddings)) {}
  const Section* section(const std::string& name) const { return doc ? doc->section(name) : nullptr; }
};

// The ref doc id, metadata and any other entry of each vector id. A vector
// added or removed takes its entries with it; an entry without a vector on
// either side is compared all the same.
void diff_vector_entries(const VectorSide& a, const VectorSide& b, const DiffOptions& o, const Meaning& m,
                         PartDiff& part) {
  const Keyed& ea = a.embeddings;
  const Keyed& eb = b.embeddings;
  auto one_sided = [&](std::string_view id) { return ea.by_id.count(id) != eb.by_id.count(id); };
  ChangedById changed(part);
  // Calls fn(id, a_value, b_value) (nullptr: absent) for the entries of a
  // section that differ, but those of vectors added or removed.
  auto each_change = [&](const Section* sa, const Section* sb, auto&& fn) {
    each_differing(sa, sb, a.doc, b.doc, [&](std::string_view id, const Entry* x, const Entry* y) {
      if (one_sided(id)) return;
      std::optional<Json> p, q;
      if (x) p = a.doc->decode(x->raw);
      if (y) q = b.doc->decode(y->raw);
      fn(std::string(id), p ? &*p : nullptr, q ? &*q : nullptr);
    });
  };
  each_change(a.sections.ref_doc_ids, b.sections.ref_doc_ids, [&](const std::string& id, const Json* x, const Json* y) {
    if (!x || !y || !same(*x, *y, m)) add_field(changed[id], "ref_doc_id");
  });
  each_change(a.sections.metadata, b.sections.metadata, [&](const std::string& id, const Json* x, const Json* y) {
    std::vector<std::string> fields;
    compare_metadata(x, y, "metadata_dict", o, m, fields);
    for (std::string& f : fields) add_field(changed[id], std::move(f));
  });
  // Sections none of the above reads, by their own names.
  std::set<std::string> others;
  for (const VectorSide* side : {&a, &b})
    if (side->doc)
      for (const Section& s : side->doc->sections())
        if (!is_lstore_carry(s.name)) others.insert(s.name);
  for (const VectorSide* side : {&a, &b})
    for (const Section* read : {side->sections.embeddings, side->sections.ref_doc_ids, side->sections.metadata})
      if (read) others.erase(read->name);
  for (const std::string& name : others)
    each_change(a.section(name), b.section(name), [&](const std::string& id, const Json* x, const Json* y) {
      if (!x || !y || !same(*x, *y, m)) add_field(changed[id], name);
    });
}

void diff_vectors(const Store& a, const Store& b, const DiffOptions& o, const Meaning& m, StoreDiff& out) {
  Vocabulary v = vocabulary_of(a, b);
  std::set<std::string> names;
  for (const auto& d : a.vector_stores) names.insert(namespace_key(a, d.ns, v));
  for (const auto& d : b.vector_stores) names.insert(namespace_key(b, d.ns, v));
  for (const std::string& ns : names) {
    VectorSide sa(find_namespace(a, ns, v)), sb(find_namespace(b, ns, v));
    PartDiff& part = out.parts["vectors:" + ns];
    diff_embeddings(sa.embeddings, sb.embeddings, sa.doc, sb.doc, o.tolerance, part);
    diff_vector_entries(sa, sb, o, m, part);
  }
}

// ---------------------------------------------------------------- graphs

// Graph triplets compared as sets (LlamaIndex keeps some of them in sets).
void diff_graph(const Store& a, const Store& b, StoreDiff& out) {
  auto triplets = [](const Store& s) {
    std::set<std::string> t;
    if (!s.graph_store) return t;
    if (const Section* gd = s.graph_store->section("graph_dict"); gd && gd->outlined)
      for (const Entry& e : gd->entries) {
        Json rels = s.graph_store->decode(e.raw);
        if (rels.is_array())
          for (const Json& p : rels.as_array())
            if (p.is_array() && p.as_array().size() == 2 && p.as_array()[0].is_string() && p.as_array()[1].is_string())
              t.insert(std::string(e.key) + " | " + p.as_array()[0].as_string() + " | " + p.as_array()[1].as_string());
      }
    return t;
  };
  if (!a.graph_store && !b.graph_store) return;
  PartDiff& g = out.parts["graph"];
  std::set<std::string> ta = triplets(a), tb = triplets(b);
  for (const auto& t : tb)
    if (!ta.count(t)) g.added.push_back(t);
  for (const auto& t : ta)
    if (!tb.count(t)) g.removed.push_back(t);
}

// Property graph nodes and relations field by field ("<section>.<key
// path>"); triplets as the set LlamaIndex keeps them in.
void diff_property_graph(const Store& a, const Store& b, const Meaning& m, StoreDiff& out) {
  if (!a.property_graph && !b.property_graph) return;
  PartDiff& pg = out.parts["property_graph"];
  auto section = [](const Store& s, const char* n) { return s.property_graph ? s.property_graph->section(n) : nullptr; };
  for (const char* n : {"nodes", "relations"})
    compare(keyed(section(a, n)), keyed(section(b, n)), pg, [&](const std::string& id, const Entry& x, const Entry& y) {
      Json p = a.property_graph->decode(x.raw), q = b.property_graph->decode(y.raw);
      ChangedEntry c{id, {}, {}, {}, {}, {}, {}, {}};
      changed_paths(&p, &q, n, m, -1, c.fields);
      if (!c.fields.empty()) pg.changed.push_back(std::move(c));
    });
  std::set<std::string> ta, tb;
  for (auto [s, t] : {std::pair{&a, &ta}, std::pair{&b, &tb}})
    if (const Section* sec = section(*s, "triplets"); sec && sec->outlined)
      for (const Entry& e : sec->entries) t->insert(dump(s->property_graph->decode(e.raw), {JsonDialect::Compact}));
  for (const auto& t : tb)
    if (!ta.count(t)) pg.added.push_back("triplet " + t);
  for (const auto& t : ta)
    if (!tb.count(t)) pg.removed.push_back("triplet " + t);
}

// ---------------------------------------------------------------- what no part reads

// The sections of a store document that no part above reads (a collection
// someone added beside LlamaIndex's), as part "<role>:<section>": entries by
// key, compared by meaning; a section that is not an object, whole.
void diff_other_sections(const JsonDoc* a, const JsonDoc* b, const std::set<std::string>& read, const std::string& role,
                         const Meaning& m, StoreDiff& out) {
  std::set<std::string> names;
  for (const JsonDoc* d : {a, b})
    if (d)
      for (const Section& s : d->sections())
        if (!read.count(s.name) && !is_lstore_carry(s.name)) names.insert(s.name);
  for (const std::string& name : names) {
    const Section* sa = a ? a->section(name) : nullptr;
    const Section* sb = b ? b->section(name) : nullptr;
    PartDiff& part = out.parts[role + ":" + name];
    auto has_entries = [](const Section* s) { return !s || (s->outlined && !s->is_array); };
    if (has_entries(sa) && has_entries(sb)) {
      compare(keyed(sa), keyed(sb), part, [&](const std::string& id, const Entry& x, const Entry& y) {
        Json p = a->decode(x.raw), q = b->decode(y.raw);
        ChangedEntry c{id, {}, {}, {}, {}, {}, {}, {}};
        changed_paths(&p, &q, "", m, -1, c.fields);
        if (!c.fields.empty()) part.changed.push_back(std::move(c));
      });
    } else if (!sa) {
      part.added.push_back(name);
    } else if (!sb) {
      part.removed.push_back(name);
    } else if (sa->raw != sb->raw && !same(a->decode(sa->raw), b->decode(sb->raw), m)) {
      part.changed.push_back(ChangedEntry{name, {"value"}, {}, {}, {}, {}, {}, {}});
    }
  }
}

void diff_unread_sections(const Store& a, const Store& b, const Meaning& m, StoreDiff& out) {
  auto opt = [](const std::optional<JsonDoc>& d) { return d ? &*d : nullptr; };
  diff_other_sections(opt(a.docstore), opt(b.docstore), {coll::kDocData, coll::kDocMetadata, coll::kRefDocInfo},
                      "docstore", m, out);
  std::set<std::string> index_read;
  for (const Section* s : {a.index_collection(), b.index_collection()})
    if (s) index_read.insert(s->name);
  diff_other_sections(opt(a.index_store), opt(b.index_store), index_read, "index_store", m, out);
  diff_other_sections(opt(a.graph_store), opt(b.graph_store), {"graph_dict"}, "graph_store", m, out);
  diff_other_sections(opt(a.property_graph), opt(b.property_graph), {"nodes", "relations", "triplets"},
                      "property_graph", m, out);
}

// ---------------------------------------------------------------- files

// What differs between two files of one name that the model does not hold.
// KV files are compared by meaning ("<collection>.<key>": a backend may keep
// their entries as rows and write them back in its own layout), chat stores
// are the "chat" part, every other file is compared byte for byte.
void file_changes(const FileInfo& x, const FileInfo& y, const Meaning& m, std::vector<std::string>& out) {
  if (x.kind == FileKind::ChatStore && y.kind == FileKind::ChatStore) return;
  if (!x.bytes || !y.bytes) {  // unreadable: what was found in its place
    if (x.bytes || y.bytes || x.kind != y.kind || x.detail != y.detail) out.push_back("file");
    return;
  }
  if (x.bytes->view() == y.bytes->view()) return;
  if (x.kind == FileKind::Faiss && y.kind == FileKind::Faiss && faiss_index_changes(x, y, out)) return;
  if (x.kind == FileKind::KvStore && y.kind == FileKind::KvStore) {
    try {
      Json p = parse(x.bytes->view()), q = parse(y.bytes->view());
      changed_paths(&p, &q, "", m, 2, out);
      return;
    } catch (const ParseError&) {
      // Not JSON after all: its bytes are what it holds.
    }
  }
  out.push_back("bytes");
}

// Files the model does not hold (FAISS indexes, LFS pointers, pickles, KV
// and chat files, notes), by name.
void diff_files(const Store& a, const Store& b, const Meaning& m, StoreDiff& out) {
  auto side = [](const Store& s) {
    std::map<std::string, const FileInfo*> files;
    for (const FileInfo& f : s.files)
      if (!s.document(f.name)) files.emplace(f.name, &f);
    return files;
  };
  std::map<std::string, const FileInfo*> fa = side(a), fb = side(b);
  if (fa.empty() && fb.empty()) return;
  PartDiff& part = out.parts["files"];
  for (const auto& [name, f] : fb)
    if (!fa.count(name)) part.added.push_back(name);
  for (const auto& [name, f] : fa) {
    auto it = fb.find(name);
    if (it == fb.end()) {
      part.removed.push_back(name);
      continue;
    }
    ChangedEntry c{name, {}, {}, {}, {}, {}, {}, {}};
    file_changes(*f, *it->second, m, c.fields);
    if (!c.fields.empty()) part.changed.push_back(std::move(c));
  }
}

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    std::size_t nl = s.find('\n', start);
    if (nl == std::string::npos) {
      if (start < s.size()) out.push_back(s.substr(start));
      break;
    }
    out.push_back(s.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}


// Chat stores, key by key, messages compared as LlamaIndex reads them (so a
// 0.10 store and its 0.12 upgrade are equal).
void diff_chats(const Store& a, const Store& b, const Meaning& m, StoreDiff& out) {
  auto read_all = [](const Store& s) {
    std::map<std::string, std::vector<Json>> keys;
    for (const FileInfo* f : side_files(s, FileKind::ChatStore)) {
      ChatStore chat = read_chat_file(*f);
      for (const std::string& k : chat.keys())
        for (const Json& message : *chat.messages(k)) keys[k].push_back(chat_message_as_read(message));
    }
    return keys;
  };
  if (side_files(a, FileKind::ChatStore).empty() && side_files(b, FileKind::ChatStore).empty()) return;
  auto ka = read_all(a), kb = read_all(b);
  PartDiff& part = out.parts["chat"];
  for (const auto& [k, msgs] : kb)
    if (!ka.count(k)) part.added.push_back(k);
  for (const auto& [k, msgs] : ka) {
    auto it = kb.find(k);
    if (it == kb.end()) {
      part.removed.push_back(k);
      continue;
    }
    const std::vector<Json>& x = msgs;
    const std::vector<Json>& y = it->second;
    ChangedEntry c{k, {}, {}, {}, {}, {}, {}, {}};
    std::size_t common = std::min(x.size(), y.size());
    for (std::size_t i = 0; i < common; ++i)
      if (!same(x[i], y[i], m)) c.fields.push_back(fmt::format("message {}", i));
    if (y.size() > x.size()) c.fields.push_back(fmt::format("+{} message{}", y.size() - x.size(), y.size() - x.size() == 1 ? "" : "s"));
    if (x.size() > y.size()) c.fields.push_back(fmt::format("-{} message{}", x.size() - y.size(), x.size() - y.size() == 1 ? "" : "s"));
    if (!c.fields.empty()) part.changed.push_back(std::move(c));
  }
}

}  // namespace

StoreDiff diff_stores(const Store& a, const Store& b, const DiffOptions& options) {
  StoreDiff out;
  // JavaScript has one number type: 1.0 comes back from a TS store as 1.
  Meaning m{options.numbers_as_doubles || a.dialect != b.dialect || a.dialect == Dialect::TypeScript};
  diff_docstore(a, b, options, m, out);
  diff_indexes(a, b, m, out);
  diff_vectors(a, b, options, m, out);
  diff_graph(a, b, out);
  diff_property_graph(a, b, m, out);
  diff_unread_sections(a, b, m, out);
  diff_chats(a, b, m, out);
  diff_files(a, b, m, out);
  return out;
}

// Line diff by longest common subsequence (texts of nodes are small), printed
// as unified hunks with `context` lines around each change.
std::string unified_diff(const std::string& a, const std::string& b, const std::string& label_a,
                         const std::string& label_b, int context) {
  std::vector<std::string> x = lines_of(a), y = lines_of(b);
  const std::size_t n = x.size(), m = y.size();
  std::vector<std::vector<std::uint32_t>> lcs(n + 1, std::vector<std::uint32_t>(m + 1, 0));
  for (std::size_t i = n; i-- > 0;)
    for (std::size_t j = m; j-- > 0;)
      lcs[i][j] = x[i] == y[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
  struct Op {
    char kind;  // ' ', '-', '+'
    std::size_t i, j;
  };
  std::vector<Op> ops;
  std::size_t i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] == y[j]) ops.push_back({' ', i++, j++});
    else if (i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1])) ops.push_back({'-', i++, j});  // removals first, as diff -u
    else ops.push_back({'+', i, j++});
  }
  // Hunks: every change with `context` unchanged lines around it, merged
  // where they touch.
  std::vector<std::pair<std::size_t, std::size_t>> hunks;
  const std::size_t c = static_cast<std::size_t>(context);
  for (std::size_t k = 0; k < ops.size(); ++k) {
    if (ops[k].kind == ' ') continue;
    std::size_t from = k > c ? k - c : 0, to = std::min(ops.size(), k + c + 1);
    if (!hunks.empty() && from <= hunks.back().second) hunks.back().second = to;
    else hunks.emplace_back(from, to);
  }
  std::string out = "--- " + label_a + "\n+++ " + label_b + "\n";
  for (const auto& [from, to] : hunks) {
    std::size_t an = 0, bn = 0;
    std::string body;
    for (std::size_t t = from; t < to; ++t) {
      const Op& op = ops[t];
      if (op.kind != '+') ++an;
      if (op.kind != '-') ++bn;
      body += op.kind;
      body += op.kind == '+' ? y[op.j] : x[op.i];
      body += '\n';
    }
    std::size_t a0 = ops[from].i, b0 = ops[from].j;
    out += fmt::format("@@ -{},{} +{},{} @@\n", an ? a0 + 1 : a0, an, bn ? b0 + 1 : b0, bn) + body;
  }
  return out;
}

}  // namespace lstore
