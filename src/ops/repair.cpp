// lstore repair (include/lstore/repair.hpp): each repair answers one validate
// rule and leaves the store as LlamaIndex's own deletes and inserts would
// have left it. validate decides whether a rule fires (so repair never acts
// where validate is silent, e.g. on a store whose docstore holds no text);
// the ids are then read from the model. Removals go through delete.cpp.
#include "lstore/repair.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <unordered_set>

#include "lstore/error.hpp"
#include "core/hash.hpp"
#include "lstore/model.hpp"
#include "core/sniff.hpp"
#include "lstore/validate.hpp"
#include "salvage.hpp"

namespace lstore {
namespace {

// "1 vector", "3 vectors": a count and its noun, as the step lines say them.
std::string count_of(std::size_t n, const char* one, const char* many) { return fmt::format("{} {}", n, n == 1 ? one : many); }

using IdSet = std::unordered_set<std::string>;

constexpr const char* kRefDocDangling = "ref-doc-dangling-node";
constexpr const char* kIndexDangling = "index-dangling-node";
constexpr const char* kVectorWithoutNode = "vector-without-node";
constexpr const char* kVectorNotIndexed = "vector-not-indexed";
constexpr const char* kLegacyName = "legacy-vector-store-name";
constexpr const char* kParseError = "parse-error";
constexpr const char* kNodeWithoutMetadata = "node-without-metadata";

void merge(ChangeSet& into, ChangeSet from) {
  using Parts = std::map<std::string, std::vector<std::string>>;
  auto add = [](Parts& to, Parts& more) {
    for (auto& [part, ids] : more) {
      auto& list = to[part];
      list.insert(list.end(), ids.begin(), ids.end());
    }
  };
  add(into.removed, from.removed);
  add(into.changed, from.changed);
  add(into.added, from.added);
}

IdSet docstore_ids(const Store& store) {
  IdSet ids;
  if (const Section* data = store.doc_collection(coll::kDocData))
    for (const Entry& e : data->entries) ids.emplace(e.key);
  return ids;
}

bool is_vector_index(const std::string& type) {
  return type == "vector_store" || type == "multimodal" || type == "simple_dict" || type == "dict";
}

// The node ids an index struct references, read as validate reads them.
std::vector<std::string> referenced_ids(const IndexStruct& s) {
  std::vector<std::string> out;
  auto values = [&](const Json* v) {
    if (!v) return;
    if (v->is_array())
      for (const Json& x : v->as_array())
        if (x.is_string()) out.push_back(x.as_string());
    if (v->is_object())
      for (const auto& [k, x] : v->as_object()) {
        if (x.is_string()) out.push_back(x.as_string());
        else if (x.is_array())
          for (const Json& y : x.as_array())
            if (y.is_string()) out.push_back(y.as_string());
      }
  };
  auto keys = [&](const Json* v) {
    if (v && v->is_object())
      for (const auto& [k, x] : v->as_object()) out.push_back(k);
  };
  const std::string& t = s.type;
  if (t == "vector_store" || t == "multimodal") values(s.data.find("nodes_dict"));
  else if (t == "simple_dict" || t == "dict") keys(s.data.find("nodesDict"));
  else if (t == "list") values(s.data.find("nodes"));
  else if (t == "tree") values(s.data.find("all_nodes"));
  else if (t == "keyword_table" || t == "kg") values(s.data.find("table"));
  else if (t == "document_summary") {
    keys(s.data.find("node_id_to_summary_id"));
    keys(s.data.find("summary_id_to_node_ids"));
  }
  return out;
}

// Every index struct that decodes (one that does not is validate's
// bad-index-data, which repair leaves alone).
std::vector<IndexStruct> index_structs(const Store& store) {
  std::vector<IndexStruct> out;
  if (const Section* idx = store.index_collection())
    for (const Entry& e : idx->entries) {
      try {
        out.push_back(decode_index_struct(*store.index_store, e));
      } catch (const Error&) {
      }
    }
  return out;
}

// The vector ids the index structs hold as validate counts them: nodes_dict
// keys (what VectorIndexRetriever looks a ranked vector up in), and a
// document summary index's summary ids.
IdSet nodes_dict_keys(const Store& store) {
  IdSet out;
  for (const IndexStruct& s : index_structs(store)) {
    for (const char* name : {"nodes_dict", "nodesDict"})
      if (const Json* nd = s.data.find(name); nd && nd->is_object() && is_vector_index(s.type))
        for (const auto& [k, v] : nd->as_object()) out.insert(k);
    if (s.type == "document_summary")
      if (const Json* ss = s.data.find("summary_id_to_node_ids"); ss && ss->is_object())
        for (const auto& [k, v] : ss->as_object()) out.insert(k);
  }
  return out;
}

class Repairer {
 public:
  Repairer(Store& s, const RepairOptions& o) : m_store(s), m_opts(o) {}

  RepairResult run() {
    std::set<std::string> firing = fired();
    // A file json.load refuses hides every other finding: salvaged first,
    // the other repairs then answer what its loss leaves dangling.
    if (firing.count(kParseError)) {
      salvage_files();
      firing = fired();
      firing.erase(kParseError);
    }
    if (firing.count(kLegacyName)) rename_legacy_vector_store();
    if (firing.count(kNodeWithoutMetadata)) rebuild_node_metadata();
    if (firing.count(kRefDocDangling)) drop_dangling_ref_doc_nodes();
    if (firing.count(kIndexDangling)) drop_dangling_index_nodes();
    if (firing.count(kVectorWithoutNode) || firing.count(kVectorNotIndexed)) fix_vectors(firing);
    // What is still there after the repairs is said, not hidden.
    if (!m_result.steps.empty() || !firing.empty()) {
      std::map<std::string, std::size_t> left;
      for (const Finding& f : validate(m_store, {wanted_rules(), {}, {}})) ++left[f.rule];
      for (const auto& [rule, n] : left) {
        RepairStep* step = step_for(rule);
        if (!step) {
          m_result.steps.push_back({rule, "", "nothing", 0, {}, 0, {}});
          step = &m_result.steps.back();
        }
        step->left = n;
        if (step->left_why.empty()) step->left_why = "lstore cannot tell how to repair these safely";
      }
    }
    return std::move(m_result);
  }

 private:
  std::set<std::string> wanted_rules() const {
    std::set<std::string> rules;
    for (const std::string& r : repairable_rules())
      if (m_opts.only.empty() || m_opts.only.count(r)) rules.insert(r);
    return rules;
  }

  // The repairable rules validate reports on the store as it is.
  std::set<std::string> fired() const {
    std::set<std::string> out;
    for (const Finding& f : validate(m_store, {wanted_rules(), {}, {}})) out.insert(f.rule);
    return out;
  }

  RepairStep* step_for(const std::string& rule) {
    for (RepairStep& s : m_result.steps)
      if (s.rule == rule) return &s;
    return nullptr;
  }

  RepairStep& add_step(const char* rule, const char* verb, std::string action, std::vector<std::string> ids) {
    m_result.steps.push_back({rule, verb, std::move(action), ids.size(), std::move(ids), 0, {}});
    return m_result.steps.back();
  }

  // The model's slot for a store file of `kind`, or nullptr when the model
  // holds another file of that kind already (the salvaged file stays as it was).
  JsonDoc* take_slot(FileKind kind, const std::string& name, JsonDoc doc) {
    auto take = [&](std::optional<JsonDoc>& slot) -> JsonDoc* {
      if (slot && slot->name() != name) return nullptr;
      slot = std::move(doc);
      return &*slot;
    };
    switch (kind) {
      case FileKind::DocStore: return take(m_store.docstore);
      case FileKind::IndexStore: return take(m_store.index_store);
      case FileKind::VectorStore: {
        // The namespace as StoreBuilder names it from the file name.
        std::string base = name.substr(name.rfind('/') + 1);
        std::string ns = name.rfind("images/", 0) == 0          ? "images"
                         : base.find("__") != std::string::npos ? base.substr(0, base.find("__"))
                         : base == "vector_store.json"          ? "default"
                                                                : base.substr(0, base.size() - 5);
        for (VectorStoreDoc& v : m_store.vector_stores)
          if (v.ns == ns) {
            if (v.doc.name() != name) return nullptr;
            v.doc = std::move(doc);
            return &v.doc;
          }
        auto at = std::find_if(m_store.vector_stores.begin(), m_store.vector_stores.end(),
                               [&](const VectorStoreDoc& v) { return v.doc.name() > name; });
        return &m_store.vector_stores.insert(at, VectorStoreDoc{ns, std::move(doc)})->doc;
      }
      default: return nullptr;
    }
  }

  // A file that outlined but holds entries json.load refuses (invalid UTF-8,
  // a bad escape or number inside one entry): only those entries go, the
  // entries after them stay. False when that is not enough (the damage is
  // outside any entry), so that the file is cut instead.
  bool drop_unreadable_entries(const std::string& name) {
    JsonDoc* doc = nullptr;
    for (std::optional<JsonDoc>* slot : {&m_store.docstore, &m_store.index_store, &m_store.graph_store, &m_store.property_graph})
      if (*slot && (*slot)->name() == name) doc = &**slot;
    for (VectorStoreDoc& v : m_store.vector_stores)
      if (v.doc.name() == name) doc = &v.doc;
    if (!doc || doc->changed()) return false;
    JsonDoc edited = *doc;
    std::vector<std::pair<std::string, std::string>> bad;  // section, key
    for (const Section& sec : edited.sections()) {
      if (!sec.outlined || sec.is_array) {
        if (!accepts_json(sec.raw)) return false;
        continue;
      }
      for (const Entry& e : sec.entries)
        if (!accepts_json(e.raw) || !accepts_json(e.raw_key)) bad.emplace_back(sec.name, std::string(e.key));
    }
    if (bad.empty()) return false;
    for (const auto& [sec, key] : bad) edited.erase(*edited.section(sec), key);
    try {
      edited.verify();
    } catch (const Error&) {
      return false;
    }
    *doc = std::move(edited);
    std::vector<std::string> ids;
    for (const auto& [sec, key] : bad) {
      m_result.changes.removed[name + ":" + sec].push_back(key);
      ids.push_back(key);
    }
    std::string action =
        fmt::format("{} of {} (json.load refuses {}; every other entry keeps its bytes)",
                    count_of(ids.size(), "damaged entry", "damaged entries"), name, ids.size() == 1 ? "it" : "them");
    add_step(kParseError, "remove", std::move(action), std::move(ids));
    return true;
  }

  // Every store file json.load refuses, cut back to its last complete entry
  // (salvage.hpp): a file that did not parse at all (FileKind::Broken) and
  // one that outlined but holds an entry json.load refuses (unless dropping
  // just those entries is enough).
  void salvage_files() {
    std::set<std::string> refused;
    for (const Finding& f : validate(m_store, {{kParseError}, {}, {}})) refused.insert(f.file);
    for (FileInfo& f : m_store.files) {
      const std::string base = f.name.substr(f.name.rfind('/') + 1);
      const JsonDoc* held = m_store.document(f.name);
      if (held && refused.count(f.name) && drop_unreadable_entries(f.name)) continue;
      std::shared_ptr<Buffer> bytes;
      if (f.kind == FileKind::Broken && f.bytes && is_store_file_name(base)) bytes = f.bytes;
      else if (held && refused.count(f.name) && !held->changed()) bytes = Buffer::own(std::string(held->bytes()));
      if (!bytes) continue;
      std::optional<Salvaged> s = salvage_json_object(bytes->view());
      auto leave = [&](std::string why) {
        add_step(kParseError, "", "nothing", {}).left_why = f.name + ": " + why;
      };
      if (!s) {
        leave("not even its root object opens before the damage; restore it from a backup");
        continue;
      }
      std::optional<JsonDoc> doc;
      Dialect dialect = Dialect::Python;
      std::string detail;
      FileKind kind = FileKind::Other;
      try {
        doc = JsonDoc::read(f.name, Buffer::own(s->bytes), held ? held->dialect() : JsonDialect::Python);
        kind = held ? f.kind : classify_json(*doc, base, dialect, detail);
      } catch (const Error& e) {
        leave(std::string("what is left is still unreadable: ") + e.what());
        continue;
      }
      if (!held && (dialect == Dialect::TypeScript || m_store.dialect == Dialect::TypeScript)) doc->set_dialect(JsonDialect::JavaScript);
      if (!take_slot(kind, f.name, std::move(*doc))) {
        leave(fmt::format("what is left is not a docstore, index store or vector store lstore can place ({})", file_kind_name(kind)));
        continue;
      }
      const std::uint64_t before = bytes->view().size();
      // A docstore cut inside an earlier collection loses the later ones
      // whole: rebuilt below from the nodes kept, when the part cut away names
      // them, or when the file ends at the damage and LlamaIndex of the
      // store's era always writes them (metadata beside every node since
      // StorageContext; ref_doc_info since text_id_to_ref_doc_id, 2023-06).
      if (kind == FileKind::DocStore && m_store.dialect == Dialect::Python) {
        std::string_view tail = bytes->view().substr(std::min<std::size_t>(s->damage_at, bytes->view().size()));
        const bool truncated = s->damage_at >= bytes->view().size();
        bool ref_doc_era = false;
        for (const VectorStoreDoc& v : m_store.vector_stores) ref_doc_era |= v.doc.section("text_id_to_ref_doc_id") != nullptr;
        const std::pair<const char*, bool> always[] = {{coll::kDocMetadata, m_store.index_store.has_value()},
                                                        {coll::kRefDocInfo, ref_doc_era}};
        for (const auto& [c, written] : always)
          if (!m_store.docstore->section(c) &&
              (tail.find(fmt::format("\"{}\":", c)) != std::string_view::npos || (truncated && written)))
            m_lost_collections.insert(c);
      }
      // A vector store cut inside embedding_dict loses the entries of the
      // vectors kept from the two collections written after it: completed
      // below from the docstore, when the file had them.
      if (kind == FileKind::VectorStore && m_store.dialect == Dialect::Python) {
        std::string_view tail = bytes->view().substr(std::min<std::size_t>(s->damage_at, bytes->view().size()));
        const JsonDoc* vs = m_store.document(f.name);
        // A namespaced file (0.9+) always had both: SimpleVectorStoreData
        // writes them, empty or not, after embedding_dict.
        const bool always = s->damage_at >= bytes->view().size() && base.find("__vector_store.json") != std::string::npos;
        for (const char* c : {"text_id_to_ref_doc_id", "metadata_dict"})
          if (vs && (always || vs->section(c) || tail.find(fmt::format("\"{}\":", c)) != std::string_view::npos))
            m_vector_parts_to_complete.emplace_back(f.name, c);
      }
      f.kind = kind;
      f.size = s->bytes.size();
      if (!detail.empty()) f.detail = detail;
      f.bytes.reset();
      std::string how;
      if (!s->skipped.empty()) {
        how = fmt::format("dropped {} damaged entr{} the file goes on after (", s->skipped.size(), s->skipped.size() == 1 ? "y" : "ies");
        for (std::size_t i = 0; i < s->skipped.size() && i < 3; ++i)
          how += (i ? ", " : "") + s->skipped[i].first + "." + s->skipped[i].second;
        how += s->skipped.size() > 3 ? ", ...); " : "); ";
        for (const auto& [c, key] : s->skipped) m_result.changes.removed[f.name + ":" + c].push_back(key);
      }
      if (s->kept < s->bytes.size())  // a cut at the last damage
        how += fmt::format("cut {}; every entry after the cut is lost",
                           s->cut_in.empty() ? "between its collections"
                                             : fmt::format("in {} after {} complete entr{}", s->cut_in, s->entries_kept,
                                                           s->entries_kept == 1 ? "y" : "ies"));
      else
        how += "every other entry kept";
      m_salvage_notes.push_back({f.name, kind,
                                 fmt::format("{} from the damage at byte {} ({}; {} -> {} bytes", f.name, s->damage_at, how, before,
                                             s->bytes.size())});
      m_result.changes.changed["files"].push_back(f.name + " (salvaged)");
    }
    if (m_salvage_notes.empty()) return;
    m_store.era = detect_era(m_store);
    // What was lost, as far as the other stores know it: the ids they name
    // that the salvaged file no longer holds.
    for (auto& [name, kind, action] : m_salvage_notes) {
      std::vector<std::string> lost = lost_ids(kind);
      action += lost.empty() ? "; no id the other stores name is missing)"
                             : fmt::format("; {} ids the other stores name are gone with it)", lost.size());
      for (const std::string& id : lost) m_result.changes.removed[name].push_back(id);
      RepairStep& step = add_step(kParseError, "salvage", action, std::move(lost));
      step.count = step.ids.size();
    }
    complete_vector_parts();
    if (m_lost_collections.count(coll::kDocMetadata)) {
      // Every node kept then lacks its entry: node-without-metadata's repair
      // writes them, and their ref docs' ref_doc_info entries with them.
      m_store.docstore->add_section(coll::kDocMetadata, true);
      rebuild_node_metadata();
    } else if (m_lost_collections.count(coll::kRefDocInfo)) {
      rebuild_ref_doc_info();
    }
  }

  // text_id_to_ref_doc_id and metadata_dict entries of the vectors a salvage
  // kept, as SimpleVectorStore.add writes them for the node: its ref doc id
  // (or "None"), and node_to_metadata_dict(node, remove_text=True) without
  // _node_content (the node's metadata, _node_type, document_id, doc_id,
  // ref_doc_id). A vector whose node the docstore lacks is left, and said.
  void complete_vector_parts() {
    const Section* data = m_store.doc_collection(coll::kDocData);
    for (const auto& [file, part] : m_vector_parts_to_complete) {
      auto v = std::find_if(m_store.vector_stores.begin(), m_store.vector_stores.end(),
                            [&](const VectorStoreDoc& x) { return x.doc.name() == file; });
      if (v == m_store.vector_stores.end()) continue;
      JsonDoc& doc = v->doc;
      if (!doc.section("embedding_dict") || !doc.section("embedding_dict")->outlined) continue;
      // Added first: a new section may move the others (emb is taken after).
      Section* sec = doc.section(part);
      if (!sec) sec = &doc.add_section(part, true);
      const Section* emb = doc.section("embedding_dict");
      std::vector<std::string> rebuilt, left;
      std::vector<std::pair<std::string, Json>> entries;
      for (const Entry& e : emb->entries) {
        if (sec->find(e.key)) continue;
        const Entry* ne = data ? data->find(e.key) : nullptr;
        std::optional<Node> n;
        if (ne) try {
            n = decode_node(*m_store.docstore, *ne);
          } catch (const Error&) {
          }
        if (!n) {
          left.emplace_back(e.key);
          continue;
        }
        Json ref(n->ref_doc_id.value_or("None"));
        if (std::string_view(part) == "text_id_to_ref_doc_id") {
          entries.emplace_back(std::string(e.key), ref);
        } else {
          Json meta(JsonObject{});
          if (n->metadata.is_object())
            for (const auto& [k, val] : n->metadata.as_object()) meta.set(k, val);
          meta.set("_node_type", Json(n->class_name.empty() ? std::string("TextNode") : n->class_name));
          meta.set("document_id", ref);
          meta.set("doc_id", ref);
          meta.set("ref_doc_id", ref);
          entries.emplace_back(std::string(e.key), std::move(meta));
        }
        rebuilt.emplace_back(e.key);
      }
      for (auto& [key, val] : entries) doc.put(*sec, key, val);
      if (rebuilt.empty() && left.empty()) continue;
      auto& added = m_result.changes.added[file + ":" + part];
      added.insert(added.end(), rebuilt.begin(), rebuilt.end());
      std::string action = fmt::format(
          "{} {} {} of {} for the vectors kept, from their docstore nodes, as SimpleVectorStore.add writes them",
          rebuilt.size(), part, rebuilt.size() == 1 ? "entry" : "entries", file);
      RepairStep& step = add_step(kParseError, "re-create", std::move(action), std::move(rebuilt));
      step.left = left.size();
      if (!left.empty())
        step.left_why = fmt::format("{} kept {} no readable docstore node to rebuild {} {} entry from",
                                    count_of(left.size(), "vector", "vectors"), left.size() == 1 ? "has" : "have",
                                    left.size() == 1 ? "its" : "their", part);
    }
  }

  // docstore/ref_doc_info as add_documents builds it for the nodes kept: per
  // ref doc (a node's SOURCE relationship), its node ids in docstore order
  // and the metadata of its first node (RefDocInfo.metadata is set from the
  // first node added).
  void rebuild_ref_doc_info() {
    JsonDoc& doc = *m_store.docstore;
    const Section* data = doc.section(coll::kDocData);
    if (!data || !data->outlined) return;
    std::vector<std::string> order;
    std::map<std::string, Json> infos;
    for (const Entry& e : data->entries) {
      Node n;
      try {
        n = decode_node(doc, e);
      } catch (const Error&) {
        continue;
      }
      if (!n.ref_doc_id || n.type_code == "4") continue;  // a Document is its own ref doc, listed by none
      auto [it, fresh] = infos.try_emplace(*n.ref_doc_id);
      if (fresh) {
        it->second = Json(JsonObject{{"node_ids", JsonArray{}}, {"metadata", n.metadata.is_object() ? n.metadata : Json(JsonObject{})}});
        order.push_back(*n.ref_doc_id);
      }
      it->second.find("node_ids")->as_array().emplace_back(std::string(e.key));
    }
    if (order.empty()) return;
    Section& info = doc.add_section(coll::kRefDocInfo, true);
    for (const std::string& r : order) {
      doc.put(info, r, infos[r]);
      m_result.changes.added[doc.name() + ":" + coll::kRefDocInfo].push_back(r);
    }
    std::string action = fmt::format("docstore/ref_doc_info, lost with the part cut away, for the {} ref docs of the nodes kept "
                                     "(as add_documents builds it)",
                                     order.size());
    add_step(kParseError, "re-create", std::move(action), std::move(order));
  }

  // The ids the rest of the store names that a salvaged file of `kind` lacks.
  std::vector<std::string> lost_ids(FileKind kind) const {
    std::vector<std::string> out;
    IdSet seen;
    auto lost_unless = [&](const IdSet& holds, const std::string& id) {
      if (!holds.count(id) && seen.insert(id).second) out.push_back(id);
    };
    const IdSet nodes = docstore_ids(m_store);
    IdSet vectors;
    for (const VectorStoreDoc& v : m_store.vector_stores)
      if (VectorSections s = vector_sections(v.doc); s.embeddings && s.embeddings->outlined)
        for (const Entry& e : s.embeddings->entries) vectors.emplace(e.key);
    if (kind == FileKind::DocStore) {
      for (const IndexStruct& s : index_structs(m_store))
        for (const std::string& id : referenced_ids(s)) lost_unless(nodes, id);
      for (const std::string& id : ref_doc_node_ids()) lost_unless(nodes, id);
      for (const VectorStoreDoc& v : m_store.vector_stores)
        if (VectorSections s = vector_sections(v.doc); s.embeddings && s.embeddings->outlined)
          for (const Entry& e : s.embeddings->entries) lost_unless(nodes, std::string(e.key));
    } else if (kind == FileKind::VectorStore) {
      for (const std::string& id : nodes_dict_keys(m_store)) lost_unless(vectors, id);
    } else if (kind == FileKind::IndexStore) {
      // The nodes no surviving index names (they were in the lost structs, or unindexed before).
      IdSet referenced;
      for (const IndexStruct& s : index_structs(m_store))
        for (std::string& id : referenced_ids(s)) referenced.insert(std::move(id));
      for (const std::string& id : ref_doc_node_ids()) lost_unless(referenced, id);
    }
    return out;
  }

  // Every node id ref_doc_info lists (any era's spelling).
  std::vector<std::string> ref_doc_node_ids() const {
    std::vector<std::string> out;
    if (!m_store.docstore) return out;
    if (const Section* info = m_store.docstore->section(coll::kRefDocInfo); info && info->outlined)
      for (const Entry& e : info->entries) {
        Json v = m_store.docstore->decode(e.raw);
        if (const Json* ids = v.is_object() ? v.find(ref_doc_ids_key(v)) : nullptr; ids && ids->is_array())
          for (const Json& id : ids->as_array())
            if (id.is_string()) out.push_back(id.as_string());
      }
    return out;
  }

  // 0.11.3+ loads only <namespace>__vector_store.json; the bytes stay as they are.
  void rename_legacy_vector_store() {
    // Only a JSON vector store the model holds: a Git LFS pointer renamed
    // would still be a pointer (validate keeps saying so).
    bool held = false;
    for (const VectorStoreDoc& v : m_store.vector_stores) held |= v.doc.name() == "vector_store.json";
    if (!held) {
      add_step(kLegacyName, "", "nothing", {}).left_why = "vector_store.json is not a JSON vector store lstore read (a Git LFS pointer?)";
      return;
    }
    for (FileInfo& f : m_store.files)
      if (f.name == "vector_store.json") f.name = "default__vector_store.json";
    for (VectorStoreDoc& v : m_store.vector_stores)
      if (v.doc.name() == "vector_store.json") v.doc.set_name("default__vector_store.json");
    m_result.changes.changed["files"].push_back("vector_store.json -> default__vector_store.json");
    add_step(kLegacyName, "rename", "vector_store.json to default__vector_store.json (bytes unchanged)", {"vector_store.json"});
  }

  // A docstore node without its docstore/metadata entry gets the one
  // KVDocumentStore.add_documents writes ({"doc_hash": node.hash,
  // "ref_doc_id": ...}), and joins its ref doc's ref_doc_info entry (made
  // {"node_ids": [id], "metadata": node.metadata} when there is none), so
  // delete_ref_doc and refresh_ref_docs find it again. The hash is the one the
  // node stored (0.6.34-0.9) or sha256(text + str(metadata)) (TextNode and
  // IndexNode since 0.10); anything else is left.
  void rebuild_node_metadata() {
    JsonDoc& doc = *m_store.docstore;
    Section* data = doc.section(coll::kDocData);
    Section* meta = doc.section(coll::kDocMetadata);
    if (!data || !meta || !data->outlined || !meta->outlined) return;
    std::vector<std::string> rebuilt;
    std::size_t left = 0;
    std::vector<std::string> refs;
    std::map<std::string, Json> infos;
    std::vector<std::pair<std::string, Json>> entries;
    for (const Entry& e : data->entries) {
      if (meta->find(e.key)) continue;
      Node n;
      try {
        n = decode_node(doc, e);
      } catch (const Error&) {
        ++left;
        continue;
      }
      const bool text_node = n.class_name == "TextNode" || n.class_name == "IndexNode";
      std::optional<std::string> hash = n.hash;
      if (!hash && m_store.dialect == Dialect::Python && text_node && !n.data.find("extra_info"))
        hash = text_node_hash(n.text, n.metadata.is_object() ? n.metadata : Json(JsonObject{}));
      if (!hash || m_store.dialect != Dialect::Python) {
        ++left;
        continue;
      }
      JsonObject md{{"doc_hash", *hash}};
      if (n.ref_doc_id) {
        md.emplace_back("ref_doc_id", *n.ref_doc_id);
        auto it = infos.find(*n.ref_doc_id);
        if (it == infos.end()) {
          const Section* info = doc.section(coll::kRefDocInfo);
          const Entry* ie = info ? info->find(*n.ref_doc_id) : nullptr;
          Json v = ie ? doc.decode(ie->raw) : Json(JsonObject{{"node_ids", JsonArray{}}, {"metadata", n.metadata}});
          it = infos.emplace(*n.ref_doc_id, std::move(v)).first;
          refs.push_back(*n.ref_doc_id);
        }
        Json& info = it->second;
        const char* key = ref_doc_ids_key(info);
        if (!info.find(key) || !info.find(key)->is_array()) info.set(key, Json(JsonArray{}));
        bool listed = false;
        for (const Json& x : info.find(key)->as_array()) listed |= x.is_string() && x.as_string() == e.key;
        if (!listed) info.find(key)->as_array().emplace_back(std::string(e.key));
      }
      entries.emplace_back(std::string(e.key), Json(std::move(md)));
      rebuilt.emplace_back(e.key);
    }
    for (auto& [key, v] : entries) doc.put(*meta, key, v);
    if (!entries.empty()) {
      auto& added = m_result.changes.added[doc.name() + ":" + coll::kDocMetadata];
      for (auto& [key, v] : entries) added.push_back(key);
    }
    if (!refs.empty()) {
      Section* info = doc.section(coll::kRefDocInfo);
      if (!info) info = &doc.add_section(coll::kRefDocInfo, true);
      for (const std::string& r : refs) {
        bool existed = info->find(r) != nullptr;
        doc.put(*info, r, infos[r]);
        (existed ? m_result.changes.changed : m_result.changes.added)[doc.name() + ":" + coll::kRefDocInfo].push_back(r);
      }
    }
    if (!rebuilt.empty()) {
      std::string action = fmt::format("{} as add_documents writes them ({} updated)",
                                       count_of(rebuilt.size(), "docstore/metadata entry", "docstore/metadata entries"),
                                       count_of(refs.size(), "ref_doc_info entry", "ref_doc_info entries"));
      add_step(kNodeWithoutMetadata, "re-create", std::move(action), std::move(rebuilt));
    }
    if (left) {
      RepairStep* step = step_for(kNodeWithoutMetadata);
      if (!step) step = &add_step(kNodeWithoutMetadata, "", "nothing", {});
      step->left_why = "their hash is not one lstore computes (a Document, an ImageNode, a TS store, a 0.6 node): re-add them with lstore put";
    }
  }

  // ref_doc_info node ids the docstore lacks go; a ref doc left with none
  // goes too (its ref_doc_info, metadata and data entries), as
  // docstore.delete_ref_doc would remove it.
  void drop_dangling_ref_doc_nodes() {
    JsonDoc& doc = *m_store.docstore;
    Section* info = doc.section(coll::kRefDocInfo);
    if (!info) return;
    const IdSet nodes = docstore_ids(m_store);
    std::vector<std::string> dropped, emptied;
    std::vector<std::pair<std::string, Json>> rewrites;
    for (const Entry& e : info->entries) {
      Json v = doc.decode(e.raw);
      if (!v.is_object()) continue;
      const char* name = ref_doc_ids_key(v);
      const Json* ids = v.find(name);
      if (!ids || !ids->is_array()) continue;
      JsonArray kept;
      bool any = false;
      for (const Json& id : ids->as_array()) {
        if (id.is_string() && !nodes.count(id.as_string())) {
          dropped.push_back(id.as_string());
          any = true;
        } else {
          kept.push_back(id);
        }
      }
      if (!any) continue;
      if (kept.empty()) {
        emptied.emplace_back(e.key);
        continue;
      }
      v.set(name, Json(std::move(kept)));
      rewrites.emplace_back(std::string(e.key), std::move(v));
    }
    for (auto& [key, v] : rewrites) {
      doc.put(*info, key, v);
      m_result.changes.changed[doc.name() + ":" + coll::kRefDocInfo].push_back(key);
    }
    for (const std::string& ref : emptied)
      for (const char* c : {coll::kRefDocInfo, coll::kDocMetadata, coll::kDocData})
        if (Section* s = doc.section(c)) {
          bool any = false;
          while (doc.erase(*s, ref)) any = true;
          if (any) m_result.changes.removed[doc.name() + ":" + c].push_back(ref);
        }
    std::size_t n = dropped.size();
    add_step(kRefDocDangling, "remove",
             fmt::format("{} the docstore lacks from ref_doc_info ({} rewritten, {} left with no node removed)",
                         count_of(n, "node id", "node ids"), count_of(rewrites.size(), "ref doc", "ref docs"), emptied.size()),
             std::move(dropped));
  }

  // Index structs lose the node ids the docstore lacks, as index.delete_nodes
  // would remove them (delete.cpp's per-index-type rules).
  void drop_dangling_index_nodes() {
    drop_dangling_summaries();
    const IdSet nodes = docstore_ids(m_store);
    std::vector<std::string> dangling;
    IdSet seen;
    for (const IndexStruct& s : index_structs(m_store))
      for (std::string& id : referenced_ids(s))
        if (!nodes.count(id) && seen.insert(id).second) dangling.push_back(std::move(id));
    if (dangling.empty()) return;
    ChangeSet c = delete_index_references(m_store, dangling);
    std::size_t refs = 0;
    for (const auto& [part, ids] : c.removed) refs += ids.size();
    merge(m_result.changes, std::move(c));
    // The text is built before the ids move into the step (argument order is unspecified).
    std::string action = fmt::format("{} to {} the docstore lacks from index structs", count_of(refs, "reference", "references"),
                                     count_of(dangling.size(), "node", "nodes"));
    add_step(kIndexDangling, "remove", std::move(action), std::move(dangling));
  }

  // A document summary index whose summary node the docstore lacks: the
  // summary goes as IndexDocumentSummary.delete(doc_id) removes it (its
  // summary_id_to_node_ids entry, its nodes' node_id_to_summary_id entries,
  // the doc_id_to_summary_id entries naming it). Its nodes stay in the
  // docstore; its summary's vector, if any, is then vector-without-node's.
  void drop_dangling_summaries() {
    const IdSet nodes = docstore_ids(m_store);
    if (nodes.empty()) return;
    std::vector<std::string> gone;
    for (const IndexStruct& s : index_structs(m_store)) {
      if (s.type != "document_summary") continue;
      std::vector<std::string> here;
      edit_index_data(s.id, [&](Json& data) {
        Json* by_summary = data.find("summary_id_to_node_ids");
        if (!by_summary || !by_summary->is_object()) return false;
        IdSet dropped_nodes, dropped_summaries;
        auto& o = by_summary->as_object();
        for (auto it = o.begin(); it != o.end();) {
          if (nodes.count(it->first)) {
            ++it;
            continue;
          }
          if (it->second.is_array())
            for (const Json& n : it->second.as_array())
              if (n.is_string()) dropped_nodes.insert(n.as_string());
          dropped_summaries.insert(it->first);
          here.push_back(it->first);
          it = o.erase(it);
        }
        if (here.empty()) return false;
        auto drop_where = [](Json* map, auto&& pred) {
          if (!map || !map->is_object()) return;
          auto& m = map->as_object();
          m.erase(std::remove_if(m.begin(), m.end(), pred), m.end());
        };
        drop_where(data.find("node_id_to_summary_id"), [&](const auto& kv) {
          return dropped_nodes.count(kv.first) || (kv.second.is_string() && dropped_summaries.count(kv.second.as_string()));
        });
        drop_where(data.find("doc_id_to_summary_id"),
                   [&](const auto& kv) { return kv.second.is_string() && dropped_summaries.count(kv.second.as_string()); });
        return true;
      });
      gone.insert(gone.end(), here.begin(), here.end());
    }
    if (gone.empty()) return;
    std::string action = fmt::format("{} whose summary node the docstore lacks ({} nodes stay in the "
                                     "docstore, no longer summarised)",
                                     count_of(gone.size(), "document summary", "document summaries"),
                                     gone.size() == 1 ? "its" : "their");
    add_step(kIndexDangling, "remove", std::move(action), std::move(gone));
  }

  // Rewrites index `id`'s data with `edit` (which says whether it changed
  // anything), keeping __data__ a JSON string when it was one, as
  // dataclasses-json's to_json() writes it.
  template <typename Edit>
  bool edit_index_data(const std::string& id, Edit&& edit) {
    const Section* idx = m_store.index_collection();
    if (!idx || !m_store.index_store) return false;
    JsonDoc& doc = *m_store.index_store;
    Section* sec = doc.section(idx->name);
    const Entry* e = sec ? sec->find(id) : nullptr;
    if (!e) return false;
    Json env = doc.decode(e->raw);
    Json* data_field = env.find("__data__");
    if (!data_field) return false;
    bool as_string = data_field->is_string();
    Json data = as_string ? parse(data_field->as_string()) : *data_field;
    if (!edit(data)) return false;
    *data_field = as_string ? Json(dump(data, {JsonDialect::Python})) : std::move(data);
    doc.put(*sec, id, env);
    m_result.changes.changed[doc.name() + ":" + sec->name].push_back(id);
    return true;
  }

  // Vectors whose node is in neither the docstore nor any index go
  // (SimpleVectorStore.delete's three dicts); a vector whose node the
  // docstore holds but no nodes_dict does is re-attached to the vector index
  // (nodes_dict[id] = id, as VectorStoreIndex._add_nodes_to_index writes it).
  void fix_vectors(const std::set<std::string>& firing) {
    const IdSet nodes = docstore_ids(m_store);
    IdSet referenced, pg_nodes;
    for (const IndexStruct& s : index_structs(m_store))
      for (std::string& id : referenced_ids(s)) referenced.insert(std::move(id));
    const IdSet indexed = nodes_dict_keys(m_store);
    if (m_store.property_graph)
      if (const Section* n = m_store.property_graph->section("nodes"); n && n->outlined)
        for (const Entry& e : n->entries) pg_nodes.emplace(e.key);
    std::vector<std::string> drop, attach, still_indexed, unattached;
    IdSet seen;
    for (const VectorStoreDoc& v : m_store.vector_stores) {
      VectorSections s = vector_sections(v.doc);
      if (!s.embeddings || !s.embeddings->outlined) continue;
      for (const Entry& e : s.embeddings->entries) {
        std::string id(e.key);
        if (pg_nodes.count(id) || !seen.insert(id).second) continue;
        bool has_node = nodes.count(id) > 0;
        bool in_index = indexed.count(id) > 0 || referenced.count(id) > 0;
        if (!has_node && !nodes.empty()) {
          if (!in_index) drop.push_back(id);
          else still_indexed.push_back(id);
        } else if (has_node && m_store.index_store && !indexed.count(id)) {
          attach.push_back(id);
        }
      }
    }
    if (!drop.empty()) {
      merge(m_result.changes, delete_vectors(m_store, drop));
      const char* rule = firing.count(kVectorWithoutNode) ? kVectorWithoutNode : kVectorNotIndexed;
      std::string action = fmt::format("{} whose node is in neither the docstore nor any index", count_of(drop.size(), "vector", "vectors"));
      add_step(rule, "remove", std::move(action), std::move(drop));
    }
    if (!attach.empty() && firing.count(kVectorNotIndexed)) attach_to_vector_index(attach);
    if (!still_indexed.empty() && firing.count(kVectorWithoutNode)) {
      RepairStep* step = step_for(kVectorWithoutNode);
      if (!step) step = &add_step(kVectorWithoutNode, "", "nothing", {});
      step->left_why = "an index still references their node: repair index-dangling-node too";
    }
  }

  // Which vector index each vector goes to: the only one; with several, the
  // one that holds every other node of the vector's ref doc (as a document
  // inserted into one index puts all its nodes there). Anything else is a guess.
  void attach_to_vector_index(const std::vector<std::string>& ids) {
    std::vector<IndexStruct> targets;
    if (m_store.index_collection() && m_store.dialect == Dialect::Python)
      for (IndexStruct& s : index_structs(m_store))
        if (s.type == "vector_store" || s.type == "multimodal") targets.push_back(std::move(s));
    auto leave = [&](std::string why) {
      RepairStep* step = step_for(kVectorNotIndexed);
      if (!step) step = &add_step(kVectorNotIndexed, "", "nothing", {});
      step->left_why = std::move(why);
    };
    if (m_store.dialect != Dialect::Python) return leave("a TS index keeps whole nodes in nodesDict: re-add them with lstore put");
    if (targets.empty()) return leave("the store has no vector index to attach them to: re-add them with lstore put");
    std::map<std::string, std::vector<std::string>> by_index;
    std::size_t undecided = 0;
    if (targets.size() == 1) {
      by_index[targets[0].id] = ids;
    } else {
      std::map<std::string, std::vector<std::string>> siblings;  // node -> the other nodes of its ref doc
      if (const Section* info = m_store.doc_collection(coll::kRefDocInfo); info && info->outlined)
        for (const Entry& e : info->entries) {
          Json v = m_store.docstore->decode(e.raw);
          const Json* list = v.is_object() ? v.find(ref_doc_ids_key(v)) : nullptr;
          if (!list || !list->is_array()) continue;
          std::vector<std::string> nodes;
          for (const Json& n : list->as_array())
            if (n.is_string()) nodes.push_back(n.as_string());
          for (const std::string& n : nodes) siblings[n] = nodes;
        }
      for (const std::string& id : ids) {
        std::set<std::string> homes;
        for (const std::string& n : siblings[id])
          for (const IndexStruct& t : targets)
            if (const Json* nd = t.data.find("nodes_dict"); n != id && nd && nd->find(n)) homes.insert(t.id);
        if (homes.size() == 1) by_index[*homes.begin()].push_back(id);
        else ++undecided;
      }
    }
    for (auto& [index_id, list] : by_index) {
      std::vector<std::string> attached = list;
      bool done = edit_index_data(index_id, [&](Json& data) {
        Json* nd = data.find("nodes_dict");
        if (!nd || !nd->is_object()) return false;
        for (const std::string& id : attached) nd->as_object().emplace_back(id, Json(id));  // VectorStoreIndex._add_nodes_to_index
        return true;
      });
      if (!done) continue;
      auto& added = m_result.changes.added[m_store.index_store->name() + ":" + index_id];
      added.insert(added.end(), attached.begin(), attached.end());
      std::string action = fmt::format("{} whose node the docstore holds to index {}'s nodes_dict",
                                       count_of(attached.size(), "vector", "vectors"), index_id);
      add_step(kVectorNotIndexed, "re-attach", std::move(action), std::move(attached));
    }
    if (undecided)
      leave(fmt::format("the store has {} vector indexes and these nodes' ref docs do not sit in exactly one of them, "
                        "so which one they belong to is not known; re-add them with lstore put --index ID",
                        targets.size()));
  }

  struct SalvageNote {
    std::string file;
    FileKind kind;
    std::string action;
  };

  Store& m_store;
  const RepairOptions& m_opts;
  RepairResult m_result;
  std::vector<SalvageNote> m_salvage_notes;
  std::set<std::string> m_lost_collections;  // docstore collections a salvage cut away whole
  // (vector store file, collection) a salvage left short of its vectors' entries.
  std::vector<std::pair<std::string, std::string>> m_vector_parts_to_complete;
};

}  // namespace

const std::set<std::string>& repairable_rules() {
  static const std::set<std::string> rules = {kParseError,        kNodeWithoutMetadata, kRefDocDangling, kIndexDangling,
                                              kVectorWithoutNode, kVectorNotIndexed,    kLegacyName};
  return rules;
}

RepairResult repair(Store& store, const RepairOptions& options) {
  for (const std::string& id : options.only) {
    if (!find_rule(id)) throw Error(ErrorKind::Usage, "--only", fmt::format("no rule '{}'", id), "", "lstore validate --list-rules");
    if (!repairable_rules().count(id))
      throw Error(ErrorKind::Usage, "--only", fmt::format("rule '{}' has no repair", id), "",
                  "repairable: parse-error, node-without-metadata, ref-doc-dangling-node, index-dangling-node, "
                  "vector-without-node, vector-not-indexed, legacy-vector-store-name");
  }
  return Repairer(store, options).run();
}

}  // namespace lstore
