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
#include "lstore/model.hpp"
#include "lstore/validate.hpp"

namespace lstore {
namespace {

using IdSet = std::unordered_set<std::string>;

constexpr const char* kRefDocDangling = "ref-doc-dangling-node";
constexpr const char* kIndexDangling = "index-dangling-node";
constexpr const char* kVectorWithoutNode = "vector-without-node";
constexpr const char* kVectorNotIndexed = "vector-not-indexed";
constexpr const char* kLegacyName = "legacy-vector-store-name";

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
    if (firing.count(kLegacyName)) rename_legacy_vector_store();
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
             fmt::format("{} node ids the docstore lacks from ref_doc_info ({} ref docs rewritten, {} left with no node removed)", n,
                         rewrites.size(), emptied.size()),
             std::move(dropped));
  }

  // Index structs lose the node ids the docstore lacks, as index.delete_nodes
  // would remove them (delete.cpp's per-index-type rules).
  void drop_dangling_index_nodes() {
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
    add_step(kIndexDangling, "remove", fmt::format("{} references to {} nodes the docstore lacks from index structs", refs, dangling.size()),
             std::move(dangling));
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
      add_step(rule, "remove", fmt::format("{} vectors whose node is in neither the docstore nor any index", drop.size()), std::move(drop));
    }
    if (!attach.empty() && firing.count(kVectorNotIndexed)) attach_to_vector_index(attach);
    if (!still_indexed.empty() && firing.count(kVectorWithoutNode)) {
      RepairStep* step = step_for(kVectorWithoutNode);
      if (!step) step = &add_step(kVectorWithoutNode, "", "nothing", {});
      step->left_why = "an index still references their node: repair index-dangling-node too";
    }
  }

  void attach_to_vector_index(const std::vector<std::string>& ids) {
    const Section* idx = m_store.index_collection();
    std::vector<std::string> targets;
    if (idx && m_store.dialect == Dialect::Python)
      for (const IndexStruct& s : index_structs(m_store))
        if (s.type == "vector_store" || s.type == "multimodal") targets.push_back(s.id);
    if (targets.size() != 1) {
      RepairStep& step = add_step(kVectorNotIndexed, "", "nothing", {});
      step.left_why = m_store.dialect != Dialect::Python
                          ? "a TS index keeps whole nodes in nodesDict: re-add them with lstore put"
                          : fmt::format("the store has {} vector indexes, so which one the vectors belong to is not known; "
                                        "re-add them with lstore put --index ID",
                                        targets.size());
      return;
    }
    JsonDoc& doc = *m_store.index_store;
    Section* sec = doc.section(idx->name);
    const Entry* e = sec->find(targets[0]);
    Json env = doc.decode(e->raw);
    Json* data_field = env.find("__data__");
    if (!data_field) return;
    bool as_string = data_field->is_string();
    Json data = as_string ? parse(data_field->as_string()) : *data_field;
    Json* nd = data.find("nodes_dict");
    if (!nd || !nd->is_object()) return;
    for (const std::string& id : ids) nd->as_object().emplace_back(id, Json(id));
    *data_field = as_string ? Json(dump(data, {JsonDialect::Python})) : std::move(data);  // dataclasses-json to_json()
    doc.put(*sec, targets[0], env);
    m_result.changes.changed[doc.name() + ":" + sec->name].push_back(targets[0]);
    auto& added = m_result.changes.added[doc.name() + ":" + targets[0]];
    added.insert(added.end(), ids.begin(), ids.end());
    add_step(kVectorNotIndexed, "re-attach", fmt::format("{} vectors whose node the docstore holds to index {}'s nodes_dict", ids.size(), targets[0]),
             ids);
  }

  Store& m_store;
  const RepairOptions& m_opts;
  RepairResult m_result;
};

}  // namespace

const std::set<std::string>& repairable_rules() {
  static const std::set<std::string> rules = {kRefDocDangling, kIndexDangling, kVectorWithoutNode, kVectorNotIndexed, kLegacyName};
  return rules;
}

RepairResult repair(Store& store, const RepairOptions& options) {
  for (const std::string& id : options.only) {
    if (!find_rule(id)) throw Error(ErrorKind::Usage, "--only", fmt::format("no rule '{}'", id), "", "lstore validate --list-rules");
    if (!repairable_rules().count(id))
      throw Error(ErrorKind::Usage, "--only", fmt::format("rule '{}' has no repair", id), "",
                  "repairable: ref-doc-dangling-node, index-dangling-node, vector-without-node, vector-not-indexed, "
                  "legacy-vector-store-name");
  }
  return Repairer(store, options).run();
}

}  // namespace lstore
