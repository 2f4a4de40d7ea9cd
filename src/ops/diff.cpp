// Comparing two stores part by part (see diff.hpp). Entries are matched by
// id; equal bytes short-circuit every comparison, so two large stores that
// differ in 1% of their records are compared at the speed of reading them.
#include "lstore/diff.hpp"
#include "lstore/side_files.hpp"
#include "query_internal.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <functional>
#include <unordered_map>

#include <fmt/format.h>

#include "lstore/model.hpp"

namespace lstore {
namespace {

// Entries of a section by id (last wins, as json.load), in stored order.
struct Keyed {
  std::vector<const Entry*> order;
  std::unordered_map<std::string_view, const Entry*> by_id;
};

Keyed keyed(const Section* s) {
  Keyed k;
  if (!s || !s->outlined) return k;
  for (const Entry& e : s->entries) {
    auto [it, inserted] = k.by_id.emplace(e.key, &e);
    if (inserted) k.order.push_back(&e);
    else it->second = &e;
  }
  return k;
}

// Calls on_changed(id, a, b) for ids in both whose bytes differ. With the
// documents given, the pages behind the comparison are released as it goes,
// so two large files are compared without both staying resident.
template <class F>
void compare(const Keyed& a, const Keyed& b, PartDiff& out, F&& on_changed, const JsonDoc* da = nullptr,
             const JsonDoc* db = nullptr) {
  for (const Entry* e : b.order)
    if (!a.by_id.count(e->key)) out.added.emplace_back(e->key);
  std::size_t since = 0;
  for (const Entry* e : a.order) {
    auto it = b.by_id.find(e->key);
    if (it == b.by_id.end()) {
      out.removed.emplace_back(e->key);
    } else if (it->second->raw != a.by_id.at(e->key)->raw) {
      on_changed(std::string(e->key), *a.by_id.at(e->key), *it->second);
    }
    if (da && (since += e->raw.size()) > (std::size_t{32} << 20)) {
      since = 0;
      da->release_before(e->raw.data());
      if (db && it != b.by_id.end()) db->release_before(it->second->raw.data());
    }
  }
}

Json without(const Json& md, const std::set<std::string>& keys) {
  if (!md.is_object() || keys.empty()) return md;
  JsonObject o;
  for (const auto& [k, v] : md.as_object())
    if (!keys.count(k)) o.emplace_back(k, v);
  return Json(std::move(o));
}

// Relationship maps in one vocabulary: TS names -> Python codes, ids only.
Json relationships_meaning(const Json& rels) {
  static const std::map<std::string, std::string> names = {{"SOURCE", "1"}, {"PREVIOUS", "2"}, {"NEXT", "3"}, {"PARENT", "4"}, {"CHILD", "5"}};
  JsonObject out;
  if (!rels.is_object()) return rels;
  auto id_of = [](const Json& r) -> Json {
    if (r.is_string()) return r;
    if (const Json* x = r.find("node_id")) return *x;
    if (const Json* x = r.find("nodeId")) return *x;
    return r;
  };
  for (const auto& [k, v] : rels.as_object()) {
    auto it = names.find(k);
    std::string key = it == names.end() ? k : it->second;
    if (v.is_array()) {
      JsonArray a;
      for (const Json& r : v.as_array()) a.push_back(id_of(r));
      out.emplace_back(key, Json(std::move(a)));
    } else {
      out.emplace_back(key, id_of(v));
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  return Json(std::move(out));
}

// Every number as a double (for comparing across dialects).
Json as_doubles(const Json& v) {
  if (v.is_number()) return Json(v.as_number());
  if (v.is_array()) {
    JsonArray a;
    for (const Json& e : v.as_array()) a.push_back(as_doubles(e));
    return Json(std::move(a));
  }
  if (v.is_object()) {
    JsonObject o;
    for (const auto& [k, e] : v.as_object()) o.emplace_back(k, as_doubles(e));
    return Json(std::move(o));
  }
  return v;
}

void diff_metadata(const Json& a, const Json& b, const DiffOptions& o, std::vector<std::string>& fields) {
  Json x = without(a, o.ignore_keys), y = without(b, o.ignore_keys);
  if (o.numbers_as_doubles) {
    x = as_doubles(x);
    y = as_doubles(y);
  }
  // By meaning, as Python compares dicts: key order is no change. Linear in
  // the keys (a node may hold hundreds of thousands of them).
  if (detail::py::same(x, y)) return;
  if (!x.is_object() || !y.is_object()) {
    fields.push_back("metadata");
    return;
  }
  std::unordered_map<std::string_view, const Json*> in_y;
  in_y.reserve(y.as_object().size());
  for (const auto& [k, v] : y.as_object()) in_y.emplace(k, &v);
  std::set<std::string> changed;
  for (const auto& [k, v] : x.as_object()) {
    auto it = in_y.find(k);
    if (it == in_y.end() || !detail::py::same(v, *it->second)) changed.insert(k);
    if (it != in_y.end()) in_y.erase(it);
  }
  for (const auto& [k, v] : in_y) changed.insert(std::string(k));
  for (const auto& k : changed) fields.push_back("metadata." + k);
}

std::vector<double> numbers(std::string_view raw) {
  std::vector<double> v;
  const char* p = raw.data();
  const char* end = p + raw.size();
  while (p < end) {
    while (p < end && (*p == '[' || *p == ']' || *p == ',' || *p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')) ++p;
    if (p >= end) break;
    double d = 0;
    auto r = std::from_chars(p, end, d);
    if (r.ec != std::errc() || r.ptr == p) {  // NaN / Infinity tokens
      const char* q = p;
      while (q < end && *q != ',' && *q != ']') ++q;
      std::string_view tok(p, static_cast<std::size_t>(q - p));
      d = tok.find("NaN") != std::string_view::npos ? std::nan("") : tok[0] == '-' ? -HUGE_VAL : HUGE_VAL;
      p = q;
    } else {
      p = r.ptr;
    }
    v.push_back(d);
  }
  return v;
}

void diff_nodes(const Store& a, const Store& b, const DiffOptions& o, StoreDiff& out) {
  if (!a.docstore && !b.docstore) return;
  PartDiff& nodes = out.parts["nodes"];
  Keyed ka = keyed(a.doc_collection(coll::kDocData)), kb = keyed(b.doc_collection(coll::kDocData));
  Keyed ma = keyed(a.doc_collection(coll::kDocMetadata)), mb = keyed(b.doc_collection(coll::kDocMetadata));
  compare(
      ka, kb, nodes, [&](const std::string& id, const Entry& x, const Entry& y) {
    Node p = decode_node(*a.docstore, x), q = decode_node(*b.docstore, y);
    ChangedEntry c{id, {}, {}, {}, {}, {}, {}, {}};
    if (p.text != q.text) {
      c.fields.push_back("text");
      c.old_text = p.text;
      c.new_text = q.text;
    }
    diff_metadata(p.metadata, q.metadata, o, c.fields);
    if (!(relationships_meaning(*(p.data.find("relationships") ? p.data.find("relationships") : &p.metadata)) ==
          relationships_meaning(*(q.data.find("relationships") ? q.data.find("relationships") : &q.metadata))))
      c.fields.push_back("relationships");
    if (p.class_name != q.class_name) c.fields.push_back("class");
    if (!c.fields.empty()) nodes.changed.push_back(std::move(c));
      },
      a.docstore ? &*a.docstore : nullptr, b.docstore ? &*b.docstore : nullptr);
  // Hashes live in docstore/metadata; a node whose hash changed is reported
  // on its entry there and as "hash" on the node.
  PartDiff& meta = out.parts["metadata"];
  compare(ma, mb, meta, [&](const std::string& id, const Entry& x, const Entry& y) {
    Json p = a.docstore->decode(x.raw), q = b.docstore->decode(y.raw);
    auto get = [](const Json& v, const char* py, const char* ts) -> Json {
      if (const Json* f = v.find(py)) return *f;
      if (const Json* f = v.find(ts)) return *f;
      return Json();
    };
    ChangedEntry c{id, {}, {}, {}, {}, {}, {}, {}};
    // Each dialect hashes with its own formula: hashes only compare within one.
    if (a.dialect == b.dialect && !(get(p, "doc_hash", "docHash") == get(q, "doc_hash", "docHash")))
      c.fields.push_back("hash");
    if (!(get(p, "ref_doc_id", "refDocId") == get(q, "ref_doc_id", "refDocId"))) c.fields.push_back("ref_doc_id");
    if (c.fields.empty()) return;
    if (c.fields.front() == "hash" && kb.by_id.count(id)) {
      auto it = std::find_if(nodes.changed.begin(), nodes.changed.end(), [&](const ChangedEntry& n) { return n.id == id; });
      if (it != nodes.changed.end()) it->fields.push_back("hash");
      else nodes.changed.push_back({id, {"hash"}, {}, {}, {}, {}, {}, {}});
    }
    meta.changed.push_back(std::move(c));
  });
  PartDiff& refs = out.parts["ref_docs"];
  compare(keyed(a.doc_collection(coll::kRefDocInfo)), keyed(b.doc_collection(coll::kRefDocInfo)), refs,
          [&](const std::string& id, const Entry& x, const Entry& y) {
            Json p = a.docstore->decode(x.raw), q = b.docstore->decode(y.raw);
            auto ids = [](const Json& v) {
              std::set<std::string> s;
              const Json* l = v.find("node_ids");
              if (!l) l = v.find("nodeIds");
              if (!l) l = v.find("doc_ids");
              if (l && l->is_array())
                for (const Json& i : l->as_array())
                  if (i.is_string()) s.insert(i.as_string());
              return s;
            };
            ChangedEntry c{id, {}, {}, {}, {}, {}, {}, {}};
            std::set<std::string> pi = ids(p), qi = ids(q);
            for (const auto& n : qi)
              if (!pi.count(n)) c.fields.push_back("+node " + n);
            for (const auto& n : pi)
              if (!qi.count(n)) c.fields.push_back("-node " + n);
            const Json* pm = p.find("metadata") ? p.find("metadata") : p.find("extraInfo");
            const Json* qm = q.find("metadata") ? q.find("metadata") : q.find("extraInfo");
            // LlamaIndex.TS keeps no ref-doc metadata (extraInfo is always {}).
            if (pm && qm && a.dialect == b.dialect) diff_metadata(*pm, *qm, o, c.fields);
            if (!c.fields.empty()) refs.changed.push_back(std::move(c));
          });
}

// The node references of an index struct, as a set.
std::set<std::string> struct_refs(const IndexStruct& s) {
  std::set<std::string> out;
  std::function<void(const Json&)> collect = [&](const Json& v) {
    if (v.is_string()) out.insert(v.as_string());
    else if (v.is_array()) for (const Json& e : v.as_array()) collect(e);
  };
  for (const char* f : {"nodes_dict", "nodesDict", "nodes", "all_nodes", "table", "node_id_to_summary_id"}) {
    const Json* v = s.data.find(f);
    if (!v) continue;
    if (v->is_object()) {
      for (const auto& [k, x] : v->as_object()) {
        if (std::string_view(f) == "nodesDict" || std::string_view(f) == "node_id_to_summary_id") out.insert(k);
        else collect(x);
      }
    } else {
      collect(*v);
    }
  }
  return out;
}

void diff_indexes(const Store& a, const Store& b, StoreDiff& out) {
  const Section* sa = a.index_collection();
  const Section* sb = b.index_collection();
  if (!sa && !sb) return;
  PartDiff& idx = out.parts["indexes"];
  compare(keyed(sa), keyed(sb), idx, [&](const std::string& id, const Entry& x, const Entry& y) {
    IndexStruct p = decode_index_struct(*a.index_store, x), q = decode_index_struct(*b.index_store, y);
    ChangedEntry c{id, {}, {}, {}, {}, {}, {}, {}};
    auto norm = [](const std::string& t) { return t == "simple_dict" ? std::string("vector_store") : t; };
    if (norm(p.type) != norm(q.type)) c.fields.push_back("type " + p.type + " -> " + q.type);
    const Json* ps = p.data.find("summary");
    const Json* qs = q.data.find("summary");
    if ((ps && !ps->is_null()) != (qs && !qs->is_null()) || (ps && qs && !(*ps == *qs))) c.fields.push_back("summary");
    std::set<std::string> pr = struct_refs(p), qr = struct_refs(q);
    std::size_t plus = 0, minus = 0;
    for (const auto& n : qr) plus += !pr.count(n);
    for (const auto& n : pr) minus += !qr.count(n);
    if (plus) c.fields.push_back(fmt::format("+{} nodes", plus));
    if (minus) c.fields.push_back(fmt::format("-{} nodes", minus));
    if (c.fields.empty() && a.dialect == b.dialect && !(p.data == q.data)) c.fields.push_back("data");
    if (!c.fields.empty()) idx.changed.push_back(std::move(c));
  });
}

void diff_vectors(const Store& a, const Store& b, const DiffOptions& o, StoreDiff& out) {
  std::set<std::string> names;
  for (const auto& v : a.vector_stores) names.insert(v.ns);
  for (const auto& v : b.vector_stores) names.insert(v.ns);
  for (const std::string& ns : names) {
    const VectorStoreDoc* va = a.vector_store(ns);
    const VectorStoreDoc* vb = b.vector_store(ns);
    PartDiff& part = out.parts["vectors:" + ns];
    VectorSections sa = va ? vector_sections(va->doc) : VectorSections{};
    VectorSections sb = vb ? vector_sections(vb->doc) : VectorSections{};
    compare(
        keyed(sa.embeddings), keyed(sb.embeddings), part, [&](const std::string& id, const Entry& x, const Entry& y) {
      std::vector<double> p = numbers(x.raw), q = numbers(y.raw);
      ChangedEntry c{id, {}, {}, {}, {}, {}, {}, {}};
      if (p.size() != q.size()) {
        c.fields.push_back("dimension");
        c.old_dim = p.size();
        c.new_dim = q.size();
      } else {
        double maxd = 0, dot = 0, np = 0, nq = 0;
        for (std::size_t i = 0; i < p.size(); ++i) {
          double d = std::fabs(p[i] - q[i]);
          if (d > maxd || std::isnan(d)) maxd = d;
          dot += p[i] * q[i];
          np += p[i] * p[i];
          nq += q[i] * q[i];
        }
        if (!(maxd <= o.tolerance)) {
          c.fields.push_back("embedding");
          c.max_abs_diff = maxd;
          c.cosine = dot / (std::sqrt(np) * std::sqrt(nq));
        }
      }
      if (!c.fields.empty()) part.changed.push_back(std::move(c));
        },
        va ? &va->doc : nullptr, vb ? &vb->doc : nullptr);
    // The ref doc and metadata_dict entries of vectors present in both.
    Keyed ra = keyed(sa.ref_doc_ids), rb = keyed(sb.ref_doc_ids), ma = keyed(sa.metadata), mb = keyed(sb.metadata);
    auto note = [&](const std::string& id, const std::string& field) {
      auto it = std::find_if(part.changed.begin(), part.changed.end(), [&](const ChangedEntry& c) { return c.id == id; });
      if (it != part.changed.end()) it->fields.push_back(field);
      else part.changed.push_back({id, {field}, {}, {}, {}, {}, {}, {}});
    };
    for (const Entry* e : ra.order)
      if (auto it = rb.by_id.find(e->key); it != rb.by_id.end() && it->second->raw != e->raw &&
                                           !(va->doc.decode(e->raw) == vb->doc.decode(it->second->raw)))
        note(std::string(e->key), "ref_doc_id");
    for (const Entry* e : ma.order)
      if (auto it = mb.by_id.find(e->key); it != mb.by_id.end() && it->second->raw != e->raw) {
        std::vector<std::string> fields;
        diff_metadata(va->doc.decode(e->raw), vb->doc.decode(it->second->raw), o, fields);
        if (!fields.empty()) note(std::string(e->key), "metadata_dict");
      }
  }
}

// Graph triplets compared as sets (LlamaIndex keeps some of them in sets).
void diff_graphs(const Store& a, const Store& b, StoreDiff& out) {
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
  if (a.graph_store || b.graph_store) {
    PartDiff& g = out.parts["graph"];
    std::set<std::string> ta = triplets(a), tb = triplets(b);
    for (const auto& t : tb)
      if (!ta.count(t)) g.added.push_back(t);
    for (const auto& t : ta)
      if (!tb.count(t)) g.removed.push_back(t);
  }
  if (a.property_graph || b.property_graph) {
    PartDiff& pg = out.parts["property_graph"];
    auto section = [](const Store& s, const char* n) { return s.property_graph ? s.property_graph->section(n) : nullptr; };
    for (const char* n : {"nodes", "relations"})
      compare(keyed(section(a, n)), keyed(section(b, n)), pg, [&](const std::string& id, const Entry& x, const Entry& y) {
        if (!(a.property_graph->decode(x.raw) == b.property_graph->decode(y.raw)))
          pg.changed.push_back({id, {n}, {}, {}, {}, {}, {}, {}});
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

}  // namespace

// Chat stores, key by key, messages compared as LlamaIndex reads them (so a
// 0.10 store and its 0.12 upgrade are equal).
void diff_chats(const Store& a, const Store& b, StoreDiff& out) {
  auto read_all = [](const Store& s) {
    std::map<std::string, std::vector<Json>> keys;
    for (const FileInfo* f : side_files(s, FileKind::ChatStore)) {
      ChatStore chat = read_chat_file(*f);
      for (const std::string& k : chat.keys())
        for (const Json& m : *chat.messages(k)) keys[k].push_back(chat_message_as_read(m));
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
      if (!(x[i] == y[i])) c.fields.push_back(fmt::format("message {}", i));
    if (y.size() > x.size()) c.fields.push_back(fmt::format("+{} messages", y.size() - x.size()));
    if (x.size() > y.size()) c.fields.push_back(fmt::format("-{} messages", x.size() - y.size()));
    if (!c.fields.empty()) part.changed.push_back(std::move(c));
  }
}

StoreDiff diff_stores(const Store& a, const Store& b, const DiffOptions& given) {
  StoreDiff out;
  DiffOptions options = given;
  // JavaScript has one number type: 1.0 comes back from a TS store as 1.
  if (a.dialect != b.dialect) options.numbers_as_doubles = true;
  diff_nodes(a, b, options, out);
  diff_indexes(a, b, out);
  diff_vectors(a, b, options, out);
  diff_graphs(a, b, out);
  diff_chats(a, b, out);
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
